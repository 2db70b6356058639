"""What several analyses share: finding a done run's record, its policy and its metrics."""

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from algorithms.errors import UserInputError
from algorithms.policies import Policy, make_policy
from algorithms.rollout import env_spaces
from benchmark import records, store
from benchmark.datasets import ExpertDataset, load_dataset
from benchmark.profiles import load_profile
from benchmark.run import make_trainer
from benchmark.tasks import Task, get_task
from benchmark.training import load_checkpoint


def parser(name: str, doc: str) -> argparse.ArgumentParser:
    """An analysis's parser: its module docstring as the description."""
    return argparse.ArgumentParser(
        prog=f"python -m benchmark analyse {name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_record_options(parser: argparse.ArgumentParser, profile: str = "standard") -> None:
    parser.add_argument("--profile", default=profile, help=f"the runs' profile (default {profile})")
    parser.add_argument(
        "--runs",
        type=Path,
        help="records folder (default: results/runs where it holds the profile's runs, else the "
        "suite's reference records in results/reference/runs)",
    )


def add_runs_argument(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument(
        "run_names", metavar="run", nargs="+", help=f"runs as task/algo/nN[/sS], e.g. {example}"
    )


def named_records(args) -> Iterator[tuple[str, str, int, int, Path]]:
    """Each run named on the command line: task, algo, n_traj, seed and its done record."""
    for text in args.run_names:
        yield named_record(args, text)


def named_record(args, text: str) -> tuple[str, str, int, int, Path]:
    """The run `text` names (task/algo/nN[/sS]): task, algo, n_traj, seed and its done record."""
    task, algo, n_traj, seed = parse_run(text)
    return task, algo, n_traj, seed, done_record(args, task, algo, n_traj, seed)


def add_dataset_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--datasets",
        type=Path,
        help="the datasets folder the run learned from (default: the one of results/datasets* "
        "that holds it)",
    )


def run_dataset(args, folder: Path, task: Task) -> ExpertDataset:
    """The dataset the run at `folder` learned from, found by the hash its record names: in
    `args.datasets`, else in any of the suite's datasets folders (`results/datasets*`)."""
    config, _ = store.read_record(folder)
    folders = [args.datasets] if args.datasets else sorted(store.RESULTS_DIR.glob("datasets*"))
    for datasets in folders:
        if (datasets / task.name).is_dir():
            dataset = load_dataset(task, datasets)
            if dataset.card["sha256"] == config["dataset_sha256"]:
                return dataset
    raise UserInputError(
        f"{store.shown(folder)} learned from a {task.name} dataset found in none of "
        f"{', '.join(store.shown(f) for f in folders)}; name the folder it learned from with "
        "--datasets"
    )


def records_folder(args) -> Path:
    """The records folder of `args.profile` (a name, or a .toml file as `run` takes, which this
    turns into its name): `args.runs`, else where the tables read."""
    if str(args.profile).endswith(".toml"):
        args.profile = load_profile(args.profile).name
    return args.runs or store.records_for(args.profile)


def done_record(args, task: str, algo: str, n_traj: int, seed: int = 0) -> Path:
    """The folder of a done run of `args.profile` (`records_folder`)."""
    folder = store.record_dir(records_folder(args), args.profile, task, algo, n_traj, seed)
    if store.state(folder)[0] != "done":
        raise UserInputError(
            f"no finished run at {store.shown(folder)}; run it with `python -m benchmark run "
            f"--task {task} --algo {algo} --n-traj {n_traj} --seed {seed} --profile "
            f"{args.profile}`, or name another records folder with --runs"
        )
    return folder


def parse_run(text: str) -> tuple[str, str, int, int]:
    """`task/algo/nN` or `task/algo/nN/sS` -> (task, algo, N, S)."""
    parts = text.strip("/").split("/")
    try:
        if len(parts) not in (3, 4) or not parts[2].startswith("n"):
            raise ValueError
        seed = int(parts[3].removeprefix("s")) if len(parts) == 4 else 0
        return parts[0], parts[1], int(parts[2][1:]), seed
    except ValueError:
        raise UserInputError(
            f"run {text!r}: write it as task/algo/nN or task/algo/nN/sS (e.g. hopper/gail/n4/s0)"
        ) from None


def load_policy(folder: Path, task: Task) -> Policy:
    """A run's final policy (`policy.pt`), ready for `actor(rng)`."""
    policy = make_policy(*env_spaces(task.env_id))
    policy.load_state_dict(store.read_policy_state(folder))
    return policy


def metrics(folder: Path) -> pd.DataFrame:
    """A run's metrics.csv, indexed by iteration (BC: by validation)."""
    return records.load_metrics(folder)


def normalize(folder: Path, mean_return: float) -> float:
    """A return on the scale of the run's own record (its dataset's expert and random scores)."""
    config, _ = store.read_record(folder)
    return records.normalize(mean_return, config["expert_score"], config["random_score"])


class Checkpointed(NamedTuple):
    task: Task
    algo: str
    n_traj: int
    seed: int
    dataset: ExpertDataset
    trainer: Any
    """The run's learner as its last checkpoint left it."""


def checkpointed(args, run: str) -> Checkpointed:
    """A done run of `args.profile` with its learner restored from its last checkpoint, which
    only a runs folder keeps (`args.runs`; the reference keeps none). Build it single-threaded."""
    task_name, algo, n_traj, seed = parse_run(run)
    profile = load_profile(args.profile)
    folder = done_record(args, task_name, algo, n_traj, seed)  # a .toml too, as `run`
    checkpoint = store.checkpoint_path(folder)
    if not checkpoint.exists():
        raise UserInputError(
            f"{store.shown(checkpoint)} is missing: this needs the run's last checkpoint, which "
            "only a runs folder keeps (not the reference); run it there and name it with --runs"
        )
    task = get_task(task_name)
    dataset = run_dataset(args, folder, task)
    trainer = make_trainer(task, algo, dataset, n_traj, seed, profile, num_threads=1)
    load_checkpoint(trainer, checkpoint)
    return Checkpointed(task, algo, n_traj, seed, dataset, trainer)
