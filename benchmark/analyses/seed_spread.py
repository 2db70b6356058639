"""Seed-to-seed spread of a profile's cells: the standard deviation of the normalised return over
each cell's seeds, summarised over the cells that have more than one seed.

The reproduction report's tolerance (`benchmark/reproduction.py`) rests on this: a record made on
another machine is another draw of the same method, so cells agree when they differ by no more
than the method's spread between seeds.
"""

from benchmark.analyses import _common
from benchmark.records import load_runs


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("seed_spread", __doc__)
    _common.add_record_options(parser)
    parser.add_argument(
        "--cells", action="store_true", help="also each cell's values by seed, mean and std"
    )
    args = parser.parse_args(argv)
    runs = load_runs(args.profile, _common.records_folder(args))
    cells = runs.groupby(["task", "algorithm", "n_traj"])["normalized_return"]
    spread = cells.std(ddof=1).dropna()
    if spread.empty:
        print(f"profile {args.profile}: no cell has more than one seed")
        return
    seeds = cells.size()[spread.index]
    if args.cells:
        means = cells.mean()
        for key in spread.index:
            values = " / ".join(f"{v:.2f}" for v in cells.get_group(key).sort_index())
            print(
                f"{key[0]}/{key[1]}/n{key[2]}: {values} (mean {means[key]:.2f}, "
                f"std {spread[key]:.3f})"
            )
    task, algo, n_traj = spread.idxmax()
    print(
        f"profile {args.profile}: {len(spread)} cells with {seeds.min()}-{seeds.max()} seeds; "
        f"standard deviation of the normalised return over seeds: median "
        f"{spread.median():.3f}, 90th percentile {spread.quantile(0.9):.3f}, largest "
        f"{spread.max():.3f} ({task}/{algo}/n{n_traj})"
    )
