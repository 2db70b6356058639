"""Weights & Biases as a side channel of the benchmark; the only module that imports wandb.

The records under results/runs stay the source of truth. W&B gets a copy of each run (config,
per-iteration metrics against env steps, the final evaluation, the policy's weights) and one
summary run per profile. A W&B problem never stops or changes a run: the first failure becomes
one `TrackingWarning` and the tracker turns itself off.

Mode: WANDB_MODE when set (online, offline, disabled); otherwise online when WANDB_API_KEY is
set, offline when not. Run files go under `<wandb_dir>/wandb/`, where wandb_dir is the argument,
else WANDB_DIR, else results/wandb; `sync` uploads the offline ones later.

A run's W&B id is a function of (project, profile, task, algo, n_traj, seed), and runs start with
resume="allow": a run resumed from its checkpoint continues the same W&B run (offline, each
process writes its own run folder; `wandb sync` uploads a run's folders in order of start).

wandb is imported where it is used: the import takes about a second, which commands that never
track should not pay.
"""

import contextlib
import hashlib
import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "results" / "wandb"
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
    """The W&B id of the run that `config` (a run record's config.json) describes."""
    names = [config[key] for key in ("profile", "task", "algo")]
    readable = "-".join(names + [f"n{config['n_traj']}", f"s{config['seed']}"])
    return _id(readable, [_project(), *names, config["n_traj"], config["seed"]])


def start_run(config: dict, wandb_dir: Path | None = None) -> Tracker:
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


def log_profile_summary(
    profile: str, tables: dict, figures: list[Path], wandb_dir: Path | None = None
) -> None:
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


def sync(wandb_dir: Path | None = None) -> int:
    """Upload every offline run under the wandb dir not uploaded yet; returns an exit code.

    Needs credentials (`wandb login`, or WANDB_API_KEY) and the network. What is uploaded gets
    a `.wandb.synced` mark, so running it again uploads only what is left.
    """
    directory = _directory(wandb_dir)
    runs = directory / "wandb"
    pending = _unsynced(runs)
    if not pending:
        print(f"W&B: nothing to upload under {runs}")
        return 0
    # wandb's own logs of the sync go to WANDB_DIR; stdin from /dev/null: no login prompt
    env = os.environ | {"WANDB_DIR": str(directory.resolve())}
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


def _start(wandb_dir: Path | None, **init_args) -> Tracker:
    mode = _mode()
    if mode == "disabled":
        return Tracker()
    directory = _directory(wandb_dir)
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


def _directory(wandb_dir: Path | None) -> Path:
    return Path(wandb_dir or os.environ.get("WANDB_DIR") or DEFAULT_DIR)


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
