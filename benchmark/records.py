"""Run records and the paper's numbers, read into pandas: never trains or writes anything.

Reading records. `benchmark.store` owns the record layout: it finds the done runs of a profile
(those with `eval.json`) and reads their `config.json` and `eval.json`; every number of a run comes
from those two files (the learning curves also read the run's `metrics.csv`).

Algorithms. Their table order and labels come from the records, not from a list here: a record's
`config.json` may name its `label`, else the learner registry (`algorithms.registry.LEARNERS`)
gives it; the order is the registry's, then any other algorithm in order of first appearance in
table order (task, then dataset size).

Normalisation. normalised = (R - R_random) / (R_expert - R_random), expert = 1, random = 0 (the
paper's Figure 1; `benchmark.datasets.normalize`, which runs use too), with the expert and random
scores in each run's `config.json` (expert: mean return of the expert dataset; random: 50
uniformly random episodes).

The paper's numbers (`reference_results.tsv` beside this file, copied from
../shared/paper/reference_results.tsv). They give the paper's expert score per task but not its
random score: see `benchmark.statistics.comparison_table` for how they are normalised.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from algorithms.errors import UserInputError
from algorithms.registry import LEARNERS
from benchmark import store
from benchmark.datasets import normalize
from benchmark.tasks import TASKS

RUNS_DIR = store.RUNS_DIR
REFERENCE_PATH = Path(__file__).with_name("reference_results.tsv")
CURVE_COLUMNS = [
    "task",
    "algorithm",
    "n_traj",
    "seed",
    "iteration",
    "env_steps",
    "wall_s",
    "normalized_return",
]


def load_runs(profile: str, runs_dir: Path = RUNS_DIR) -> pd.DataFrame:
    """One row per finished run of `profile` (a folder with eval.json), in table order."""
    rows = [
        _run_row(profile, folder, *store.read_record(folder))
        for folder in store.done_records(runs_dir, profile)
    ]
    if not rows:
        raise UserInputError(
            f"no finished runs for profile {profile!r} under {Path(runs_dir) / profile}; "
            f"run `make reproduce PROFILE={profile}` first"
        )
    runs = pd.DataFrame(rows)
    _check_one_dataset_per_task(runs)
    return _in_table_order(runs)


def _in_table_order(runs: pd.DataFrame) -> pd.DataFrame:
    # First appearance of an unregistered algorithm counts in table order (task, dataset size), so
    # that `algorithm_labels` of the frame returned gives the same order as the one sorted by here.
    by_cell = order_keys(runs, {}).sort_values(["_task", "n_traj"], kind="stable")
    ordered = order_keys(runs, algorithm_labels(by_cell))
    ordered = ordered.sort_values(["_task", "n_traj", "_algo", "seed"], kind="stable")
    return ordered.drop(columns=["_task", "_algo"]).reset_index(drop=True)


def load_shown_runs(profile: str, runs_dir: Path = RUNS_DIR, beside: str = "") -> pd.DataFrame:
    """The runs a profile's tables and figures show: its own, and on its tasks those of the
    profile `beside` it (its `Profile.beside`), from `runs_dir` where that holds them, else from
    where `store.records_for` finds them (the user's own, else the reference)."""
    runs = load_runs(profile, runs_dir)
    if not beside:
        return runs
    beside_dir = runs_dir if (Path(runs_dir) / beside).is_dir() else store.records_for(beside)
    others = load_runs(beside, beside_dir)
    others = others[others["task"].isin(set(runs["task"]))]
    # A cell's row is keyed by its algorithm: one name in both would merge two learners' runs
    shared = sorted(set(runs["algorithm"]) & set(others["algorithm"]))
    if shared:
        raise UserInputError(
            f"profile {profile} is shown beside {beside}, and both run {shared[0]}; give one "
            "of them another name (a [learners.<name>] variant) or drop `beside`"
        )
    for task, theirs in others.groupby("task")["dataset_sha256"]:
        if len(set(theirs) | set(runs.loc[runs["task"] == task, "dataset_sha256"])) > 1:
            raise UserInputError(
                f"profile {profile} is shown beside {beside}, whose {task} runs in "
                f"{store.shown(beside_dir / beside)} were made from another dataset; run them "
                f"again (`make reproduce PROFILE={beside} TASKS={task}`)"
            )
    return _in_table_order(pd.concat([runs, others], ignore_index=True))


def _run_row(profile: str, folder: Path, config: dict, evaluation: dict) -> dict:
    """The runs frame's row of one record."""
    try:
        returns = np.asarray(evaluation["returns"], dtype=float)
        expert, random = float(config["expert_score"]), float(config["random_score"])
        mean_return = float(evaluation["mean_return"])
        algorithm = config["algo"]
        return {
            "profile": profile,
            "task": config["task"],
            "algorithm": algorithm,
            # The registry's learner it runs: a profile's variant (airl_gp10) is AIRL's kind
            "learner": config.get("learner", algorithm),
            "label": config.get("label", registry_label(algorithm)),
            "n_traj": int(config["n_traj"]),
            "seed": int(config["seed"]),
            "episodes": len(returns),
            "mean_return": mean_return,
            "std_return": float(evaluation["std_return"]),
            "returns": returns,
            "normalized_return": normalize(mean_return, expert, random),
            "expert_score": expert,
            "random_score": random,
            "env_steps": int(evaluation.get("env_steps", 0)),
            "wall_s": float(evaluation.get("wall_s", 0.0)),
            # Records made before CPU time was recorded: their wall time (one core each)
            "cpu_s": float(evaluation.get("cpu_s", evaluation.get("wall_s", 0.0))),
            "dataset_sha256": config.get("dataset_sha256", ""),
            "folder": str(folder),
        }
    except KeyError as err:
        raise UserInputError(
            f"{store.shown(folder)}: eval.json or config.json lacks {err}; "
            "delete the folder and run it again"
        ) from None


def registry_label(algorithm: str) -> str:
    """The registry's label; an algorithm it does not know (an old record) is named as it is."""
    return LEARNERS[algorithm].label if algorithm in LEARNERS else algorithm


def registered_algorithms() -> list[str]:
    """Every learner of the registry, in its order (figures give each a colour of its own)."""
    return list(LEARNERS)


def algorithm_labels(runs: pd.DataFrame) -> dict[str, str]:
    """{algorithm: label} of the algorithms in `runs`, in table order: the registry's order,
    then the others in order of first appearance. Without a `label` column: the registry's."""
    labels = runs["label"] if "label" in runs else runs["algorithm"].map(registry_label)
    first = {}
    for algo, label in zip(runs["algorithm"], labels, strict=True):
        first.setdefault(algo, label)
    registered = {algo: first[algo] for algo in LEARNERS if algo in first}
    return registered | {algo: label for algo, label in first.items() if algo not in LEARNERS}


def _check_one_dataset_per_task(runs: pd.DataFrame) -> None:
    for task, group in runs.groupby("task"):
        for column in ("expert_score", "random_score"):
            values = group[column].to_numpy()
            if not np.allclose(values, values[0]):
                raise UserInputError(
                    f"runs of task {task!r} disagree on {column} (datasets "
                    f"{sorted(set(group['dataset_sha256']))}); delete the runs made from the old "
                    "dataset and run them again"
                )


def order_keys(frame: pd.DataFrame, algorithms) -> pd.DataFrame:
    """Adds integer sort keys `_task` (task registry order, then others by name) and `_algo`
    (the order of `algorithms`, then others in order of first appearance)."""
    tasks = list(TASKS) + sorted(set(frame["task"]) - set(TASKS))
    algos = list(dict.fromkeys([*algorithms, *frame["algorithm"]]))
    return frame.assign(
        _task=frame["task"].map({name: i for i, name in enumerate(tasks)}),
        _algo=frame["algorithm"].map({name: i for i, name in enumerate(algos)}),
    )


def load_reference(path: Path = REFERENCE_PATH) -> pd.DataFrame:
    """The paper's numbers: task, env_then, n_traj, algorithm, mean, std (comment lines: #)."""
    return pd.read_csv(path, sep="\t", comment="#")


def paper_expert_scores(reference: pd.DataFrame) -> dict[str, float]:
    experts = reference[reference["algorithm"] == "expert"]
    return dict(zip(experts["task"], experts["mean"].astype(float), strict=True))


def dataset_sizes(task: str, present=()) -> list[int]:
    """The task's dataset sizes (the registry's, else those in the records)."""
    return sorted(set(TASKS[task].dataset_sizes if task in TASKS else ()) | set(present))


def load_metrics(folder: Path) -> pd.DataFrame:
    """One run's metrics.csv, indexed by iteration (BC's, by validation: no iteration column)."""
    path = store.metrics_path(Path(folder))
    if not path.exists():
        raise UserInputError(
            f"{store.shown(path)} is missing; delete its run folder and run it again"
        )
    metrics = pd.read_csv(path)
    return metrics.set_index("iteration") if "iteration" in metrics else metrics


def load_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-iteration rows of the finished runs of every learner but BC (it logs no returns): task,
    algorithm, n_traj, seed, iteration, env_steps, wall_s, normalized_return (from
    charts/true_return and the run's expert and random scores). The metrics.csv of each run is
    read from the folder the runs frame names."""
    frames = []
    for run in runs[runs["learner"] != "bc"].itertuples():
        path = store.metrics_path(Path(run.folder))
        if not path.exists():
            continue
        metrics = pd.read_csv(path)
        needed = {"iteration", "env_steps", "wall_s", "charts/true_return"}
        if not needed <= set(metrics.columns):
            continue
        frames.append(
            pd.DataFrame(
                {
                    "task": run.task,
                    "algorithm": run.algorithm,
                    "n_traj": run.n_traj,
                    "seed": run.seed,
                    "iteration": metrics["iteration"],
                    "env_steps": metrics["env_steps"],
                    "wall_s": metrics["wall_s"],
                    "normalized_return": normalize(
                        metrics["charts/true_return"], run.expert_score, run.random_score
                    ),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    return pd.concat(frames, ignore_index=True)
