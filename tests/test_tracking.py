"""The W&B side channel, with real wandb in offline mode: the tests read the offline run files
back and check what a W&B server would receive."""

import base64
import csv
import hashlib
import json
import socket
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from wandb.proto.wandb_internal_pb2 import Record

from benchmark import tracking
from benchmark.__main__ import main
from benchmark.profiles import Profile
from benchmark.run import run
from benchmark.tasks import get_task

CONFIG = {
    "task": "hopper",
    "env_id": "Hopper-v5",
    "algo": "gail",
    "n_traj": 4,
    "seed": 1,
    "profile": "quick",
    "expert_pairs": 4000,
    "dataset_sha256": "ab" * 32,
    "expert_score": 3500.5,
    "random_score": 18.2,
    "code_version": "e801163",
    "versions": {"torch": "2.13.0"},
    "loop": {"iterations": 3, "trpo": {"max_kl": 0.01, "hidden": [64, 64]}},
    "gail": {"entropy": 0.0},
}
ROWS = [
    {"iteration": i, "env_steps": 5000 * i, "charts/true_return": 100.0 * i, "losses/kl": 0.01}
    for i in (1, 2, 3)
]


@pytest.fixture(autouse=True)
def _wandb_env(monkeypatch, tmp_path):
    """No credentials, no mode or dir from the developer's shell, and wandb's own files
    (artifact staging, caches, settings) under tmp_path instead of the home directory."""
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_DIR", "WANDB_PROJECT", "WANDB_ENTITY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "HOME"):
        monkeypatch.setenv(name, str(tmp_path / "home" / name.lower()))
    monkeypatch.setenv("NETRC", str(tmp_path / "home" / "netrc"))


def records(folder: Path) -> list[Record]:
    """The records of an offline run folder's `.wandb` file, once wandb has written the run's
    exit record: it writes the file in the background, also after `finish()` returns."""
    deadline = time.monotonic() + 10
    while True:
        found = tracking.read_transaction_log(next(folder.glob("*.wandb")))
        if (found and found[-1].HasField("exit")) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def run_folders(wandb_dir: Path) -> list[Path]:
    """The offline run folders under wandb_dir, oldest first."""
    return sorted((wandb_dir / "wandb").glob("offline-run-*"))


def of_type(found: list[Record], kind: str) -> list:
    return [getattr(r, kind) for r in found if r.WhichOneof("record_type") == kind]


def values(items) -> dict:
    """Keys and values of history items, summary or config updates (keys starting with `_` are
    wandb's own)."""
    pairs = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}
    return {key: value for key, value in pairs.items() if not key.startswith("_")}


def history(found: list[Record]) -> list[tuple[int, dict]]:
    return [(h.step.num, values(h.item)) for h in of_type(found, "history")]


def summary(found: list[Record]) -> dict:
    return {k: v for s in of_type(found, "summary") for k, v in values(s.update).items()}


def test_a_run_is_recorded_offline(tmp_path):
    policy = tmp_path / "policy.pt"
    policy.write_bytes(b"weights")
    result = {"mean_return": 2500.0, "returns": [2400.0, 2600.0], "normalized_return": 0.71}

    tracker = tracking.start_run(CONFIG, tmp_path / "wandb")
    for row in ROWS:
        tracker.log(row, step=row["env_steps"])
    tracker.summary(result)
    tracker.log_policy(policy)
    tracker.finish()

    [folder] = run_folders(tmp_path / "wandb")
    found = records(folder)
    [run] = of_type(found, "run")
    assert run.run_id == tracking.run_id(CONFIG) == folder.name.split("-", 3)[-1]
    assert (run.project, run.entity) == ("gail-bench", "")
    assert (run.display_name, run.run_group, run.job_type) == ("gail-n4-s1", "quick/hopper", "gail")
    assert list(run.tags) == ["quick", "hopper", "gail", "n4"]
    assert values(run.config.update) == CONFIG
    assert history(found) == [(row["env_steps"], row) for row in ROWS]
    # the final evaluation next to the last metrics, which it must not overwrite
    expected = {f"eval/{key}": value for key, value in result.items()} | ROWS[-1]
    assert {key: summary(found)[key] for key in expected} == expected
    [artifact] = of_type(found, "artifact")
    assert (artifact.type, artifact.name) == ("model", f"policy-{run.run_id}")
    [content] = artifact.manifest.contents
    md5 = base64.b64encode(hashlib.md5(b"weights").digest()).decode()
    assert (content.path, content.digest, content.size) == ("policy.pt", md5, 7)
    [exit_record] = of_type(found, "exit")
    assert exit_record.exit_code == 0


