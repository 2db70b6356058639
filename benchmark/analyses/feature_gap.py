"""How far FEM's and GTAL's policies stay from the expert's feature expectations over a run.

FEM records the norm of the gap between the expert's and the batch's mean features
(`losses/feature_gap`), GTAL the largest shortfall over its features (`losses/largest_shortfall`),
both in the expert-standardised features the reward is linear in. A column the expert never moves
is standardised by the floor alone (`std_floor`), so a policy that moves it makes these
numbers huge: compare a task's runs with another task's to see whether such columns dominate.
Prints each run's first, median and last value over its iterations.
"""

from algorithms.errors import UserInputError
from benchmark.analyses import _common

COLUMNS = ("losses/feature_gap", "losses/largest_shortfall")


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("feature_gap", __doc__)
    _common.add_runs_argument(parser, "ant/fem/n4 hopper/gtal/n25")
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    for task, algo, n_traj, seed, folder in _common.named_records(args):
        metrics = _common.metrics(folder)
        column = next((c for c in COLUMNS if c in metrics.columns), None)
        if column is None:
            raise UserInputError(
                f"{task}/{algo}/n{n_traj}/s{seed} records no feature gap (not a FEM or GTAL "
                "run); name one of those"
            )
        values = metrics[column]
        print(
            f"{task}/{algo}/n{n_traj}/s{seed}: {column.split('/')[1].replace('_', ' ')} first "
            f"{values.iloc[0]:.3g}, median {values.median():.3g}, last {values.iloc[-1]:.3g} "
            f"over {len(values)} iterations"
        )
