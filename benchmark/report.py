"""Tables from run records: the comparison with the paper, the aggregate statistics and the
compute cost, rendered as CSV, Markdown and LaTeX and written (through `benchmark.store`) under
`results/tables/<profile>/`. Never trains anything; the numbers come from `benchmark.records`
and `benchmark.statistics`.

Cost. env_steps and wall seconds of training from each `eval.json` (the last metrics row: it leaves
out the 50 evaluation episodes). `cpu_s`: the run's measured CPU time of training (the process and
all its threads, summed over resumed sittings; `cpu_s` in eval.json); records made before it was
recorded count their wall seconds (a sweep runs each run on one thread, so about one core).
"""

import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmark import store
from benchmark.profiles import Target
from benchmark.records import (
    RUNS_DIR,
    algorithm_labels,
    load_reference,
    load_shown_runs,
    order_keys,
    registry_label,
)
from benchmark.statistics import BOOTSTRAP_REPS, comparison_table, statistics_table

TABLES_DIR = store.RESULTS_DIR / "tables"
_MISSING = "—"
OTHER_CONFIG_MARK = " †"  # a cell with a record made with another config than the profile's now

# --------------------------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------------------------

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


def cost_table(runs: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Per cell of `profile`'s runs: env steps, wall seconds and CPU-seconds summed over seeds
    (and per run), then a total per algorithm and a profile total (task `total`; algorithm `all`
    for the profile). The runs of a profile shown beside it are that profile's cost, not this
    one's: they are left out."""

    def summary(frame: pd.DataFrame, **keys) -> dict:
        return keys | {
            "seeds": len(frame),
            "env_steps": int(frame["env_steps"].sum()),
            "wall_s": float(frame["wall_s"].sum()),
            "cpu_s": float(frame["cpu_s"].sum()),
            "env_steps_per_run": float(frame["env_steps"].mean()),
            "wall_s_per_run": float(frame["wall_s"].mean()),
        }

    runs = runs[runs["profile"] == profile]
    rows = [
        summary(cell, profile=profile, task=task, n_traj=int(n_traj), algorithm=algo)
        for (task, n_traj, algo), cell in runs.groupby(["task", "n_traj", "algorithm"], sort=False)
    ]
    ordered = order_keys(runs, algorithm_labels(runs)).sort_values("_algo")
    for algo, group in ordered.groupby("algorithm", sort=False):
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
        (OTHER_CONFIG_MARK.strip(), r"\dag{}"),
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


def _grid(comparison: pd.DataFrame, labels: dict[str, str]):
    """(task, n_traj, {algorithm: row}) in table order, and the algorithms present."""
    present = [a for a in labels if a in set(comparison["algorithm"])]
    ordered = order_keys(comparison, labels).sort_values(["_task", "n_traj", "_algo"])
    grid = []
    for (task, n_traj), group in ordered.groupby(["task", "n_traj"], sort=False):
        grid.append((task, int(n_traj), {r.algorithm: r for r in group.itertuples()}))
    return grid, present


def _returns_rows(comparison: pd.DataFrame, labels: dict[str, str]):
    grid, present = _grid(comparison, labels)
    header = ["Task", "Dataset size", "Expert", "Random"]
    header += [labels[a] for a in present]
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


def _normalized_rows(
    comparison: pd.DataFrame, labels: dict[str, str], other_config: frozenset = frozenset()
):
    """The normalised table's rows; a cell with a record in `other_config` (its (task, n_traj,
    algorithm, seed)) is marked, as not what the profile makes now. Only the algorithms the
    paper ran get a column of its values: the others' would be empty."""
    marked = {key[:3] for key in other_config}
    grid, present = _grid(comparison, labels)
    in_paper = set(comparison.loc[comparison["paper_normalized_return"].notna(), "algorithm"])
    header = ["Task", "Dataset size", "Seeds"]
    for algo in present:
        label = labels[algo]
        header += [label, f"{label} (paper)"] if algo in in_paper else [label]
    rows, previous = [], None
    for task, n_traj, by_algo in grid:
        seeds = sorted({r.seeds for r in by_algo.values()})
        count = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
        row = [task if task != previous else "", str(n_traj), count]
        for algo in present:
            r = by_algo.get(algo)
            ours = (
                _MISSING
                if r is None
                else _with_ci(r.normalized_return, r.normalized_ci_low, r.normalized_ci_high)
                + (OTHER_CONFIG_MARK if (task, n_traj, algo) in marked else "")
            )
            row.append(ours)
            if algo in in_paper:
                row.append(_MISSING if r is None else _fmt(r.paper_normalized_return))
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


def _comparison_markdown(
    comparison: pd.DataFrame,
    profile: str,
    labels: dict[str, str],
    other_config: frozenset = frozenset(),
) -> str:
    header, rows = _returns_rows(comparison, labels)
    n_header, n_rows = _normalized_rows(comparison, labels, other_config)
    marked = (
        f"-{OTHER_CONFIG_MARK}: {len(other_config)} of these records were made with another "
        "config than profile\n"
        f"  {profile} gives now (an edited profile, a replaced dataset): `make status "
        f"PROFILE={profile}\n  RUNS=<the records' folder>` names them and the keys that differ; "
        "rerun them to replace them.\n"
        if other_config
        else ""
    )
    return (
        f"# Comparison with the GAIL paper: profile `{profile}`\n\n"
        "## Returns (mean ± std)\n\n"
        + markdown_table(header, rows, right=set(range(1, len(header))))
        + "\n## Normalised returns, ours [95% CI over seeds] and the paper's\n\n"
        + markdown_table(n_header, n_rows, right=set(range(1, len(n_header))))
        + "\n## Notes\n\n"
        + marked
        + COMPARISON_NOTES
    )


def _comparison_latex(
    comparison: pd.DataFrame,
    profile: str,
    labels: dict[str, str],
    other_config: frozenset = frozenset(),
) -> str:
    header, rows = _returns_rows(comparison, labels)
    n_header, n_rows = _normalized_rows(comparison, labels, other_config)
    marked = (
        f" {OTHER_CONFIG_MARK.strip()}: made with another config than the profile gives now"
        " (make status names them)."
        if other_config
        else ""
    )
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
            f"paper's (its expert score, our random score), profile {profile}.{marked}",
            f"tab:normalised-{profile}",
        )
    )