def test_run_ids_are_deterministic_valid_and_distinct(monkeypatch):
    same = tracking.run_id(dict(CONFIG))
    assert same == tracking.run_id(CONFIG | {"code_version": "other", "expert_score": 1.0})
    assert same.startswith("quick-hopper-gail-n4-s1-") and len(same) < 64
    others = [CONFIG | {key: value} for key, value in [("profile", "paper"), ("seed", 2)]]
    others += [CONFIG | {"task": "walker"}, CONFIG | {"profile": "my/profile:v1"}]
    others += [CONFIG | {"dataset_sha256": "cd" * 32}]
    ids = {tracking.run_id(config) for config in others}
    assert len(ids) == len(others) and same not in ids
    assert not any(char in run_id for run_id in ids for char in ":;,#?/'")
    monkeypatch.setenv("WANDB_PROJECT", "another")
    assert tracking.run_id(CONFIG) != same


def test_a_resumed_run_continues_the_same_wandb_run(tmp_path):
    """A run killed after iteration 2 resumes from its checkpoint at iteration 3: each process
    writes its own offline folder, with the same run id (`wandb sync` joins them)."""
    for rows in (ROWS[:2], ROWS[2:]):
        tracker = tracking.start_run(CONFIG, tmp_path / "wandb")
        for row in rows:
            tracker.log(row, step=row["env_steps"])
        tracker.finish()
    first, second = (records(f) for f in run_folders(tmp_path / "wandb"))
    assert of_type(first, "run")[0].run_id == of_type(second, "run")[0].run_id
    assert history(first) + history(second) == [(row["env_steps"], row) for row in ROWS]


