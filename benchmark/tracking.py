"""Weights & Biases as a side channel of the benchmark; the only module that imports wandb.

The records under results/runs stay the source of truth. W&B gets a copy of each run (config,
per-iteration metrics against env steps, the final evaluation, the policy's weights) and one
summary run per profile. A W&B problem never stops or changes a run: the first failure becomes
one `TrackingWarning` and the tracker turns itself off.

Mode: WANDB_MODE when set (online, offline, disabled); otherwise online when WANDB_API_KEY is
set, offline when not. Run files go under `<wandb_dir>/wandb/`, where wandb_dir is WANDB_DIR when
set, else `wandb/` beside the records folder (`folder_for`: results/wandb for results/runs);
`sync` uploads the offline ones later.

A run's W&B id is a function of (project, profile, task, algo, n_traj, seed), and runs start with
resume="allow": a run resumed from its checkpoint continues the same W&B run (offline, each
process writes its own run folder; `wandb sync` uploads a run's folders in order of start).

Each profile also gets saved W&B views (`save_workspaces`, after `make wandb-sync`): one per task
of the profile, built offline from plain data by `build_workspace` with wandb-workspaces.

wandb is imported where it is used: the import takes about a second, which commands that never
track should not pay.
"""

import contextlib
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_PROJECT = "gail-bench"

# Quiet and cheap: no console capture, no snapshot of code, git state, requirements or machine,
# no system metrics. The short flush interval keeps the metrics of a run killed with SIGKILL up
# to its last second; with wandb's 15 s, such a run left none (measured with wandb 0.31).
_SETTINGS = {
    "silent": True,
    "console": "off",
    "save_code": False,
    "disable_code": True,
    "disable_git": True,
    "x_disable_stats": True,
    "x_disable_meta": True,
    "x_disable_machine_info": True,
    "x_save_requirements": False,
    "x_transaction_log_flush_interval": 1.0,
}

# `wandb sync` retries an unreachable server for many minutes; a few retries (about 30 s) are
# enough to tell a missing network from a flaky one, and what fails is retried by the next sync.
_SYNC_RETRIES = "4"


class TrackingWarning(RuntimeWarning):
    """W&B failed; the run goes on without it."""


class Tracker:
    """One run's W&B side channel. Every method swallows W&B failures: the first failure is
    reported as one TrackingWarning and the tracker turns itself off; a W&B problem never stops
    or changes a run. A tracker without a run (mode disabled, or W&B failed) does nothing."""

    def __init__(self, run=None):
        self._run = run

    def log(self, metrics: dict, step: int) -> None:
        """One row of metrics at `step`: env steps (BC: gradient steps)."""
        self._call("log", lambda run: run.log(metrics, step=step))

    def summary(self, result: dict) -> None:
        """The final evaluation, under `eval/` so that it does not overwrite the last metrics
        (eval.json and metrics.csv share keys such as env_steps)."""
        eval_result = {f"eval/{key}": value for key, value in result.items()}
        self._call("summary", lambda run: run.summary.update(eval_result))

    def log_policy(self, path: Path) -> None:
        """The file `path` (policy weights) as a W&B artifact of type "model"."""

        def log_artifact(run):
            import wandb

            artifact = wandb.Artifact(f"policy-{run.id}", type="model")
            artifact.add_file(str(path))
            run.log_artifact(artifact)

        self._call("log_policy", log_artifact)

    def finish(self) -> None:
        self._call("finish", lambda run: run.finish())
        self._run = None

    def _call(self, what: str, action) -> None:
        if self._run is None:
            return
        run = self._run
        try:
            action(run)
        except Exception as error:
            self._run = None
            _warn(what, error)
            # A run left open keeps its id in use: starting it again in this process would fail
            with contextlib.suppress(Exception):
                run.finish(exit_code=1)


def run_id(config: dict) -> str:
    """The W&B id of the run that `config` (a run record's config.json) describes. The dataset's
    hash is part of it: a cell rerun on another dataset is another W&B run, where the same id
    would resume the old one and W&B would drop the new run's steps below the old one's last."""
    names = [config[key] for key in ("profile", "task", "algo")]
    readable = "-".join(names + [f"n{config['n_traj']}", f"s{config['seed']}"])
    key = [_project(), *names, config["n_traj"], config["seed"], config["dataset_sha256"]]
    return _id(readable, key)


def start_run(config: dict, wandb_dir: Path) -> Tracker:
    """Start (or resume) the W&B run of the run `config` describes."""
    profile, task, algo, n_traj, seed = (
        config[key] for key in ("profile", "task", "algo", "n_traj", "seed")
    )
    return _start(
        wandb_dir,
        id=run_id(config),
        name=f"{algo}-n{n_traj}-s{seed}",
        group=f"{profile}/{task}",
        job_type=algo,
        tags=[profile, task, algo, f"n{n_traj}"],
        config=config,
    )


