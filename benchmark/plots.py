"""Figures from run records (seaborn on matplotlib's Agg backend; PNG and PDF), never training.

- `figure1`: the paper's Figure 1: normalised return (expert 1, random 0, dashed) against the
  number of expert trajectories, one panel per task, one line per algorithm; bars: 95% Student-t
  interval over seeds (none with one seed); hollow markers of the same colour: the paper's values
  (normalised with its expert score and our random score, see `benchmark.statistics`).
- `learning_curves_env_steps` / `learning_curves_wall_clock`: normalised return of the sampled
  policy (DAgger's: its rounds' mixture with the expert) at each iteration of every learner but
  BC, against environment steps and against training wall-clock seconds; mean over seeds per
  iteration; colour = algorithm, line style = dataset size. BC takes no environment steps and
  logs no returns while training: its final (evaluated) normalised return is a thin horizontal
  line.

Any subset of tasks, algorithms and dataset sizes works; panels follow the task registry's order,
algorithms and their labels `benchmark.records.algorithm_labels`. Files are written through
`benchmark.store` (atomic).
"""

import io
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from benchmark import store  # noqa: E402
from benchmark.records import (  # noqa: E402
    RUNS_DIR,
    algorithm_labels,
    dataset_sizes,
    load_curves,
    load_reference,
    load_shown_runs,
    registered_algorithms,
)
from benchmark.statistics import comparison_table, learner_groups  # noqa: E402
from benchmark.tasks import TASKS  # noqa: E402

FIGURES_DIR = store.RESULTS_DIR / "figures"
LINESTYLES = ("-", "--", "-.", (0, (1, 1)), (0, (5, 1, 1, 1, 1, 1)))
MAX_COLUMNS = 5
X_LABELS = {"env_steps": "environment steps", "wall_s": "training wall-clock seconds"}


def algorithm_colors(algorithms) -> dict[str, tuple]:
    """The same colour for an algorithm in every figure (colour-blind palette): every registered
    learner has its place, present or not; then the others of `algorithms`, in their order."""
    registered = registered_algorithms()
    names = registered + [a for a in dict.fromkeys(algorithms) if a not in registered]
    palette = sns.color_palette("colorblind", max(len(names), 10))
    # The palette's pink (6) is hard to tell from its purple (4) beside it: it goes last.
    order = [0, 1, 2, 3, 4, 5, 7, 9, 8, 6] + list(range(10, len(palette)))
    return dict(zip(names, (palette[i] for i in order), strict=False))


def _task_order(tasks) -> list[str]:
    present = set(tasks)
    return [t for t in TASKS if t in present] + sorted(present - set(TASKS))