def test_disabled_mode_is_a_no_op(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker = tracking.start_run(CONFIG, tmp_path / "wandb")
        tracker.log(ROWS[0], step=5000)
        tracker.summary({"mean_return": 1.0})
        tracker.log_policy(tmp_path / "missing.pt")
        tracker.finish()
        tracking.log_profile_summary("quick", {"t": pd.DataFrame({"a": [1]})}, [], tmp_path)
    assert not list(tmp_path.iterdir())


def test_an_explicit_mode_wins_over_an_api_key(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.setenv("WANDB_MODE", "offline")
    tracking.start_run(CONFIG, tmp_path / "wandb").finish()
    assert len(run_folders(tmp_path / "wandb")) == 1


def _start_online(wandb_dir: Path) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracker = tracking.start_run(CONFIG, wandb_dir)
        tracker.log(ROWS[0], step=5000)
        tracker.finish()
    return [str(warning.message) for warning in caught]


def test_with_an_api_key_and_no_server_the_run_goes_on_with_one_warning(tmp_path, monkeypatch):
    """An API key means online; this machine reaches no W&B server (and the key is fake).

    In a process of its own, as wandb reads WANDB_INIT_TIMEOUT once per process, and with a wandb
    service of its own: a child process uses its parent's (found through WANDB_SERVICE), in which
    a run whose start failed stays in use.
    """
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "3")
    monkeypatch.delenv("WANDB_SERVICE", raising=False)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        [message] = pool.submit(_start_online, tmp_path / "wandb").result()
    assert message.startswith("W&B start failed") and "\n" not in message


def test_an_unwritable_dir_gives_one_warning_and_the_run_goes_on(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.warns(tracking.TrackingWarning) as caught:
        tracker = tracking.start_run(CONFIG, tmp_path / "file" / "wandb")
        for row in ROWS:
            tracker.log(row, step=row["env_steps"])
        tracker.summary({"mean_return": 1.0})
        tracker.log_policy(tmp_path / "file")
        tracker.finish()
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "file" in message and "goes on without W&B" in message and "\n" not in message


def test_a_failure_mid_run_gives_one_warning_and_turns_the_tracker_off(tmp_path):
    tracker = tracking.start_run(CONFIG, tmp_path / "wandb")
    tracker.log(ROWS[0], step=5000)
    with pytest.warns(tracking.TrackingWarning) as caught:
        tracker.log_policy(tmp_path / "missing.pt")
        tracker.log(ROWS[1], step=10000)
        tracker.finish()
    assert len(caught) == 1 and "log_policy" in str(caught[0].message)
    [folder] = run_folders(tmp_path / "wandb")
    found = records(folder)
    assert history(found) == [(5000, ROWS[0])]
    assert of_type(found, "exit")[0].exit_code == 1


def test_profile_summary_logs_tables_and_figures(tmp_path):
    figure = tmp_path / "curves.png"
    Image.new("RGB", (8, 6), "white").save(figure)
    table = pd.DataFrame({"task": ["hopper", "walker"], "normalized": [0.9, float("nan")]})

    tracking.log_profile_summary("quick", {"comparison": table}, [figure], tmp_path / "wandb")

    [folder] = run_folders(tmp_path / "wandb")
    found = records(folder)
    [run] = of_type(found, "run")
    assert run.run_id.startswith("summary-quick-") and "/" not in run.run_id
    assert (run.display_name, run.job_type) == ("summary-quick", "summary")
    [(_, logged)] = history(found)
    assert (logged["comparison/_type"], logged["comparison/nrows"]) == ("table-file", 2)
    assert (logged["curves/_type"], logged["curves/width"]) == ("image-file", 8)
    saved = json.loads((folder / "files" / logged["comparison/path"]).read_text())
    assert saved["columns"] == ["task", "normalized"]
    assert [row[0] for row in saved["data"]] == ["hopper", "walker"]
    assert (folder / "files" / logged["curves/path"]).read_bytes() == figure.read_bytes()


def _run_in_worker(wandb_dir: Path, seed: int) -> str:
    tracker = tracking.start_run(CONFIG | {"seed": seed}, wandb_dir)
    tracker.log(ROWS[0], step=5000)
    tracker.finish()
    return tracking.run_id(CONFIG | {"seed": seed})


def test_runs_start_and_finish_in_worker_processes(tmp_path):
    """As in a sweep: spawned workers, each running several runs; the parent tracks too."""
    parent = tracking.start_run(CONFIG, tmp_path / "wandb")
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        ids = list(pool.map(_run_in_worker, [tmp_path / "wandb"] * 2, [2, 3]))
    parent.log(ROWS[0], step=5000)
    parent.finish()
    logged = {}
    for folder in run_folders(tmp_path / "wandb"):
        found = records(folder)
        logged[of_type(found, "run")[0].run_id] = history(found)
    assert len(set(ids)) == 2
    assert logged == {run_id: [(5000, ROWS[0])] for run_id in [tracking.run_id(CONFIG), *ids]}


def test_runs_and_their_sync_share_one_wandb_folder(tmp_path, monkeypatch):
    runs = tmp_path / "results" / "runs"
    assert tracking.folder_for(runs) == tmp_path / "results" / "wandb"
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "elsewhere"))
    assert tracking.folder_for(runs) == tmp_path / "elsewhere"


def test_sync_with_nothing_to_upload(tmp_path, capsys):
    assert tracking.sync(tmp_path / "wandb") == 0
    assert "nothing to upload" in capsys.readouterr().out


def test_sync_without_credentials_fails_with_one_line_naming_the_fix(tmp_path, capsys):
    tracking.start_run(CONFIG, tmp_path / "wandb").finish()
    assert tracking.sync(tmp_path / "wandb") != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "1 of 1" in lines[0] and "wandb login" in lines[0]
    assert not list((tmp_path / "wandb").rglob("*.wandb.synced"))


def test_a_sweep_goes_offline_once_when_the_server_cannot_be_reached(monkeypatch):
    from benchmark.tracking import offline_unless_reachable

    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    note = offline_unless_reachable(timeout_s=2)
    assert "cannot be reached" in note and tracking._mode() == "offline"
    assert offline_unless_reachable() is None  # already offline: nothing to say


# The saved W&B views (tracking.build_workspace, save_workspaces)