STATISTICS_NOTES = """\
- rliable (Agarwal et al., 2021): interquartile mean (IQM) of normalised returns over runs x cells,
  and P(A > X): the mean over cells of the probability that a run of A beats a run of X (ties
  count half), for A GAIL and each of today's learners from demonstrations; 95% percentile
  intervals from the stratified bootstrap (runs resampled within each cell), {reps} replicates,
  fixed seed.
- Learners that query the expert (interactive, DAgger) have their IQM row but no probability of
  improvement: they learn under another protocol.
- Regimes: `smallest` / `largest`: each task at its smallest / largest dataset size of the
  paper's; `all`: every dataset size of every task. P(A > X) uses the cells both have.
- The runs x cells matrix: a cell with fewer seeds than the most seeded cell repeats its seeds
  cyclically, so a one-seed cell adds its value but no spread; when every cell has one seed the
  interval has zero width.
- Paper: the IQM of the paper's normalised values (its expert score, our random score) over the
  same cells where the paper has a value; no interval (no per-run values).
"""


def _statistics_markdown(
    statistics: pd.DataFrame, profile: str, reps: int, labels: dict[str, str]
) -> str:
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
        what = "IQM" if r.statistic == "iqm" else "P(A > X)"
        algo = labels.get(r.algorithm, r.algorithm)
        if r.versus:
            algo = f"{algo} vs {labels.get(r.versus, r.versus)}"
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


def _cost_markdown(cost: pd.DataFrame, profile: str, labels: dict[str, str]) -> str:
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
            labels.get(r.algorithm, r.algorithm),
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


DOCS_DIR = store.REPO / "docs"


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------

TARGET_COLUMNS = [
    "target", "task", "n_traj", "algorithm", "seeds", "planned_seeds", "normalized_return",
    "needs", "verdict",
]  # fmt: skip
UNJUDGED = ("partial", "not run", "another config", "no paper value")


