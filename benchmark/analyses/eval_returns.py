"""Runs' recorded evaluation episodes: mean, median, lowest and highest return, normalised mean.

Reads each run's `eval.json` (its 50 deterministic evaluation episodes); trains nothing. A median
far below the expert's with a few high returns says most episodes end early (a fall).
"""

import numpy as np

from benchmark import store
from benchmark.analyses import _common


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("eval_returns", __doc__)
    _common.add_runs_argument(parser, "ant/bc/n25")
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    for task, algo, n_traj, seed, folder in _common.named_records(args):
        _, evaluation = store.read_record(folder)
        returns = np.asarray(evaluation["returns"], dtype=float)
        normalized = _common.normalize(folder, float(returns.mean()))
        print(
            f"{task}/{algo}/n{n_traj}/s{seed}: {len(returns)} episodes, mean {returns.mean():.1f} "
            f"(normalised {normalized:.2f}), median {np.median(returns):.1f}, "
            f"lowest {returns.min():.1f}, highest {returns.max():.1f}"
        )
