"""Where runs' time went, per env step: each part of the loop and the whole run's CPU.

Reads each run's `metrics.csv` (the loop's `time/` columns: wall-clock seconds of each part of
an iteration, summed here over the run) and `eval.json` (`cpu_s`, `env_steps`); prints
microseconds per env step. Parts that grow alike between two runs point at the machine or its
load, not at the method (the simulator's share does not depend on the learner's settings).
"""

from benchmark import store
from benchmark.analyses import _common


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("time_split", __doc__)
    _common.add_runs_argument(parser, "hopper/gail/n4")
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    for task, algo, n_traj, seed, folder in _common.named_records(args):
        _, evaluation = store.read_record(folder)
        steps = evaluation["env_steps"]
        if not steps:
            print(f"{task}/{algo}/n{n_traj}/s{seed}: no env steps (BC learns offline)")
            continue
        metrics = _common.metrics(folder)
        parts = [
            f"{column.removeprefix('time/').removesuffix('_s')} "
            f"{metrics[column].sum() / steps * 1e6:.1f}"
            for column in metrics.columns
            if column.startswith("time/")
        ]
        print(
            f"{task}/{algo}/n{n_traj}/s{seed}: us per env step over {steps:,} steps: "
            f"CPU {evaluation['cpu_s'] / steps * 1e6:.1f}; wall-clock " + ", ".join(parts)
        )