def log_profile_summary(profile: str, tables: dict, figures: list[Path], wandb_dir: Path) -> None:
    """One W&B run per profile with its tables (pandas DataFrames, by name) and figures (PNG
    files, named by their stem); started again, it resumes the same W&B run."""
    tracker = _start(
        wandb_dir,
        id=_id(f"summary-{profile}", [_project(), profile]),
        name=f"summary-{profile}",
        job_type="summary",
        tags=[profile],
        config={"profile": profile},
    )

    def log_media(run):
        import wandb

        media = {name: wandb.Table(dataframe=_uniform(table)) for name, table in tables.items()}
        run.log(media | {Path(path).stem: wandb.Image(str(path)) for path in figures})

    tracker._call("log_profile_summary", log_media)
    tracker.finish()


def _uniform(table):
    """The table with one type per column, as wandb.Table requires: numbers as floats (missing
    ones NaN), anything else as text (a column of task names and a `total` row mixes types)."""
    import pandas as pd

    return table.apply(
        lambda column: (
            column.astype(float) if pd.api.types.is_numeric_dtype(column) else column.astype(str)
        )
    )


def sync(wandb_dir: Path) -> int:
    """Upload every offline run under the wandb dir not uploaded yet; returns an exit code.

    Needs credentials (`wandb login`, or WANDB_API_KEY) and the network. What is uploaded gets
    a `.wandb.synced` mark, so running it again uploads only what is left.
    """
    runs = wandb_dir / "wandb"
    pending = _unsynced(runs)
    if not pending:
        print(f"W&B: nothing to upload under {runs}")
        return 0
    # wandb's own logs of the sync go to WANDB_DIR; stdin from /dev/null: no login prompt
    env = os.environ | {"WANDB_DIR": str(wandb_dir.resolve())}
    env.setdefault("WANDB__GRAPHQL_RETRY_MAX", _SYNC_RETRIES)
    done = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", str(runs)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
    )
    # `wandb sync` exits 0 even when a run failed to upload; the marks tell what went up
    left = _unsynced(runs)
    if done.returncode == 0 and not left:
        print(f"W&B: uploaded {len(pending)} run folder(s) from {runs}")
        return 0
    cause = _last_error(done.stdout + done.stderr)
    print(
        f"W&B: {len(left)} of {len(pending)} run folder(s) under {runs} not uploaded ({cause}); "
        "log in with `wandb login` (or set WANDB_API_KEY), check the network, then sync again",
        file=sys.stderr,
    )
    return done.returncode or 1


# The saved W&B views (`build_workspace`): one per task of a profile. Every key they plot is one
# the learners log; tests/test_tracking.py runs real learners and compares. The x axis is the
# env steps, so BC (which samples no environment; its W&B step is the optimiser step) has no
# curves there, only its row in the summary tables.
X_AXIS = "env_steps"
# A section per entry: its title and the keys it plots, one line plot each.
PLOTTED_KEYS = {
    "normalized return": ("charts/normalized_return",),
    "diagnostics": (
        "losses/discriminator_expert_accuracy",
        "losses/discriminator_policy_accuracy",
        "charts/reward_on_expert",
        "charts/reward_on_policy",
        "charts/policy_log_std",
        "charts/episode_length",
        "losses/kl",
    ),
}
# What the profile's summary run logs (`log_profile_summary`): the PNG of Figure 1, named by its
# stem (benchmark.plots.build_figures), and the tables by name (benchmark.report.build_tables).
SUMMARY_IMAGES = ("figure1",)
SUMMARY_TABLES = ("comparison", "statistics", "cost")
# Runs in a view's plots: each line is one group (an algorithm at one dataset size), the mean
# over its seeds with the standard error as band. Larger than W&B's default of 10, which would
# show only the first 10 lines.
_MAX_LINES = 200
# Seconds to wait for the W&B server before the views are given up (no network: one line).
_API_TIMEOUT_S = 10


