"""Observation columns that never varied in a run's training data, and whether they matter.

A policy's standardiser keeps the spread of every observation column it saw; a column that never
moved in the expert pairs (a contact force that stayed 0) reaches the network clipped at +-10
whenever it moves later. This counts those columns of each run's policy, then evaluates it as the
run did (50 deterministic episodes, seeds 10,000 + the run's seed) as it is and with those columns
held at their constant, and prints both normalised returns.
"""

import numpy as np

from benchmark.analyses import _common
from benchmark.experts import evaluate
from benchmark.tasks import get_task
from benchmark.training import single_threaded


class HeldConstant:
    """A policy that reads the given observation columns as fixed values."""

    def __init__(self, policy, columns: np.ndarray, values: np.ndarray):
        self.policy, self.columns, self.values = policy, columns, values.astype(np.float32)

    def actor(self, rng=None):
        act = self.policy.actor(rng)

        def held(obs: np.ndarray) -> np.ndarray:
            obs = np.array(obs, dtype=np.float32)
            obs[:, self.columns] = self.values
            return act(obs)

        return held


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("constant_inputs", __doc__)
    parser.add_argument(
        "run_names",
        metavar="run",
        nargs="*",
        default=["ant/bc/n4", "ant/bc/n25"],
        help="task/algo/nN[/sS]",
    )
    parser.add_argument("--episodes", type=int, default=50)
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    for name, algo, n_traj, seed, folder in _common.named_records(args):
        task = get_task(name)
        policy = _common.load_policy(folder, task)
        constant = (policy.obs_norm.sum_sq_dev == 0).numpy()
        columns = np.flatnonzero(constant)
        held = HeldConstant(policy, columns, policy.obs_norm.mean.numpy()[columns])
        with single_threaded():
            scores = [
                _common.normalize(
                    folder, evaluate(p, task, args.episodes, 10_000 + seed, True)["mean_return"]
                )
                for p in (policy, held)
            ]
        print(
            f"{name}/{algo}/n{n_traj}/s{seed}: {len(columns)} of {len(constant)} observation "
            f"columns constant; normalised {scores[0]:.2f} as it is, {scores[1]:.2f} with them held"
        )
