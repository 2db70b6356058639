"""Statistics of run records: pure functions from the runs frame (`benchmark.records.load_runs`)
to frames; no file is read or written here, except the paper's numbers when none are given.

The paper's numbers give its expert score per task but not its random score, so
`paper_normalized_return` = (R_paper - R_random,ours) / (R_expert,paper - R_random,ours): the
paper's return and expert score, and OUR random score of the same task. Random play scores about
the same on the 2016 and today's environments for most tasks, but not exactly (MuJoCo v1 -> v5
changed rewards), so the paper's normalised values carry that small approximation. Our `gail`
(causal-entropy weight 0) is compared with the paper's `gail` rows; the `gail_ent*` rows are the
paper's Reacher entropy sweep and are left out (protocol.md: weight 0 everywhere, the sweep only on
Reacher). The paper has no FEM or GTAL on Reacher: those cells have no paper value.

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
exactly the records. Interquartile mean (IQM) and probability of improvement (P(A > X) of GAIL and
of each modern learner A against every other learner X that did not query the expert, over the
cells both have) come with stratified-bootstrap 95% percentile intervals
(`rliable.library.get_interval_estimates`). Point estimates are rliable's `metrics` functions; the
bootstrap replicates use vectorised equivalents (`interquartile_mean`,
`probability_of_improvement`: the same definitions, checked against rliable in the tests), because
rliable's call scipy once per replicate (per task, for the probability), seconds per interval.
"""

import math
import warnings

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics

from algorithms.registry import LEARNERS
from benchmark.records import (
    algorithm_labels,
    dataset_sizes,
    load_reference,
    normalize,
    paper_expert_scores,
)

PAPER_GAIL = "gail"
"""The paper's GAIL among our learners (its reference rows: causal-entropy weight 0)."""
REGIMES = ("smallest", "largest", "all")
BOOTSTRAP_REPS = 2000

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


def t_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean of `values`; (nan, nan) with fewer than two values."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1)
    half /= math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


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
        key = (task, algo, n_traj)  # the reference names its rows as the registry does
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


def _iqm(scores: np.ndarray) -> np.ndarray:
    """`interquartile_mean` in the shape rliable's bootstrap expects of a metric."""
    return np.array([interquartile_mean(scores)])


def bootstrap_interval(scores, func, reps: int, seed: int) -> tuple[float, float]:
    """rliable's stratified-bootstrap 95% percentile interval of func(*scores), reproducible
    through `seed`; `scores` is one runs x cells matrix or a list of them."""
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


def statistics_table(
    runs: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    reps: int = BOOTSTRAP_REPS,
    seed: int = 0,
    profile: str | None = None,
) -> pd.DataFrame:
    """IQM of normalised returns per algorithm and regime, and the probabilities of improvement
    of `challengers`, with rliable's stratified-bootstrap 95% intervals (`reps` replicates,
    reproducible through `seed`). `paper_estimate`: the IQM of the paper's normalised values on
    the same cells (those the paper has), without an interval (the paper's per-run values are not
    published per cell). `profile` names the table (default: the first run's)."""
    comparison = comparison_table(runs, load_reference() if reference is None else reference)
    profile = profile or runs["profile"].iloc[0]
    algorithms = list(algorithm_labels(runs))
    rows = []
    for regime in REGIMES:
        chosen = _regime_cells(comparison, regime)
        cells_of = {
            algo: list(zip(group["task"], group["n_traj"], strict=True))
            for algo, group in chosen.groupby("algorithm")
        }
        rows += _iqm_rows(runs, chosen, cells_of, algorithms, regime, reps, seed)
        rows += _improvement_rows(runs, cells_of, algorithms, regime, reps, seed)
    return pd.DataFrame([{"profile": profile} | r for r in rows], columns=STATISTICS_COLUMNS)


def challengers(algorithms, groups: dict[str, str]) -> list[str]:
    """Whose probability of improvement over the others is reported: the paper's GAIL, and each
    of today's learners from demonstrations (the registry's group "modern")."""
    return [a for a in algorithms if a == PAPER_GAIL or groups[a] == "modern"]


def learner_groups(runs: pd.DataFrame) -> dict[str, str]:
    """Each algorithm's registry group, by the learner it runs (a variant keeps its learner's)."""
    return {
        algo: LEARNERS[learner].group if learner in LEARNERS else "paper"
        for algo, learner in zip(runs["algorithm"], runs["learner"], strict=True)
    }


def _iqm_rows(runs, chosen, cells_of, algorithms, regime, reps, seed) -> list[dict]:
    """The IQM row of each algorithm with cells in the regime (`chosen`, `cells_of`)."""
    rows = []
    for algo in algorithms:
        cells = cells_of.get(algo, [])
        if not cells:
            continue
        scores = score_matrix(runs[runs["algorithm"] == algo], cells)
        low, high = bootstrap_interval(scores, _iqm, reps, seed)
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
    return rows


def _improvement_rows(runs, cells_of, algorithms, regime, reps, seed) -> list[dict]:
    """P(A > X) for each challenger A and each other algorithm X, over the regime's cells both
    have. Learners that query the expert (group "interactive", DAgger) are left out: they had
    what the others did not, so a probability against them would mix two protocols."""
    rows, done = [], set()
    groups = learner_groups(runs)
    compared = [a for a in algorithms if a in cells_of and groups[a] != "interactive"]
    for algo in challengers(compared, groups):
        for other in compared:
            if other == algo or (other, algo) in done:
                continue
            done.add((algo, other))
            common = [c for c in cells_of[algo] if c in set(cells_of[other])]
            if not common:
                continue
            x = score_matrix(runs[runs["algorithm"] == algo], common)
            y = score_matrix(runs[runs["algorithm"] == other], common)
            low, high = bootstrap_interval([x, y], probability_of_improvement, reps, seed)
            rows.append(
                {
                    "statistic": "probability_of_improvement",
                    "regime": regime,
                    "algorithm": algo,
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
    return rows
