"""Tables and statistics from run records: never trains anything, only reads `results/runs/`.

Reading records. A run is finished when its folder `<runs>/<profile>/<task>/<algo>/n<N>/s<S>/` has
`eval.json` (written last by `benchmark.run`); other folders and `checkpoints/` are ignored.
Every number below comes from `eval.json` and `config.json` (the learning curves in
`benchmark.plots` also read `metrics.csv`).

Normalisation. normalised = (R - R_random) / (R_expert - R_random), expert = 1, random = 0 (the
paper's Figure 1), with the expert and random scores in each run's `config.json` (expert: mean
return of the expert dataset; random: 50 uniformly random episodes).

The paper's numbers (`reference_results.tsv` beside this file, copied from
../shared/paper/reference_results.tsv). They give the paper's expert score per task but not its
random score, so `paper_normalized_return` = (R_paper - R_random,ours) / (R_expert,paper -
R_random,ours): the paper's return and expert score, and OUR random score of the same task.
Random play scores about the same on the 2016 and today's environments for most tasks, but not
exactly (MuJoCo v1 -> v5 changed rewards), so the paper's normalised values carry that small
approximation. Our `gail` (causal-entropy weight 0) is compared with the paper's `gail` rows; the
`gail_ent*` rows are the paper's Reacher entropy sweep and are left out (protocol.md: weight 0
everywhere, the sweep only on Reacher). The paper has no FEM or GTAL on Reacher: those cells have
no paper value.

Cells. One cell = (profile, task, dataset size, algorithm), pooling its seeds:
- mean_return: mean of the seeds' mean returns;
- std_return: population std of all evaluation episodes of all seeds pooled (as the paper's);
- normalized_return: mean of the seeds' normalised returns, with a 95% Student-t interval over
  seeds (`normalized_ci_low/high`; NaN with one seed).

Statistics (rliable). For each data regime, `smallest` (each task at its smallest dataset size),
`largest` (at its largest) and `all` (every dataset size of every task), the cells form the
columns ("tasks" in rliable's words) of a runs x tasks matrix of normalised returns per algorithm.
A cell with fewer seeds than the matrix has rows repeats its seeds cyclically (sorted by seed), so a
one-seed cell is a constant column: it contributes its value but no run-to-run variation, and when
every cell has one seed the stratified bootstrap (which resamples runs within each task) gives a
zero-width interval. With the same number of seeds in every cell, as a sweep makes, the matrix is
exactly the records. Interquartile mean (IQM) and probability of improvement (P(GAIL > X), over the
cells both algorithms have) come with stratified-bootstrap 95% percentile intervals
(`rliable.library.get_interval_estimates`). Point estimates are rliable's `metrics` functions; the
bootstrap replicates use vectorised equivalents (`interquartile_mean`,
`probability_of_improvement`: the same definitions, checked against rliable in the tests), because
rliable's call scipy once per replicate (per task, for the probability), seconds per interval.

Cost. env_steps and wall seconds of training from each `eval.json` (the last metrics row: it leaves
out the 50 evaluation episodes). `cpu_s`: the run's measured CPU time of training (the process and
all its threads, summed over resumed sittings; `cpu_s` in eval.json); records made before it was
recorded count their wall seconds (a sweep runs each run on one thread, so about one core).
"""

import json
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics

from algorithms.errors import UserInputError
from benchmark.tasks import TASKS

ALGORITHMS = ("bc", "fem", "gtal", "gail")
"""The algorithms in table order (the same as `benchmark.run.ALGOS`)."""
ALGORITHM_LABELS = {"bc": "BC", "fem": "FEM", "gtal": "GTAL", "gail": "GAIL"}
RUNS_DIR = Path("results/runs")
TABLES_DIR = Path("results/tables")
REFERENCE_PATH = Path(__file__).with_name("reference_results.tsv")
PAPER_GAIL = "gail"
"""The paper's rows that our `gail` compares with (causal-entropy weight 0)."""
REGIMES = ("smallest", "largest", "all")
BOOTSTRAP_REPS = 2000