def build_workspace(profile: str, task: str, entity: str, project: str | None = None):
    """The saved W&B view of `task` in `profile` (a wandb_workspaces Workspace; nothing here
    touches the network): the profile's runs on the task, grouped by algorithm and dataset size,
    a section per PLOTTED_KEYS entry with its keys against env steps, and a section with the
    summary run's Figure 1 and tables.

    One view per task, not one per profile with a section per task: a view has one set of runs,
    shared by all its sections, and wandb-workspaces 0.4.13 has no per-section or per-panel run
    filter (a line plot groups by one key only), so the sections of a profile-wide view would
    each average every task's runs of an algorithm and size together.
    """
    ws, wr, expr = _workspaces()
    sections = [
        ws.Section(
            name=f"{task}: {title}",
            panels=[
                wr.LinePlot(
                    title=key,
                    x=X_AXIS,
                    y=[key],
                    groupby_aggfunc="mean",
                    groupby_rangefunc="stderr",
                )
                for key in keys
            ],
            is_open=True,
        )
        for title, keys in PLOTTED_KEYS.items()
    ]
    summary = [wr.MediaBrowser(title=name, media_keys=[name]) for name in SUMMARY_IMAGES]
    summary += [wr.WeavePanelSummaryTable(table_name=name) for name in SUMMARY_TABLES]
    sections.append(
        ws.Section(
            name=f"summary-{profile}",
            panels=summary,
            is_open=True,
            layout_settings=ws.SectionLayoutSettings(columns=1, rows=1),
        )
    )
    # The task's runs of the profile, and the profile's summary run (its config has no task)
    runs = expr.And(
        expr.Config("profile") == profile,
        expr.Or(expr.Config("task") == task, expr.Metric("JobType") == "summary"),
    )
    return ws.Workspace(
        entity=entity,
        project=project or _project(),
        name=f"{profile}/{task}",
        sections=sections,
        settings=ws.WorkspaceSettings(x_axis=X_AXIS, max_runs=_MAX_LINES),
        runset_settings=ws.RunsetSettings(
            filters=runs,
            groupby=[expr.Config("algo"), expr.Config("n_traj")],
            pinned_columns=["summary:eval/normalized_return", "summary:eval/mean_return"],
        ),
    )


def profile_tasks(wandb_dir: Path) -> dict[str, list[str]]:
    """The tasks of each profile with runs under the wandb dir, read from the runs' offline
    files (a summary run has a profile and no task)."""
    found: dict[str, set[str]] = {}
    for path in sorted((wandb_dir / "wandb").glob("offline-run-*/*.wandb")):
        config = _run_config(path)
        if "profile" in config:
            tasks = found.setdefault(str(config["profile"]), set())
            if "task" in config:
                tasks.add(str(config["task"]))
    return {profile: sorted(tasks) for profile, tasks in sorted(found.items())}


def save_workspaces(wandb_dir: Path, uploaded: bool = True) -> bool:
    """Save the W&B view of every task of every profile with runs under the wandb dir, each
    replacing the view of the same profile and task saved before; False when none was saved.

    Prints a line per view saved, or one line that says why the views were not saved: the runs
    were not `uploaded`, no API key, the server cannot be reached. Never raises.
    """
    plan = {profile: tasks for profile, tasks in profile_tasks(wandb_dir).items() if tasks}
    if not plan:
        return False
    if not uploaded:
        _not_saved(plan, "their runs were not uploaded")
        return False
    try:
        import wandb

        # Verifies the API key with the server: no key or no server fails here, in seconds
        api = wandb.Api(timeout=_API_TIMEOUT_S)
        entity = os.environ.get("WANDB_ENTITY") or api.default_entity
        for profile, tasks in plan.items():
            for task in tasks:
                url = _save_view(build_workspace(profile, task, entity))
                print(f"W&B: saved workspace {profile}/{task}: {url}")
    except Exception as error:
        _not_saved(plan, f"{type(error).__name__}: {error}".strip().splitlines()[0])
        return False
    return True


def _not_saved(plan: dict, cause: str) -> None:
    print(
        f"W&B: workspace(s) of profile {', '.join(plan)} not saved ({cause}); log in with "
        "`wandb login` (or set WANDB_API_KEY), check the network, then `make wandb-sync` again",
        file=sys.stderr,
    )


def _save_view(workspace) -> str:
    """Save `workspace` under a name that only its entity, project and title determine, so that
    saving it again replaces the view (Workspace.save would add a new view each time); returns
    its URL. Uses the private `_internal_name` and `_internal_id` of wandb-workspaces 0.4.13."""
    internal = _workspaces()[0].internal
    digest = hashlib.sha256(
        "\0".join([workspace.entity, workspace.project, workspace.name]).encode()
    ).hexdigest()[:11]
    name = internal._url_query_str_to_internal_name(digest)
    try:
        view = internal.View.from_name(workspace.entity, workspace.project, name)
    except ValueError:  # not saved before
        pass
    else:
        workspace._internal_id = view.id
    workspace._internal_name = name
    workspace.save()
    return workspace.url


