"""Every file the suite writes and reads back: the run record, checkpoints, atomic writes, and
loading without unpickling arbitrary objects. Nothing else writes, globs or parses record files.

A run record is a folder `<runs>/<profile>/<task>/<algo>/n<N>/s<S>/`:
  config.json    every setting of the run, its seed, code versions and dataset sha256
  metrics.csv    one row per iteration (BC: per validation)
  eval.json      the final evaluation; written last, so it marks the run as done
  policy.pt      the final policy's weights
  progress.json  iterations done of the total, with the last metrics (sweeps and `make status`)
  error.txt      the traceback of a failed attempt (removed when the run is started again)
  checkpoints/   the learner's state every few iterations (ignored by git)

States: done (eval.json), failed (error.txt), started (the folder exists), pending (it does not).
"""

import csv
import hashlib
import io
import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import torch

from algorithms.errors import UserInputError

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "results"
RUNS_DIR = RESULTS_DIR / "runs"
"""The user's own records (ignored by git)."""
REFERENCE_DIR = RESULTS_DIR / "reference"
"""The suite's published records, tables and figures (committed): what a user's compare with."""
STATES = ("done", "started", "failed", "pending")
# Provenance: it may differ between machines without changing what a run computes.
PROVENANCE_KEYS = ("code_version", "code_versions", "versions", "copied_from")


def shown(path: Path) -> str:
    """A path as a user should read it: relative to the repository when it lies inside."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


# ---------------------------------------------------------------- atomic writes


def write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: Path, obj) -> None:
    write_bytes(path, json.dumps(obj, indent=1).encode())


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows may have different keys (a metric that starts later): the header is their union."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, text.getvalue())


def file_sha256(path: Path) -> str:
    """A file's digest, by which cards and records name the files they came from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_torch(obj, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())