def _panels(n: int, title: str):
    """A grid of n panels (at most MAX_COLUMNS a row) under a title wrapped to the width."""
    columns = min(n, MAX_COLUMNS)
    rows = -(-n // columns)
    width = max(3.4 * columns, 7.5)
    fig, axes = plt.subplots(rows, columns, figsize=(width, 2.9 * rows + 1.3), squeeze=False)
    for ax in axes.flat[n:]:
        ax.remove()
    fig.suptitle(textwrap.fill(title, width=int(width * 12)), fontsize=10)
    return fig, list(axes.flat[:n])


def _legend(fig: plt.Figure, handles: list) -> None:
    columns = len(handles) if fig.get_figwidth() > 12 else min(len(handles), 3)
    fig.legend(handles=handles, loc="lower center", ncol=max(columns, 1), frameon=False)


def _task_title(task: str) -> str:
    return f"{task} ({TASKS[task].env_id})" if task in TASKS else task


def figure1(
    comparison: pd.DataFrame,
    profile: str,
    labels: dict[str, str],
    interactive: frozenset = frozenset(),
) -> plt.Figure:
    """Normalised return vs dataset size per task; ours with 95% CI bars, the paper's hollow.
    `labels`: {algorithm: label} in table order (`benchmark.records.algorithm_labels`);
    `interactive`: the algorithms that query the expert, dotted so that no one reads them as
    learning from the demonstrations alone."""
    tasks = _task_order(comparison["task"])
    colors = algorithm_colors(labels)
    styles = {a: ":" if a in interactive else "-" for a in colors}
    fig, axes = _panels(
        len(tasks),
        f"Normalised return vs number of expert trajectories (profile {profile}); "
        "bars: 95% CI over seeds; hollow markers: the paper"
        + ("; dotted: queries the expert" if interactive else ""),
    )
    for ax, task in zip(axes, tasks, strict=True):
        _figure1_panel(ax, task, comparison[comparison["task"] == task], colors, styles)
    handles = [
        Line2D(
            [], [], color=colors[a], linestyle=styles[a], marker="o", markersize=4, label=labels[a]
        )
        for a in colors
        if a in set(comparison["algorithm"])
    ]
    handles += [
        Line2D(
            [],
            [],
            color="0.3",
            marker="o",
            markersize=9,
            markerfacecolor="none",
            linestyle="none",
            label="paper (Ho & Ermon 2016)",
        ),
        Line2D([], [], color="0.4", linestyle="--", label="expert (1) / random (0)"),
    ]
    _legend(fig, handles)
    fig.tight_layout(rect=(0, 0.1, 1, 0.93))
    return fig


def _figure1_panel(
    ax: plt.Axes, task: str, cells: pd.DataFrame, colors: dict, styles: dict
) -> None:
    """One task of figure 1: each algorithm's cells with their intervals, the paper's hollow."""
    ax.axhline(1.0, color="0.4", linestyle="--", linewidth=0.9)
    ax.axhline(0.0, color="0.4", linestyle="--", linewidth=0.9)
    for algo in colors:
        mine = cells[cells["algorithm"] == algo].sort_values("n_traj")
        if mine.empty:
            continue
        y = mine["normalized_return"].to_numpy()
        errors = np.stack([y - mine["normalized_ci_low"], mine["normalized_ci_high"] - y])
        ax.errorbar(
            mine["n_traj"],
            y,
            yerr=np.nan_to_num(errors),
            color=colors[algo],
            linestyle=styles[algo],
            marker="o",
            markersize=4,
            linewidth=1.4,
            capsize=3,
        )
        paper = mine.dropna(subset=["paper_normalized_return"])
        ax.plot(
            paper["n_traj"],
            paper["paper_normalized_return"],
            linestyle="none",
            marker="o",
            markersize=9,
            markerfacecolor="none",
            markeredgecolor=colors[algo],
            markeredgewidth=1.2,
        )
    sizes = dataset_sizes(task, cells["n_traj"])
    pad = max(0.06 * (sizes[-1] - sizes[0]), 0.5)
    ax.set_xticks(sizes)
    ax.set_xlim(sizes[0] - pad, sizes[-1] + pad)
    ax.set_title(_task_title(task), fontsize=9)
    ax.set_xlabel("expert trajectories")
    ax.set_ylabel("normalised return")


def learning_curves(curves: pd.DataFrame, runs: pd.DataFrame, x: str, profile: str) -> plt.Figure:
    """Normalised return vs `x` (`env_steps` or `wall_s`), one line per algorithm and dataset
    size (mean over seeds per iteration); BC's final score as a horizontal line."""
    tasks = _task_order(runs["task"])
    labels = algorithm_labels(runs)
    colors = algorithm_colors(labels)
    xlabel = X_LABELS[x]
    fig, axes = _panels(
        len(tasks),
        f"Learning curves (profile {profile}): normalised return of the sampled policy vs "
        f"{xlabel}; mean over seeds. BC (no env steps): final score, thin horizontal line",
    )
    mean = curves.groupby(["task", "algorithm", "n_traj", "iteration"], as_index=False)[
        ["env_steps", "wall_s", "normalized_return"]
    ].mean()
    finals = runs[runs["learner"] == "bc"]
    bc = finals.groupby(["task", "algorithm", "n_traj"])["normalized_return"].mean()
    for ax, task in zip(axes, tasks, strict=True):
        _curves_panel(ax, task, runs, mean, bc, colors, x)
    present = set(runs["algorithm"])
    handles = [
        Line2D(
            [],
            [],
            color=colors[a],
            label=labels[a] + (" (final)" if a in set(finals["algorithm"]) else ""),
            linewidth=0.9 if a in set(finals["algorithm"]) else 1.4,
        )
        for a in colors
        if a in present
    ]
    _legend(fig, handles)
    fig.tight_layout(rect=(0, 0.1, 1, 0.93))
    return fig


def _curves_panel(
    ax: plt.Axes,
    task: str,
    runs: pd.DataFrame,
    mean: pd.DataFrame,
    bc: pd.Series,
    colors: dict,
    x: str,
) -> None:
    """One task of the learning curves: a line per algorithm and dataset size, BC's final
    score flat; the dataset sizes by line style, in a legend when there are several."""
    xlabel = X_LABELS[x]
    sizes = dataset_sizes(task, runs.loc[runs["task"] == task, "n_traj"])
    style = {n: LINESTYLES[i % len(LINESTYLES)] for i, n in enumerate(sizes)}
    ax.axhline(1.0, color="0.6", linestyle=":", linewidth=0.8)
    ax.axhline(0.0, color="0.6", linestyle=":", linewidth=0.8)
    shown = set()
    for (algo, n_traj), line in mean[mean["task"] == task].groupby(["algorithm", "n_traj"]):
        line = line.sort_values("iteration")
        ax.plot(
            line[x],
            line["normalized_return"],
            color=colors[algo],
            linestyle=style[n_traj],
            linewidth=1.2,
        )
        shown.add(n_traj)
    for (bc_task, algo, n_traj), value in bc.items():
        if bc_task == task:
            ax.axhline(value, color=colors[algo], linestyle=style[n_traj], linewidth=0.9, alpha=0.8)
            shown.add(n_traj)
    _size_legend(ax, shown, style)
    if x == "env_steps":
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    ax.set_title(_task_title(task), fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("normalised return")


def _size_legend(ax: plt.Axes, shown: set, style: dict) -> None:
    """The line style of each dataset size drawn; just `n=...` in a corner when only one."""
    if len(shown) > 1:
        ax.legend(
            handles=[
                Line2D([], [], color="0.3", linestyle=style[n], label=f"n={n}")
                for n in sorted(shown)
            ],
            fontsize=7,
            frameon=False,
            loc="best",
        )
    elif shown:
        ax.text(
            0.98, 0.03, f"n={next(iter(shown))}", transform=ax.transAxes, ha="right", fontsize=7
        )


def save_figure(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    """`out_dir/name.png` and `.pdf`, rendered in memory and written by `store.write_bytes`
    (atomic); no software version or date in them, so the same records give the same bytes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt, metadata in [("png", {"Software": None}), ("pdf", {"CreationDate": None})]:
        path = out_dir / f"{name}.{fmt}"
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=150, metadata=metadata)
        store.write_bytes(path, buffer.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def build_figures(
    profile: str, runs_dir: Path = RUNS_DIR, out_dir: Path = FIGURES_DIR, beside: str = ""
) -> list[Path]:
    """Read the finished runs of `profile` (and those of the profile `beside` it) and write
    `<out_dir>/<profile>/`: figure1, learning_curves_env_steps and learning_curves_wall_clock,
    each as PNG and PDF."""
    runs = load_shown_runs(profile, Path(runs_dir), beside)
    labels = algorithm_labels(runs)
    comparison = comparison_table(runs, load_reference())
    curves = load_curves(runs)
    out = Path(out_dir) / profile
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        groups = learner_groups(runs)
        interactive = frozenset(a for a, group in groups.items() if group == "interactive")
        paths = save_figure(figure1(comparison, profile, labels, interactive), out, "figure1")
        for x, name in [
            ("env_steps", "learning_curves_env_steps"),
            ("wall_s", "learning_curves_wall_clock"),
        ]:
            paths += save_figure(learning_curves(curves, runs, x, profile), out, name)
    return paths
