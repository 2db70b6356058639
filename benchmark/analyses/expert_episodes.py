"""How a task's expert episodes end: full length or early, and the lowest returns.

From the dataset's card (every trajectory's return and length): how many trajectories last the
time limit and the lowest returns. From the expert's card (its 50 evaluation episodes, acting by
sampling and deterministically): the mean return and, with --below R, how many episodes score
below R. An expert that falls now and then gives learners fewer full-length examples.
"""

from pathlib import Path

import numpy as np

from benchmark import store
from benchmark.analyses import _common
from benchmark.datasets import DATASETS_DIR, load_dataset
from benchmark.tasks import get_task


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("expert_episodes", __doc__)
    parser.add_argument("--task", default="ant")
    parser.add_argument("--lowest", type=int, default=2, help="how many lowest returns to print")
    parser.add_argument("--below", type=float, help="count the card's episodes below this return")
    parser.add_argument(
        "--experts", type=Path, default=store.RESULTS_DIR / "experts", help="experts folder"
    )
    parser.add_argument("--datasets", type=Path, default=DATASETS_DIR, help="datasets folder")
    args = parser.parse_args(argv)
    task = get_task(args.task)
    card = load_dataset(task, args.datasets).card
    lengths, returns = np.asarray(card["lengths"]), np.sort(card["returns"])
    lowest = ", ".join(f"{r:.0f}" for r in returns[: args.lowest])
    full = int((lengths == task.time_limit).sum())
    print(
        f"{task.name} dataset: {len(lengths)} trajectories, {full}"
        f" last the time limit ({task.time_limit} steps); lowest returns {lowest}"
    )
    expert = store.read_json(args.experts / task.name / "card.json")
    for mode in ("stochastic", "deterministic"):
        episodes = np.asarray(expert[mode]["returns"])
        line = (
            f"{task.name} expert card, {mode}: {len(episodes)} episodes, mean {episodes.mean():.1f}"
        )
        if args.below is not None:
            line += f", {int((episodes < args.below).sum())} below {args.below:g}"
        print(line)