_MISSING = "—"


# --------------------------------------------------------------------------------------------
# Reading records and the paper's numbers
# --------------------------------------------------------------------------------------------


def normalize(value, expert_score, random_score):
    """(R - R_random) / (R_expert - R_random): expert 1, random 0."""
    return (value - random_score) / (expert_score - random_score)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UserInputError(
            f"{path} cannot be read ({err}); delete its run folder and run it again"
        ) from None


def load_runs(profile: str, runs_dir: Path = RUNS_DIR) -> pd.DataFrame:
    """One row per finished run of `profile` (a folder with eval.json), in table order."""
    root = Path(runs_dir) / profile
    rows = []
    for eval_path in sorted(root.glob("*/*/n*/s*/eval.json")):
        folder = eval_path.parent
        if not (folder / "config.json").exists():
            raise UserInputError(
                f"{folder} has eval.json but no config.json; delete the folder and run it again"
            )
        evaluation, config = _read_json(eval_path), _read_json(folder / "config.json")
        try:
            returns = np.asarray(evaluation["returns"], dtype=float)
            expert, random = float(config["expert_score"]), float(config["random_score"])
            mean_return = float(evaluation["mean_return"])
            rows.append(
                {
                    "profile": profile,
                    "task": config["task"],
                    "algorithm": config["algo"],
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
            )
        except KeyError as err:
            raise UserInputError(
                f"{folder}: eval.json or config.json lacks {err}; "
                "delete the folder and run it again"
            ) from None
    if not rows:
        raise UserInputError(
            f"no finished runs for profile {profile!r} under {root}; "
            f"run `make reproduce PROFILE={profile}` first"
        )
    runs = pd.DataFrame(rows)
    _check_one_dataset_per_task(runs)
    ordered = _ordered(runs).sort_values(["_task", "n_traj", "_algo", "seed"])
    return ordered.drop(columns=["_task", "_algo"]).reset_index(drop=True)


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


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds integer sort keys `_task` (registry order, then others by name) and `_algo` (bc, fem,
    gtal, gail, then others by name)."""
    tasks = list(TASKS) + sorted(set(frame["task"]) - set(TASKS))
    algos = list(ALGORITHMS) + sorted(set(frame["algorithm"]) - set(ALGORITHMS))
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


def load_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-iteration rows of the finished FEM/GTAL/GAIL runs (BC logs no returns): task,
    algorithm, n_traj, seed, iteration, env_steps, wall_s, normalized_return (from
    charts/true_return and the run's expert and random scores)."""
    frames = []
    for run in runs[runs["algorithm"] != "bc"].itertuples():
        path = Path(run.folder) / "metrics.csv"
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
        return pd.DataFrame(
            columns=[
                "task",
                "algorithm",
                "n_traj",
                "seed",
                "iteration",
                "env_steps",
                "wall_s",
                "normalized_return",
            ]
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def t_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean of `values`; (nan, nan) with fewer than two values."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1)
    half /= math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


COMPARISON_COLUMNS = [
    "profile",
    "task",
    "n_traj",
    "algorithm",
    "seeds",
    "episodes",
    "mean_return",
    "std_return",
    "normalized_return",
    "normalized_ci_low",
    "normalized_ci_high",
    "expert_score",
    "random_score",
    "paper_mean_return",
    "paper_std_return",
    "paper_expert_return",
    "paper_normalized_return",
    "difference",
]


def comparison_table(runs: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """One row per (profile, task, n_traj, algorithm) cell, with the paper's numbers beside."""
    paper_experts = paper_expert_scores(reference)
    paper = reference.set_index(["task", "algorithm", "n_traj"])
    rows = []
    for (profile, task, n_traj, algo), cell in runs.groupby(
        ["profile", "task", "n_traj", "algorithm"], sort=False
    ):
        low, high = t_interval(cell["normalized_return"])
        expert, random = cell["expert_score"].iloc[0], cell["random_score"].iloc[0]
        paper_algo = PAPER_GAIL if algo == "gail" else algo
        key = (task, paper_algo, n_traj)
        paper_mean = float(paper.loc[key, "mean"]) if key in paper.index else math.nan
        paper_std = float(paper.loc[key, "std"]) if key in paper.index else math.nan
        paper_expert = paper_experts.get(task, math.nan)
        paper_normalized = normalize(paper_mean, paper_expert, random)
        normalized = float(cell["normalized_return"].mean())
        rows.append(
            {
                "profile": profile,
                "task": task,
                "n_traj": int(n_traj),
                "algorithm": algo,
                "seeds": len(cell),
                "episodes": int(cell["episodes"].sum()),
                "mean_return": float(cell["mean_return"].mean()),
                "std_return": float(np.concatenate(list(cell["returns"])).std()),
                "normalized_return": normalized,
                "normalized_ci_low": low,
                "normalized_ci_high": high,
                "expert_score": expert,
                "random_score": random,
                "paper_mean_return": paper_mean,
                "paper_std_return": paper_std,
                "paper_expert_return": paper_expert,
                "paper_normalized_return": paper_normalized,
                "difference": normalized - paper_normalized,
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _regime_cells(cells: pd.DataFrame, regime: str) -> pd.DataFrame:
    """The (task, n_traj) cells of a regime: each task at its smallest or largest dataset size
    (the paper's sizes, from the registry), or all of them."""
    if regime == "all":
        return cells
    pick = min if regime == "smallest" else max
    chosen = {
        task: pick(dataset_sizes(task, group["n_traj"])) for task, group in cells.groupby("task")
    }
    return cells[cells["n_traj"] == cells["task"].map(chosen)]


def score_matrix(runs: pd.DataFrame, cells: list[tuple[str, int]]) -> np.ndarray:
    """runs x cells matrix of normalised returns: a cell with fewer seeds than the most seeded
    one repeats its seeds (sorted) cyclically down its column."""
    columns = []
    for task, n_traj in cells:
        cell = runs[(runs["task"] == task) & (runs["n_traj"] == n_traj)].sort_values("seed")
        columns.append(cell["normalized_return"].to_numpy(dtype=float))
    height = max(len(c) for c in columns)
    return np.stack([np.resize(c, height) for c in columns], axis=1)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """rliable's `metrics.probability_of_improvement`, vectorised: the mean over tasks of
    P(X > Y) + P(X = Y) / 2 over all pairs of runs (the Mann-Whitney U / (n_x n_y) that rliable
    computes with one scipy call per task, too slow for thousands of bootstrap replicates)."""
    greater = (x[:, None, :] > y[None, :, :]).mean(axis=(0, 1))
    ties = (x[:, None, :] == y[None, :, :]).mean(axis=(0, 1))
    return float(np.mean(greater + 0.5 * ties))


def interquartile_mean(scores: np.ndarray) -> float:
    """rliable's `metrics.aggregate_iqm` (scipy's 25% trimmed mean of all scores), without scipy's
    per-call overhead, which dominates thousands of bootstrap replicates: drop the lowest and the
    highest int(n / 4) scores, average the rest."""
    ordered = np.sort(np.asarray(scores, dtype=float), axis=None)
    cut = int(0.25 * ordered.size)
    return float(ordered[cut : ordered.size - cut].mean())


STATISTICS_COLUMNS = [
    "profile",
    "statistic",
    "regime",
    "algorithm",
    "versus",
    "estimate",
    "ci_low",
    "ci_high",
    "cells",
    "max_seeds",
    "paper_estimate",
    "cell_list",
]


def statistics_table(
    runs: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
) -> pd.DataFrame:
    """IQM of normalised returns per algorithm and regime, and P(GAIL > X), with rliable's
    stratified-bootstrap 95% intervals (`reps` replicates, reproducible through `seed`).
    `paper_estimate`: the IQM of the paper's normalised values on the same cells (those the paper
    has), without an interval (the paper's per-run values are not published per cell)."""
    comparison = comparison_table(runs, load_reference() if reference is None else reference)
    profile = runs["profile"].iloc[0]

    def interval(scores, func) -> tuple[float, float]:
        """rliable's stratified-bootstrap percentile interval of func(*scores)."""
        matrices = scores if isinstance(scores, list) else [scores]
        if all((m == m[:1]).all() for m in matrices):
            # One value per cell (one seed each): every resample is the data itself.
            value = float(np.asarray(func(*matrices)).reshape(-1)[0])
            return value, value
        # rliable 1.2's stratified bootstraps draw their indices from numpy's global RNG
        # (`np.random.choice`), not from `random_state`: seed that one, and give it back as it was.
        outside = np.random.get_state()
        np.random.seed(seed)
        try:
            with warnings.catch_warnings():  # arch's notice that it will prefer numpy Generators
                warnings.filterwarnings("ignore", "random_state is deprecated", FutureWarning)
                _, intervals = rly.get_interval_estimates(
                    {"x": scores}, func, reps=reps, random_state=np.random.RandomState(seed)
                )
        finally:
            np.random.set_state(outside)
        low, high = np.asarray(intervals["x"], dtype=float).reshape(2)
        return float(low), float(high)

    def iqm(x):
        return np.array([interquartile_mean(x)])

    algorithms = [a for a in ALGORITHMS if a in set(runs["algorithm"])]
    algorithms += sorted(set(runs["algorithm"]) - set(ALGORITHMS))
    rows = []
    for regime in REGIMES:
        chosen = _regime_cells(comparison, regime)
        cells_of = {
            algo: list(zip(group["task"], group["n_traj"], strict=True))
            for algo, group in chosen.groupby("algorithm")
        }
        for algo in algorithms:
            cells = cells_of.get(algo, [])
            if not cells:
                continue
            algo_runs = runs[runs["algorithm"] == algo]
            scores = score_matrix(algo_runs, cells)
            low, high = interval(scores, iqm)
            paper = chosen[chosen["algorithm"] == algo]["paper_normalized_return"].dropna()
            rows.append(
                {
                    "statistic": "iqm",
                    "regime": regime,
                    "algorithm": algo,
                    "versus": "",
                    "estimate": float(metrics.aggregate_iqm(scores)),
                    "ci_low": low,
                    "ci_high": high,
                    "cells": len(cells),
                    "max_seeds": scores.shape[0],
                    "paper_estimate": float(metrics.aggregate_iqm(paper.to_numpy()))
                    if len(paper)
                    else math.nan,
                    "cell_list": " ".join(f"{t}/n{n}" for t, n in cells),
                }
            )
        if "gail" not in cells_of:
            continue
        for other in algorithms:
            if other == "gail" or other not in cells_of:
                continue
            common = [c for c in cells_of["gail"] if c in set(cells_of[other])]
            if not common:
                continue
            x = score_matrix(runs[runs["algorithm"] == "gail"], common)
            y = score_matrix(runs[runs["algorithm"] == other], common)
            low, high = interval([x, y], probability_of_improvement)
            rows.append(
                {
                    "statistic": "probability_of_improvement",
                    "regime": regime,
                    "algorithm": "gail",
                    "versus": other,
                    "estimate": float(metrics.probability_of_improvement(x, y)),
                    "ci_low": low,
                    "ci_high": high,
                    "cells": len(common),
                    "max_seeds": max(x.shape[0], y.shape[0]),
                    "paper_estimate": math.nan,
                    "cell_list": " ".join(f"{t}/n{n}" for t, n in common),
                }
            )
    return pd.DataFrame([{"profile": profile} | r for r in rows], columns=STATISTICS_COLUMNS)


COST_COLUMNS = [
    "profile",
    "task",
    "n_traj",
    "algorithm",
    "seeds",
    "env_steps",
    "wall_s",
    "cpu_s",
    "env_steps_per_run",
    "wall_s_per_run",
]


def cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per cell: env steps, wall seconds and CPU-seconds summed over seeds (and per run), then a
    total per algorithm and a profile total (task `total`; algorithm `all` for the profile)."""

    def summary(frame: pd.DataFrame, **keys) -> dict:
        return keys | {
            "seeds": len(frame),
            "env_steps": int(frame["env_steps"].sum()),
            "wall_s": float(frame["wall_s"].sum()),
            "cpu_s": float(frame["cpu_s"].sum()),
            "env_steps_per_run": float(frame["env_steps"].mean()),
            "wall_s_per_run": float(frame["wall_s"].mean()),
        }

    profile = runs["profile"].iloc[0]
    rows = [
        summary(cell, profile=profile, task=task, n_traj=int(n_traj), algorithm=algo)
        for (task, n_traj, algo), cell in runs.groupby(["task", "n_traj", "algorithm"], sort=False)
    ]
    for algo, group in _ordered(runs).sort_values("_algo").groupby("algorithm", sort=False):
        rows.append(summary(group, profile=profile, task="total", n_traj=pd.NA, algorithm=algo))
    rows.append(summary(runs, profile=profile, task="total", n_traj=pd.NA, algorithm="all"))
    table = pd.DataFrame(rows, columns=COST_COLUMNS)
    table["n_traj"] = table["n_traj"].astype("Int64")
    return table


# --------------------------------------------------------------------------------------------
# Rendering: markdown and LaTeX
# --------------------------------------------------------------------------------------------


def _fmt(value, digits: int = 2) -> str:
    return _MISSING if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _mean_std(mean, std) -> str:
    return _MISSING if pd.isna(mean) else f"{mean:.2f} ± {std:.2f}"


def _with_ci(value, low, high) -> str:
    if pd.isna(value):
        return _MISSING
    return _fmt(value) if pd.isna(low) else f"{value:.2f} [{low:.2f}, {high:.2f}]"


def markdown_table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """A GitHub markdown table; columns in `right` are right-aligned."""
    cells = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    text = str(text)
    for old, new in [
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("±", r"$\pm$"),
        (_MISSING, "--"),
        ("–", "--"),
    ]:
        text = text.replace(old, new)
    return text


def latex_table(header: list[str], rows: list[list[str]], caption: str, label: str) -> str:
    """A booktabs table (needs \\usepackage{booktabs})."""
    spec = "ll" + "r" * (len(header) - 2)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_latex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(_latex_escape(c) for c in row) + r" \\" for row in rows]
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{_latex_escape(caption)}}}",
        rf"\label{{{label}}}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _grid(comparison: pd.DataFrame):
    """(task, n_traj, {algorithm: row}) in table order, and the algorithms present."""
    present = [a for a in ALGORITHMS if a in set(comparison["algorithm"])]
    present += sorted(set(comparison["algorithm"]) - set(ALGORITHMS))
    ordered = _ordered(comparison).sort_values(["_task", "n_traj", "_algo"])
    grid = []
    for (task, n_traj), group in ordered.groupby(["task", "n_traj"], sort=False):
        grid.append((task, int(n_traj), {r.algorithm: r for r in group.itertuples()}))
    return grid, present


def _returns_rows(comparison: pd.DataFrame):
    grid, present = _grid(comparison)
    header = ["Task", "Dataset size", "Expert", "Random"]
    header += [ALGORITHM_LABELS.get(a, a) for a in present]
    rows, previous = [], None
    for task, n_traj, by_algo in grid:
        first = next(iter(by_algo.values()))
        row = [
            task if task != previous else "",
            str(n_traj),
            _fmt(first.expert_score),
            _fmt(first.random_score),
        ]
        row += [
            _mean_std(by_algo[a].mean_return, by_algo[a].std_return) if a in by_algo else _MISSING
            for a in present
        ]
        rows.append(row)
        previous = task
    return header, rows


def _normalized_rows(comparison: pd.DataFrame):
    grid, present = _grid(comparison)
    header = ["Task", "Dataset size", "Seeds"]
    for algo in present:
        label = ALGORITHM_LABELS.get(algo, algo)
        header += [label, f"{label} (paper)"]
    rows, previous = [], None
    for task, n_traj, by_algo in grid:
        seeds = sorted({r.seeds for r in by_algo.values()})
        count = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
        row = [task if task != previous else "", str(n_traj), count]
        for algo in present:
            r = by_algo.get(algo)
            row += (
                [_MISSING, _MISSING]
                if r is None
                else [
                    _with_ci(r.normalized_return, r.normalized_ci_low, r.normalized_ci_high),
                    _fmt(r.paper_normalized_return),
                ]
            )
        rows.append(row)
        previous = task
    return header, rows


COMPARISON_NOTES = """\
- Returns: mean of the seeds' mean returns ± the population std of all evaluation episodes of all
  seeds pooled (50 deterministic episodes per run). Expert: mean return of the expert dataset's
  trajectories; random: mean of 50 uniformly random episodes (both from the runs' config.json).
- Normalised: (R - random) / (expert - random), expert 1 and random 0; ours with a 95% Student-t
  interval over seeds in brackets (none with one seed).
- Paper: Ho & Ermon (2016), benchmark/reference_results.tsv (from the authors' raw results, on the
  2016 gym v0/v1 tasks). The paper's random scores are not published, so its normalised values use
  the paper's expert score and OUR random score of the same task. Our GAIL (causal-entropy weight
  0) is compared with the paper's weight-0 GAIL rows; the paper ran no FEM or GTAL on Reacher.
- Returns of today's environments (CartPole-v1, *-v5) differ in scale from the paper's; compare
  with the paper only in normalised form.
"""


def _comparison_markdown(comparison: pd.DataFrame, profile: str) -> str:
    header, rows = _returns_rows(comparison)
    n_header, n_rows = _normalized_rows(comparison)
    return (
        f"# Comparison with the GAIL paper: profile `{profile}`\n\n"
        "## Returns (mean ± std)\n\n"
        + markdown_table(header, rows, right=set(range(1, len(header))))
        + "\n## Normalised returns, ours [95% CI over seeds] and the paper's\n\n"
        + markdown_table(n_header, n_rows, right=set(range(1, len(n_header))))
        + "\n## Notes\n\n"
        + COMPARISON_NOTES
    )


def _comparison_latex(comparison: pd.DataFrame, profile: str) -> str:
    header, rows = _returns_rows(comparison)
    n_header, n_rows = _normalized_rows(comparison)
    return (
        f"% Generated by `python -m benchmark tables --profile {profile}`; needs booktabs.\n"
        + latex_table(
            header,
            rows,
            f"Returns (mean ± std over all evaluation episodes of all seeds), profile {profile}.",
            f"tab:returns-{profile}",
        )
        + "\n"
        + latex_table(
            n_header,
            n_rows,
            f"Normalised returns (expert 1, random 0), ours with 95% CI over seeds, and the "
            f"paper's (its expert score, our random score), profile {profile}.",
            f"tab:normalised-{profile}",
        )
    )


STATISTICS_NOTES = """\
- rliable (Agarwal et al., 2021): interquartile mean (IQM) of normalised returns over runs x cells,
  and P(GAIL > X): the mean over cells of the probability that a GAIL run beats an X run (ties
  count half); 95% percentile intervals from the stratified bootstrap (runs resampled within each
  cell), {reps} replicates, fixed seed.
- Regimes: `smallest` / `largest`: each task at its smallest / largest dataset size of the
  paper's; `all`: every dataset size of every task. P(GAIL > X) uses the cells both have.
- The runs x cells matrix: a cell with fewer seeds than the most seeded cell repeats its seeds
  cyclically, so a one-seed cell adds its value but no spread; when every cell has one seed the
  interval has zero width.
- Paper: the IQM of the paper's normalised values (its expert score, our random score) over the
  same cells where the paper has a value; no interval (no per-run values).
"""


def _statistics_markdown(statistics: pd.DataFrame, profile: str, reps: int) -> str:
    header = [
        "Statistic",
        "Regime",
        "Algorithm",
        "Estimate [95% CI]",
        "Paper",
        "Cells",
        "Max seeds",
    ]
    rows = []
    for r in statistics.itertuples():
        what = "IQM" if r.statistic == "iqm" else "P(GAIL > X)"
        algo = ALGORITHM_LABELS.get(r.algorithm, r.algorithm)
        if r.versus:
            algo = f"GAIL vs {ALGORITHM_LABELS.get(r.versus, r.versus)}"
        rows.append(
            [
                what,
                r.regime,
                algo,
                _with_ci(r.estimate, r.ci_low, r.ci_high),
                _fmt(r.paper_estimate),
                str(r.cells),
                str(r.max_seeds),
            ]
        )
    return (
        f"# Aggregate statistics: profile `{profile}`\n\n"
        + markdown_table(header, rows, right={3, 4, 5, 6})
        + "\n## Notes\n\n"
        + STATISTICS_NOTES.format(reps=reps)
    )


def _cost_markdown(cost: pd.DataFrame, profile: str) -> str:
    header = [
        "Task",
        "Dataset size",
        "Algorithm",
        "Seeds",
        "Env steps",
        "Wall s",
        "CPU s",
        "Wall s per run",
    ]
    rows = [
        [
            r.task,
            "" if pd.isna(r.n_traj) else str(r.n_traj),
            ALGORITHM_LABELS.get(r.algorithm, r.algorithm),
            str(r.seeds),
            f"{r.env_steps:,}",
            f"{r.wall_s:,.0f}",
            f"{r.cpu_s:,.0f}",
            f"{r.wall_s_per_run:,.0f}",
        ]
        for r in cost.itertuples()
    ]
    return (
        f"# Compute cost: profile `{profile}`\n\n"
        + markdown_table(header, rows, right={1, 3, 4, 5, 6, 7})
        + "\n## Notes\n\n"
        "- Training only (each run's last metrics row): the 50 evaluation episodes and dataset "
        "loading are not counted. BC takes no environment steps.\n"
        "- CPU s: the run's measured CPU time of training (process and threads, over every "
        "sitting); records without it count their wall s (a sweep's run uses one core).\n"
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write(out: Path, name: str, renderers: dict[str, Callable[[], str]]) -> list[Path]:
    paths = []
    for suffix, render in renderers.items():
        path = out / f"{name}.{suffix}"
        atomic_write_text(path, render())
        paths.append(path)
    return paths


def build_tables(
    profile: str,
    runs_dir: Path = RUNS_DIR,
    out_dir: Path = TABLES_DIR,
    reps: int = BOOTSTRAP_REPS,
) -> dict[str, pd.DataFrame]:
    """Read the finished runs of `profile` and write `<out_dir>/<profile>/`:
    comparison.{csv,md,tex}, statistics.{csv,md}, cost.{csv,md}. Returns the tables by name
    (`comparison`, `statistics`, `cost`); each table's `attrs["paths"]` lists the files written
    from it."""
    runs = load_runs(profile, Path(runs_dir))
    reference = load_reference()
    out = Path(out_dir) / profile
    comparison = comparison_table(runs, reference)
    statistics = statistics_table(runs, reference, reps=reps)
    cost = cost_table(runs)
    comparison.attrs["paths"] = _write(
        out,
        "comparison",
        {
            "csv": lambda: comparison.to_csv(index=False),
            "md": lambda: _comparison_markdown(comparison, profile),
            "tex": lambda: _comparison_latex(comparison, profile),
        },
    )
    statistics.attrs["paths"] = _write(
        out,
        "statistics",
        {
            "csv": lambda: statistics.to_csv(index=False),
            "md": lambda: _statistics_markdown(statistics, profile, reps),
        },
    )
    cost.attrs["paths"] = _write(
        out,
        "cost",
        {
            "csv": lambda: cost.to_csv(index=False),
            "md": lambda: _cost_markdown(cost, profile),
        },
    )
    return {"comparison": comparison, "statistics": statistics, "cost": cost}