def _workspaces():
    """wandb_workspaces' workspaces, report panels and filter expressions. Imported here: with
    wandb, about two seconds; 0.4.13 still declares pydantic 1 validators, a deprecation warning
    that is the library's, not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import wandb_workspaces.reports.v2 as wr
        import wandb_workspaces.workspaces as ws
        import wandb_workspaces.workspaces.internal  # noqa: F401 (ws.internal)
        from wandb_workspaces import expr
    return ws, wr, expr


def _run_config(path: Path) -> dict:
    """The config of the run whose transaction log is at `path` (its first `run` record; an
    unreadable file has none)."""
    try:
        for record in read_transaction_log(path):
            if record.WhichOneof("record_type") == "run":
                return {item.key: json.loads(item.value_json) for item in record.run.config.update}
    except (OSError, ValueError):
        pass
    return {}


def read_transaction_log(path: Path) -> list:
    """The complete records in a `.wandb` file (wandb 0.31 has no Python reader of its own), as
    wandb `Record` protobufs; ValueError if it is not one.

    The file is a LevelDB-style log: a 7-byte header (":W&B", 0xBEE1, version 0), then 32 KiB
    blocks of chunks, each with a 7-byte header (crc32 of type and data, length, type: 1 full,
    2 first, 3 middle, 4 last); a block's tail too short for a header is padding. The chunks
    join into serialised `Record` protobufs. A chunk still being written ends the list.
    """
    from wandb.proto.wandb_internal_pb2 import Record

    data = path.read_bytes()
    if data[:7] != struct.pack("<4sHB", b":W&B", 0xBEE1, 0):
        raise ValueError(f"{path} is not a W&B transaction log")
    block, position, payload, found = 32768, 7, b"", []
    while position + 7 <= len(data):
        if block - position % block < 7:
            position += block - position % block
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, position)
        chunk = data[position + 7 : position + 7 + length]
        if len(chunk) < length:  # still being written
            break
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError(f"{path}: a chunk at byte {position} fails its checksum")
        position += 7 + length
        payload = chunk if kind in (1, 2) else payload + chunk
        if kind in (1, 4):
            found.append(Record.FromString(payload))
    return found


def _mode() -> str:
    return os.environ.get("WANDB_MODE") or (
        "online" if os.environ.get("WANDB_API_KEY") else "offline"
    )


def offline_unless_reachable(timeout_s: float = 5.0) -> str | None:
    """Before a sweep: if runs would go online but the W&B server cannot be reached, switch this
    process (and the workers it starts, which inherit its environment) to offline, and say so.

    Without this, every run of a sweep waits about 100 s for wandb.init to give up before it
    falls back. Returns the line to show, or None when nothing changed."""
    if _mode() != "online":
        return None
    url = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai")
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s).close()
    except OSError as error:
        os.environ["WANDB_MODE"] = "offline"
        return (
            f"W&B: {url.hostname} cannot be reached ({type(error).__name__}); this sweep logs "
            "offline, `make wandb-sync` uploads it later"
        )
    return None


def _start(directory: Path, **init_args) -> Tracker:
    mode = _mode()
    if mode == "disabled":
        return Tracker()
    try:
        # Given an unwritable dir, wandb would silently write to the system's temp dir instead
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            raise PermissionError(f"{directory} is not writable")
        import wandb

        run = wandb.init(
            project=_project(),
            entity=os.environ.get("WANDB_ENTITY"),
            dir=directory,
            mode=mode,
            resume="allow",
            # Every tracker owns its run: an unfinished run of an earlier run in the same worker
            # process neither gets reused nor finished by this one
            reinit="create_new",
            settings=wandb.Settings(**_SETTINGS),
            **init_args,
        )
    except Exception as error:
        _warn("start", error)
        return Tracker()
    return Tracker(run)


def folder_for(runs_dir: Path) -> Path:
    """The W&B folder of the records in `runs_dir`, for the runs that write it and the sync that
    uploads it: WANDB_DIR when set, else `wandb/` beside the records folder."""
    return Path(os.environ.get("WANDB_DIR") or Path(runs_dir).parent / "wandb")


def _project() -> str:
    return os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT


def _id(readable: str, names: list) -> str:
    """A readable W&B run id that only `names` determine; W&B ids may not hold any of :;,#?/'"""
    digest = hashlib.sha256("\0".join(map(str, names)).encode()).hexdigest()[:10]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", readable) + "-" + digest


def _warn(what: str, error: Exception) -> None:
    cause = f"{type(error).__name__}: {error}".strip().splitlines()[0]
    # stacklevel 4: the line of the caller of start_run, log, summary, ...
    warnings.warn(
        f"W&B {what} failed ({cause}); the run goes on without W&B "
        "(set WANDB_MODE=disabled to skip W&B)",
        TrackingWarning,
        stacklevel=4,
    )


def _unsynced(runs: Path) -> list[Path]:
    files = runs.glob("offline-run-*/*.wandb")
    return [file for file in files if not file.with_suffix(".wandb.synced").exists()]


def _last_error(output: str) -> str:
    errors = [line for line in output.splitlines() if "ERROR" in line or line.startswith("Error")]
    if not errors:
        return "wandb sync gave no error"
    return re.sub(r"^(wandb: ERROR|Error:)\s*", "", errors[-1].strip())
