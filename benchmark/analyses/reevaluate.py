"""Re-evaluates runs' saved policies on this machine, beside the result their record holds.

Same seed, same record on the same machine; on another CPU the simulator's and the BLAS's last
digits differ. This evaluates each run's `policy.pt` as the run did (50 episodes, deterministic
actions, environments seeded by 10,000 + the run's seed) and prints the new mean return beside the
recorded one, both also normalised; with --stochastic, also the mean return of the policy acting
by sampling (same seeds).
"""

from benchmark import store
from benchmark.analyses import _common
from benchmark.experts import evaluate
from benchmark.run import EVAL_EPISODES
from benchmark.tasks import get_task
from benchmark.training import single_threaded

DEFAULT_RUNS = ["cartpole/bc/n1", "hopper/gail/n4", "humanoid/bc/n80", "ant/bc/n4"]


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("reevaluate", __doc__)
    parser.add_argument(
        "run_names",
        metavar="run",
        nargs="*",
        default=DEFAULT_RUNS,
        help=f"task/algo/nN[/sS] (default {DEFAULT_RUNS})",
    )
    parser.add_argument("--stochastic", action="store_true", help="also act by sampling")
    parser.add_argument("--episodes", type=int, default=EVAL_EPISODES)
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    for name, algo, n_traj, seed, folder in _common.named_records(args):
        task, (_, recorded) = get_task(name), store.read_record(folder)
        policy = _common.load_policy(folder, task)
        modes = (True, False) if args.stochastic else (True,)
        with single_threaded():
            new = [
                evaluate(policy, task, args.episodes, 10_000 + seed, deterministic)["mean_return"]
                for deterministic in modes
            ]
        old = recorded["mean_return"]
        line = (
            f"{name}/{algo}/n{n_traj}/s{seed}: new {new[0]:.2f}, recorded {old:.2f} "
            f"(normalised {_common.normalize(folder, new[0]):.2f}, "
            f"{_common.normalize(folder, old):.2f})"
        )
        if args.stochastic:
            line += f"; stochastic {new[1]:.2f} ({_common.normalize(folder, new[1]):.2f})"
        print(line)
