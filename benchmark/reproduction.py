"""The reproduction report: a user's records beside the suite's reference records and the paper's
numbers, cell by cell, with a verdict.

A cell agrees with the reference when the two normalised returns (means over the cell's seeds)
are within `TOLERANCE`. Why 0.25: on the same machine the same seed gives the same record, so a
difference there is a bug (the verdict is then "identical" or "differs"); on another machine the
floating-point sums of other CPU kernels make a run another draw of the same method, and draws
differ by the method's seed spread (measured: the quick profile's CartPole GAIL with 10
trajectories, same commit, packages and dataset, 1.00 on the reference's machine, 0.88 on
another; records name their CPU in `versions.cpu`). Measured on the reference's standard
profile (`python -m benchmark analyse seed_spread`): the standard deviation over 3 seeds of a
classic-control cell has median 0.008, 90th percentile 0.05 and maximum 0.125 (normalised);
twice the largest is 0.25.
MuJoCo cells have one seed and may spread more (Hopper's GAIL at the quick budget ended at 1.007
on one thread and 0.695 on two): a "differs" there is a flag to look at, not a verdict on the
suite.
"""

from pathlib import Path

import pandas as pd

from benchmark.records import load_reference, load_runs
from benchmark.report import markdown_table
from benchmark.statistics import comparison_table

TOLERANCE = 0.25
"""Largest difference of normalised returns at which a cell agrees with the reference."""
PAPER_TOLERANCE = 0.1
"""The summary also counts the cells within this distance of the paper's normalised return."""
COLUMNS = ["task", "n_traj", "algorithm", "seeds", "yours", "reference", "paper", "verdict"]


def _cells(profile: str, runs_dir: Path) -> pd.DataFrame:
    cells = comparison_table(load_runs(profile, runs_dir), load_reference())
    return cells.set_index(["task", "n_traj", "algorithm"])


def reproduction_table(profile: str, runs_dir: Path, reference_dir: Path) -> pd.DataFrame:
    """One row per cell of the user's records: their normalised return, the reference's, the
    paper's and the verdict (identical, agrees, differs, or no reference)."""
    yours, reference = _cells(profile, runs_dir), _cells(profile, reference_dir)
    runs, ref_runs = load_runs(profile, runs_dir), load_runs(profile, reference_dir)
    rows = []
    for key, cell in yours.iterrows():
        ref = reference.loc[key] if key in reference.index else None
        verdict = "no reference"
        if ref is not None:
            same = _returns(runs, key) == _returns(ref_runs, key)
            gap = abs(cell["normalized_return"] - ref["normalized_return"])
            verdict = "identical" if same else "agrees" if gap <= TOLERANCE else "differs"
        rows.append(
            [*key, int(cell["seeds"]), cell["normalized_return"]]
            + [None if ref is None else ref["normalized_return"]]
            + [cell["paper_normalized_return"], verdict]
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _returns(runs: pd.DataFrame, key: tuple) -> list:
    task, n_traj, algorithm = key
    cell = runs[(runs.task == task) & (runs.n_traj == n_traj) & (runs.algorithm == algorithm)]
    return [list(r) for r in cell.sort_values("seed")["returns"]]


def summary(table: pd.DataFrame) -> str:
    """'12 of 14 cells agree with the reference; 11 of 14 are within 0.1 of the paper'."""
    n = len(table)
    agree = int(table.verdict.isin(["identical", "agrees"]).sum())
    with_paper = table.dropna(subset=["paper"])
    close = int(((with_paper.yours - with_paper.paper).abs() <= PAPER_TOLERANCE).sum())
    return (
        f"{agree} of {n} cells agree with the reference (within {TOLERANCE}); "
        f"{close} of {len(with_paper)} with a paper value are within {PAPER_TOLERANCE} of the paper"
    )


def format_report(profile: str, table: pd.DataFrame) -> str:
    def number(value) -> str:
        return "—" if value is None or pd.isna(value) else f"{value:.2f}"

    rows = [
        [r.task, str(r.n_traj), r.algorithm, str(r.seeds)]
        + [number(r.yours), number(r.reference), number(r.paper), r.verdict]
        for r in table.itertuples()
    ]
    header = ["task", "trajectories", "algorithm", "seeds", "yours", "reference", "paper", ""]
    title = f"Reproduction report, profile {profile} (normalised returns: expert 1, random 0)"
    table_md = markdown_table(header, rows, right={1, 3, 4, 5, 6}).rstrip()
    return f"{title}\n\n{table_md}\n\n{summary(table)}\n"
