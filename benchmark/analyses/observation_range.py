"""The range of one observation column over a task's expert dataset (where does the expert go?).

CartPole's column 0 is the cart's position (the track ends at +-2.4): an expert trained on the
task's reward alone drifted to the edge, one trained with the centring bonus stays near the
middle. Prints the column's lowest and highest value over every observation of the dataset (the
subsampled pairs where the dataset keeps only those).
"""

from pathlib import Path

from benchmark.analyses import _common
from benchmark.datasets import DATASETS_DIR, load_dataset
from benchmark.tasks import get_task


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("observation_range", __doc__)
    parser.add_argument("--task", default="cartpole")
    parser.add_argument("--column", type=int, default=0)
    parser.add_argument("--datasets", type=Path, default=DATASETS_DIR, help="datasets folder")
    args = parser.parse_args(argv)
    task = get_task(args.task)
    dataset = load_dataset(task, args.datasets)
    whole = dataset.trajectories is not None
    obs = dataset.trajectories.obs if whole else dataset.pairs.obs
    column = obs[:, args.column]
    print(
        f"{task.name}: observation column {args.column} over {len(column):,} "
        f"{'observations' if whole else 'subsampled observations'} of "
        f"{dataset.card['num_trajectories']} trajectories: lowest {column.min():.2f}, "
        f"highest {column.max():.2f}"
    )