def targets_table(
    runs: pd.DataFrame,
    reference: pd.DataFrame,
    profile: str,
    targets: tuple[Target, ...],
    other_config: frozenset = frozenset(),
) -> pd.DataFrame:
    """One row per cell of each target of `profile` (never a profile's shown beside it): the
    cell's normalised return, the mean over the seeds its grid plans that are done (a run made
    with another seed is shown in the comparison but not judged), what the target needs of it,
    and the verdict: met or not met once every planned seed is done, else partial, or not run
    (none done); another config where a done seed's record is in `other_config` (its (task,
    n_traj, algorithm, seed)): made with another config than the profile gives now, it says
    nothing of what the profile makes; no paper value where a `within_paper` cell has none,
    whatever is done."""
    planned = {(*cell[:3], seed) for target in targets for cell in target.cells for seed in cell[3]}
    own = runs[runs["profile"] == profile]
    keys = zip(own["task"], own["n_traj"], own["algorithm"], own["seed"], strict=True)
    judged = comparison_table(own[[key in planned for key in keys]], reference)
    judged = judged.set_index(["task", "n_traj", "algorithm"])
    in_paper = set(zip(reference["task"], reference["n_traj"], reference["algorithm"], strict=True))
    rows = []
    for target in targets:
        for task, n_traj, algo, seeds in target.cells:
            key = (task, n_traj, algo)
            cell = judged.loc[key] if key in judged.index else None
            done = 0 if cell is None else int(cell["seeds"])
            value = math.nan if cell is None else float(cell["normalized_return"])
            if target.at_least is not None:
                needs = target.at_least
            else:
                needs = math.nan if cell is None else cell["paper_normalized_return"]
                needs -= target.within_paper
            if target.within_paper is not None and key not in in_paper:
                verdict = "no paper value"
            elif cell is None:
                verdict = "not run"
            elif any((*key, seed) in other_config for seed in seeds):
                verdict = "another config"
            elif done < len(seeds):
                verdict = "partial"
            else:
                verdict = "met" if value >= needs else "not met"
            values = [target.name, task, n_traj, algo, done, len(seeds), value, needs, verdict]
            rows.append(dict(zip(TARGET_COLUMNS, values, strict=True)))
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)


def _apart(value: float, needs: float) -> tuple[str, str]:
    """Both at three digits, or at as many more (up to six) as it takes to tell them apart."""
    for digits in range(3, 7):
        shown = _fmt(value, digits), _fmt(needs, digits)
        if shown[0] != shown[1]:
            break
    return shown


def _targets_markdown(
    table: pd.DataFrame, targets: tuple[Target, ...], profile: str, labels: dict[str, str]
) -> str:
    parts = [
        f"# Quality targets: profile `{profile}`\n\n"
        "The profile's `[[target]]` blocks, judged on each cell's normalised return (expert 1, "
        "random 0; the mean over the cell's seeds, as in `comparison.md`) once every seed the "
        "profile runs of it is done. Three digits here, more where it takes more to tell a "
        "value from its bound. A cell with a record made with another config than the profile "
        "gives now (`make status` names the keys that differ) is shown, not judged: another "
        "config.\n"
    ]
    for target in targets:
        rows = table[table["target"] == target.name]
        verdicts = rows["verdict"].value_counts()
        unjudged = "".join(f", {verdicts[v]} {v}" for v in UNJUDGED if verdicts.get(v))
        parts.append(
            f"\n## {target.name}: met in {verdicts.get('met', 0)} of {len(rows)} cells"
            f"{unjudged}\n\nEach cell {target.bound}.\n\n"
            + markdown_table(
                ["Task", "Dataset size", "Algorithm", "Seeds", "Normalised", "Needs", "Verdict"],
                [
                    [
                        r.task,
                        str(r.n_traj),
                        labels.get(r.algorithm) or registry_label(r.algorithm),
                        f"{r.seeds} of {r.planned_seeds}",
                        *_apart(r.normalized_return, r.needs),
                        r.verdict,
                    ]
                    for r in rows.itertuples()
                ],
                right={1, 3, 4, 5},
            )
        )
    return "".join(parts)