def load_torch(path: Path):
    """A file written by `save_torch`, refusing anything but tensors and plain data: a shared
    expert, checkpoint or record must not be able to run code here."""
    try:
        return torch.load(path, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise UserInputError(
            f"{shown(path)} is not a file this suite wrote (refused to load it: {reason}); "
            "delete it and rebuild it with the suite's own command"
        ) from None


# ---------------------------------------------------------------- the run record


RECORD_FILES = ("config.json", "eval.json", "metrics.csv", "policy.pt")
"""A done run's record; `checkpoints/` and `progress.json` beside them are working files."""


def record_dir(runs_dir: Path, profile: str, task: str, algo: str, n_traj: int, seed: int) -> Path:
    return Path(runs_dir) / profile / task / algo / f"n{n_traj}" / f"s{seed}"


def checkpoint_path(folder: Path) -> Path:
    return folder / "checkpoints" / "state.pt"


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise UserInputError(
            f"{shown(path)} is unreadable ({type(err).__name__}); delete its run folder and run "
            "it again"
        ) from None


def state(folder: Path) -> tuple[str, float]:
    """(done | failed | started | pending, fraction of the run done) of a record folder."""
    if (folder / "eval.json").exists():
        return "done", 1.0
    fraction = 0.0
    if (folder / "progress.json").exists():
        try:
            progress = json.loads((folder / "progress.json").read_text())
            fraction = progress["done"] / progress["total"]
        except (OSError, ValueError, KeyError, ZeroDivisionError):
            pass  # a progress file is only ever replaced whole; an unreadable one counts as 0
    if (folder / "error.txt").exists():
        return "failed", fraction
    return ("started" if folder.exists() else "pending"), fraction


def config_changes(folder: Path, config: dict, defaults: dict | None = None) -> list[str]:
    """Where the folder's recorded config differs from `config` (provenance aside), as dotted
    keys (`settings.steps`). A key the record lacks is no change where `config` holds the value
    `defaults` (shaped as `config`) gives it: a setting added to the code after the run, at the
    default that reproduces the code before it, leaves the run as it was."""
    if not (folder / "config.json").exists():
        return []
    before = read_json(folder / "config.json")
    # JSON turns tuples into lists: compare what a round trip gives.
    now, defaults = json.loads(
        json.dumps([{k: v for k, v in config.items() if k not in PROVENANCE_KEYS}, defaults or {}])
    )
    return _differences(before, now, defaults)


# A loop learner's state does not depend on its total number of iterations (no schedule reads
# it), so a run trained on from its final checkpoint ends as a run given the larger budget from
# the start would have.
GROWABLE = ("settings.loop.iterations", "settings.iterations")


def compare_config(
    folder: Path, config: dict, defaults: dict | None = None
) -> tuple[str, list[str]]:
    """How the folder's run stands to `config`, with the keys that differ (`config_changes`):
    "same" (no run yet, or this one), "grows" (`config` only gives it more loop iterations, and
    its checkpoint is kept to train on from: `reopen_record`), or "other" (another run's)."""
    changed = config_changes(folder, config, defaults)
    if not changed:
        return "same", changed
    return ("grows" if _grows(folder, config, changed) else "other"), changed


def _grows(folder: Path, config: dict, changed: list[str]) -> bool:
    if not set(changed) <= set(GROWABLE) or not checkpoint_path(folder).exists():
        return False
    before = read_json(folder / "config.json")
    return all(_setting(config, key) > _setting(before, key) for key in changed)


def share_trained(folder: Path, config: dict, changed: list[str]) -> float:
    """Of a run that grows (`compare_config`), the share of its new budget it has trained."""
    before = read_json(folder / "config.json")
    return min(_setting(before, key) / _setting(config, key) for key in changed)


def _setting(tree: dict, dotted_key: str):
    for part in dotted_key.split("."):
        tree = tree[part]
    return tree


def reopen_record(folder: Path) -> None:
    """A finished run given more iterations (`compare_config`): its evaluation and final policy
    go (eval.json first: the run is no longer done), its checkpoint and metrics stay to go on
    from."""
    (folder / "eval.json").unlink(missing_ok=True)
    (folder / "policy.pt").unlink(missing_ok=True)


def _differences(before: dict, now: dict, defaults: dict, prefix: str = "") -> list[str]:
    changed = []
    for key, value in now.items():
        old = before.get(key)
        default = defaults.get(key) if isinstance(defaults, dict) else None
        if isinstance(value, dict) and isinstance(old, dict):
            changed += _differences(old, value, default, f"{prefix}{key}.")
        elif key not in before and key in (defaults or {}) and value == default:
            continue
        elif old != value:
            changed.append(prefix + key)
    return changed


def start_record(folder: Path, config: dict) -> None:
    """Write the config of a sitting (a run started, resumed or grown). A record trained by more
    than one commit names them all: `code_version` stays the first sitting's, `code_versions`
    lists each commit in the order it trained."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "error.txt").unlink(missing_ok=True)
    path = folder / "config.json"
    before = read_json(path) if path.exists() else config
    code_versions = before.get("code_versions", [before["code_version"]])
    if code_versions[-1] != config["code_version"]:
        code_versions = [*code_versions, config["code_version"]]
    write_json(path, config | {"code_version": code_versions[0], "code_versions": code_versions})


def write_progress(folder: Path, done: int, total: int, metrics: dict) -> None:
    write_json(folder / "progress.json", {"done": done, "total": total, "metrics": metrics})


def write_failure(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "error.txt", text)


def finish_record(folder: Path, metrics: list[dict], policy_state: dict, evaluation: dict) -> None:
    """The run's last files; eval.json last of all, since it marks the run as done."""
    write_csv(metrics_path(folder), metrics)
    save_torch(policy_state, folder / "policy.pt")
    write_json(folder / "eval.json", evaluation)


def copy_record(source: Path, folder: Path, profile: str, origin: str) -> None:
    """Another profile's done run, whose config is this profile's but for the profile's name,
    as this profile's: the same seed gives the same record, so it is not trained again. Its
    config names this profile and the record it came from (`origin`); its checkpoint comes too,
    so that more iterations later grow it. eval.json last, since it marks the run as done."""
    folder.mkdir(parents=True, exist_ok=True)
    config = read_json(source / "config.json")
    write_json(folder / "config.json", {**config, "profile": profile, "copied_from": origin})
    for name in ("metrics.csv", "policy.pt", "checkpoints/state.pt", "eval.json"):
        if (source / name).exists():
            (folder / name).parent.mkdir(exist_ok=True)
            write_bytes(folder / name, (source / name).read_bytes())


def read_record(folder: Path) -> tuple[dict, dict]:
    """(config, evaluation) of a done run."""
    if not (folder / "config.json").exists():
        raise UserInputError(
            f"{shown(folder)} has eval.json but no config.json; delete the folder and run it again"
        )
    return read_json(folder / "config.json"), read_json(folder / "eval.json")


def read_policy_state(folder: Path) -> dict:
    """The final policy's weights of a done run."""
    return load_torch(folder / "policy.pt")


def metrics_path(folder: Path) -> Path:
    """A run's per-iteration metrics (`benchmark.records.load_metrics` reads them)."""
    return folder / "metrics.csv"


def records_for(profile: str) -> Path:
    """The runs folder to report on: the user's where it holds the profile's runs, else the
    reference's."""
    return RUNS_DIR if (RUNS_DIR / profile).exists() else REFERENCE_DIR / "runs"


def done_records(runs_dir: Path, profile: str | None = None) -> Iterator[Path]:
    """The folders of the profile's done runs (without a profile: every profile's), in path
    order."""
    done = "*/*/n*/s*/eval.json"
    runs_dir = Path(runs_dir)
    found = (runs_dir / profile).glob(done) if profile else runs_dir.glob(f"*/{done}")
    for eval_path in sorted(found):
        yield eval_path.parent