TINY = Profile(
    name="tiny",
    description="test budgets",
    budgets={
        kind: {"iterations": 1, "pairs_per_iteration": 500, "bc_steps": 3, "bc_validate_every": 2}
        for kind in ("classic", "mujoco")
    },
)


def _spec(workspace) -> dict:
    """What saving `workspace` would upload: its view spec."""
    view = workspace._to_model()
    return json.loads(view.spec.model_dump_json(by_alias=True, exclude_none=True))


def test_the_view_of_a_task_is_built_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("building a view must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    workspace = tracking.build_workspace("quick", "hopper", "me")
    spec = _spec(workspace)

    assert (workspace.entity, workspace.project, workspace.name) == (
        "me",
        "gail-bench",
        "quick/hopper",
    )
    sections = spec["section"]["panelBankConfig"]["sections"]
    assert [section["name"] for section in sections] == [
        "hopper: normalized return",
        "hopper: diagnostics",
        "summary-quick",
    ]
    curves = [panel for section in sections[:2] for panel in section["panels"]]
    assert {panel["viewType"] for panel in curves} == {"Run History Line Plot"}
    plotted = [key for keys in tracking.PLOTTED_KEYS.values() for key in keys]
    assert [panel["config"]["metrics"] for panel in curves] == [[key] for key in plotted]
    assert plotted[0] == "charts/normalized_return"
    for panel in curves:
        config = panel["config"]
        assert (config["xAxis"], config["groupAgg"], config["groupArea"]) == (
            "env_steps",
            "mean",
            "stderr",
        )
    settings = spec["section"]["settings"]
    assert settings["xAxis"] == "env_steps" and settings["useRunsTableGroupingInPanels"]
    assert settings["shouldAutoGeneratePanels"] is False and settings["maxRuns"] >= 100
    [runset] = spec["section"]["runSets"]
    assert runset["grouping"] == [
        {"section": "config", "name": "algo.value"},
        {"section": "config", "name": "n_traj.value"},
    ]
    # the task's runs of the profile, or the profile's summary run
    profile, nested = runset["filters"]["filters"]
    task, summary_run = nested["filters"]
    assert (profile["key"], profile["op"], profile["value"]) == (
        {"section": "config", "name": "profile"},
        "=",
        "quick",
    )
    assert (task["key"]["name"], task["value"]) == ("task", "hopper")
    assert (summary_run["key"], summary_run["value"]) == (
        {"section": "run", "name": "jobType"},
        "summary",
    )
    assert summary_run["connector"] == "OR" and "connector" not in profile
    media, *tables = workspace.sections[2].panels
    assert type(media).__name__ == "MediaBrowser" and media.media_keys == ["figure1"]
    assert {type(table).__name__ for table in tables} == {"WeavePanelSummaryTable"}
    assert [table.table_name for table in tables] == ["comparison", "statistics", "cost"]
    assert [panel["viewType"] for panel in sections[2]["panels"]] == ["Media Browser"] + [
        "Weave"
    ] * 3
    assert '"comparison"' in json.dumps(sections[2]["panels"][1])


def _wandb_history_keys(folder: Path) -> set[str]:
    found = records(folder)
    return {key for _, row in history(found) for key in row}


def test_every_key_a_view_plots_is_one_the_runs_log(tmp_path):
    """Real runs at tiny budgets: GAIL on CartPole (a categorical policy) and on Hopper (a
    Gaussian one, with its log-std); what W&B received and what metrics.csv holds."""
    for task in ("cartpole", "hopper"):
        run(get_task(task), "gail", 1, 0, TINY, tmp_path / "runs", show_progress=False)
    logged, header = set(), set()
    for folder in run_folders(tmp_path / "wandb"):
        logged |= _wandb_history_keys(folder)
    for path in (tmp_path / "runs").rglob("metrics.csv"):
        header |= set(next(csv.reader(path.open())))
    plotted = {tracking.X_AXIS} | {k for keys in tracking.PLOTTED_KEYS.values() for k in keys}
    assert plotted <= logged and plotted <= header, (plotted - logged, plotted - header)


def test_the_summary_section_shows_what_the_summary_run_logs(tmp_path):
    from benchmark import store
    from benchmark.plots import build_figures
    from benchmark.report import build_tables

    runs = store.REFERENCE_DIR / "runs"
    tables = build_tables("quick", runs, tmp_path / "tables", reps=10)
    figures = build_figures("quick", runs, tmp_path / "figures")
    assert set(tracking.SUMMARY_TABLES) == set(tables)
    assert set(tracking.SUMMARY_IMAGES) <= {f.stem for f in figures if f.suffix == ".png"}


def test_the_profiles_and_tasks_of_the_runs(tmp_path):
    for task in ("hopper", "walker"):
        tracking.start_run(CONFIG | {"task": task}, tmp_path / "wandb").finish()
    tracking.start_run(CONFIG | {"profile": "paper"}, tmp_path / "wandb").finish()
    tracking.log_profile_summary("standard", {}, [], tmp_path / "wandb")
    for folder in run_folders(tmp_path / "wandb"):
        records(folder)  # wandb writes the files in the background
    assert tracking.profile_tasks(tmp_path / "wandb") == {
        "paper": ["hopper"],
        "quick": ["hopper", "walker"],
        "standard": [],
    }


def _one_offline_run(wandb_dir: Path) -> None:
    tracking.start_run(CONFIG, wandb_dir).finish()
    records(run_folders(wandb_dir)[0])


def _saved_in_one_line(capfd, wandb_dir: Path, **kwargs) -> str:
    assert tracking.save_workspaces(wandb_dir, **kwargs) is False
    out, err = capfd.readouterr()
    assert not out.strip()
    [line] = err.strip().splitlines()
    assert "workspace(s) of profile quick not saved" in line and "wandb login" in line
    return line


def test_saving_without_an_api_key_says_so_in_one_line(tmp_path, capfd):
    _one_offline_run(tmp_path / "wandb")
    assert "API key" in _saved_in_one_line(capfd, tmp_path / "wandb")


def test_saving_without_a_server_says_so_in_one_line(tmp_path, capfd, monkeypatch):
    _one_offline_run(tmp_path / "wandb")
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setattr(tracking, "_API_TIMEOUT_S", 3)
    _saved_in_one_line(capfd, tmp_path / "wandb")


def test_a_failed_sync_saves_no_view_and_keeps_its_exit_code(tmp_path, capfd):
    _one_offline_run(tmp_path / "wandb")
    assert main(["wandb-sync", "--runs", str(tmp_path / "runs")]) == 2
    lines = capfd.readouterr().err.strip().splitlines()
    [view_line] = [line for line in lines if "workspace" in line]
    assert "not saved (their runs were not uploaded)" in view_line
    assert lines[-1].startswith("error: wandb sync failed")


def test_saving_again_replaces_the_view(tmp_path, monkeypatch, capsys):
    """The upload itself replaced by a recorder: the view's name is the same each time, and a
    view found under it is updated (its id sent) rather than a new one added."""
    _one_offline_run(tmp_path / "wandb")
    ws = tracking._workspaces()[0]
    sent, existing = [], {}

    def upsert(view):
        sent.append(view)
        existing[view.name] = "view-id"
        return {"upsertView": {"view": {"name": view.name, "id": "view-id"}}}

    def from_name(entity, project, name):
        if name not in existing:
            raise ValueError(f"Workspace `{name}` not found in project `{project}`")
        return type("View", (), {"id": existing[name]})

    class Api:
        default_entity = "me"

        def __init__(self, timeout=None):
            pass

    monkeypatch.setattr("wandb.Api", Api)
    monkeypatch.setattr(ws.internal, "upsert_view2", upsert)
    monkeypatch.setattr(ws.internal.View, "from_name", from_name)
    monkeypatch.setattr(ws.Workspace, "url", property(lambda self: f"url/{self._internal_name}"))
    for _ in range(2):
        assert tracking.save_workspaces(tmp_path / "wandb", uploaded=True)
    first, second = sent
    assert first.name == second.name and first.name.startswith("nw-")
    assert (first.id, second.id) == ("", "view-id")
    assert (second.entity, second.project, second.display_name) == (
        "me",
        "gail-bench",
        "quick/hopper",
    )
    assert (
        capsys.readouterr().out.count(f"W&B: saved workspace quick/hopper: url/{first.name}") == 2
    )
