"""The normalised return of runs' sampled batches at chosen iterations: is a curve still rising?

Reads each run's `metrics.csv` column `charts/normalized_return` (the stochastic policy's batch
return on the record's scale: expert 1, random 0) and prints its value at the iterations asked
for and, with --span-from, its lowest and highest value from that iteration on.
"""

from algorithms.errors import UserInputError
from benchmark.analyses import _common


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("batch_returns", __doc__)
    _common.add_runs_argument(parser, "walker/fem/n18 walker/gtal/n11")
    parser.add_argument("--at", type=int, nargs="*", default=[], help="iterations to print")
    parser.add_argument("--span-from", type=int, help="also print min and max from this iteration")
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    for task, algo, n_traj, seed, folder in _common.named_records(args):
        curve = _common.metrics(folder)["charts/normalized_return"]
        outside = [str(i) for i in args.at if i not in curve.index]
        if outside:
            raise UserInputError(
                f"{task}/{algo}/n{n_traj}/s{seed} recorded iterations {curve.index.min()} to "
                f"{curve.index.max()}; --at {' '.join(outside)} is outside them"
            )
        parts = [f"at {i}: {curve.loc[i]:.2f}" for i in args.at]
        if args.span_from is not None:
            tail = curve.loc[args.span_from :]
            parts.append(f"from {args.span_from} on: {tail.min():.2f} to {tail.max():.2f}")
        print(f"{task}/{algo}/n{n_traj}/s{seed}: " + ", ".join(parts))