def _write(out: Path, name: str, renderers: dict[str, Callable[[], str]]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, render in renderers.items():
        path = out / f"{name}.{suffix}"
        store.write_text(path, render())
        paths.append(path)
    return paths


def build_tables(
    profile: str,
    runs_dir: Path = RUNS_DIR,
    out_dir: Path = TABLES_DIR,
    reps: int = BOOTSTRAP_REPS,
    beside: str = "",
    targets: tuple[Target, ...] = (),
    other_config: frozenset = frozenset(),
) -> dict[str, pd.DataFrame]:
    """Read the finished runs of `profile` (and those of the profile `beside` it) and write
    `<out_dir>/<profile>/`: comparison.{csv,md,tex}, statistics.{csv,md}, cost.{csv,md}, and
    targets.{csv,md} where the profile has `targets` (`targets_table`: records in
    `other_config` are not judged; the comparison marks their cells, its csv counts them).
    Returns the tables by name (`comparison`, `statistics`, `cost`, and `targets` where
    written); each table's `attrs["paths"]` lists the files written from it."""
    runs = load_shown_runs(profile, Path(runs_dir), beside)
    labels = algorithm_labels(runs)
    reference = load_reference()
    out = Path(out_dir) / profile
    comparison = comparison_table(runs, reference)
    cells = zip(comparison["task"], comparison["n_traj"], comparison["algorithm"], strict=True)
    comparison["other_config"] = [sum(k[:3] == c for k in other_config) for c in cells]
    statistics = statistics_table(runs, reference, reps=reps, profile=profile)
    cost = cost_table(runs, profile)
    comparison.attrs["paths"] = _write(
        out,
        "comparison",
        {
            "csv": lambda: comparison.to_csv(index=False),
            "md": lambda: _comparison_markdown(comparison, profile, labels, other_config),
            "tex": lambda: _comparison_latex(comparison, profile, labels, other_config),
        },
    )
    statistics.attrs["paths"] = _write(
        out,
        "statistics",
        {
            "csv": lambda: statistics.to_csv(index=False),
            "md": lambda: _statistics_markdown(statistics, profile, reps, labels),
        },
    )
    cost.attrs["paths"] = _write(
        out,
        "cost",
        {
            "csv": lambda: cost.to_csv(index=False),
            "md": lambda: _cost_markdown(cost, profile, labels),
        },
    )
    tables = {"comparison": comparison, "statistics": statistics, "cost": cost}
    (out / "targets.md").unlink(missing_ok=True)  # from targets the profile no longer has
    (out / "targets.csv").unlink(missing_ok=True)
    if targets:
        judged = targets_table(runs, reference, profile, targets, other_config)
        judged.attrs["paths"] = _write(
            out,
            "targets",
            {
                "csv": lambda: judged.to_csv(index=False),
                "md": lambda: _targets_markdown(judged, targets, profile, labels),
            },
        )
        tables["targets"] = judged
    page = out / "results.md"
    store.write_text(page, results_page(profile, runs, out))
    cost.attrs["paths"].append(page)
    return tables


def _demoted(text: str) -> str:
    """Every heading one level down: a page's title becomes a section of another page."""
    lines = text.splitlines()
    return "\n".join("#" + line if line.startswith("#") else line for line in lines) + "\n"


def _relinked(text: str, written_in: Path, shown_in: Path) -> str:
    """Markdown written in one folder, its relative links fixed for a page in another."""

    def fix(match: re.Match) -> str:
        target = match.group(1)
        if "://" in target or target.startswith("#"):
            return match.group(0)
        return f"]({os.path.relpath(written_in / target, shown_in)})"

    return re.sub(r"\]\(([^)\s]+)\)", fix, text)


def results_page(profile: str, runs: pd.DataFrame, out: Path) -> str:
    """The profile's results in one page, from the tables just written beside it: Figure 1, the
    comparison with the paper, the statistics, the cost, and the notes per cell written by hand
    in docs/results-<profile>.md (findings, each with the command that measured it)."""

    def section(name: str) -> str:
        return _demoted((out / f"{name}.md").read_text())

    notes = DOCS_DIR / f"results-{profile}.md"
    parts = [
        f"# Results: profile `{profile}`\n\n"
        f"{len(runs)} runs; generated by `make tables PROFILE={profile}` from the records "
        f"(never edit by hand).\n\n![Figure 1](../../figures/{profile}/figure1.png)\n",
        section("comparison"),
        *([section("targets")] if (out / "targets.md").exists() else []),
        section("statistics"),
        section("cost"),
    ]
    if notes.exists():
        # Linked as from the reference's page: the same text wherever the page is written, and
        # a user's tables and figures mirror the reference's layout.
        text = _relinked(notes.read_text(), DOCS_DIR, store.REFERENCE_DIR / "tables" / profile)
        parts.append("## Notes per cell\n" + _demoted(text.split("\n", 1)[1]))  # not its title
    return "\n".join(parts)
