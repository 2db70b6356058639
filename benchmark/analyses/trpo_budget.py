"""How far TRPO gets on a task's own reward at a given budget (iterations x pairs).

The scale for an imitation run at the same budget: if RL with the true reward is still far from
the expert after this many env steps, an imitation learner that must also learn its reward cannot
be expected to reach it. Trains the suite's TRPO (the learners' shared loop with the task's reward,
as a TRPO expert is trained) and prints the env steps and the last iteration's batch return (the
stochastic policy's mean episode return), normalised with the task's dataset.
"""

import tempfile
from pathlib import Path

from benchmark.analyses import _common
from benchmark.datasets import load_dataset
from benchmark.experts import TRPOExpertConfig, train_trpo_expert
from benchmark.tasks import get_task
from benchmark.training import single_threaded


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("trpo_budget", __doc__)
    parser.add_argument("--task", default="halfcheetah")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=20_000, help="pairs per iteration")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, help="checkpoint folder, to resume (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    task = get_task(args.task)
    dataset = load_dataset(task)
    cfg = TRPOExpertConfig(
        iterations=args.iterations, pairs_per_iteration=args.pairs, seed=args.seed
    )
    with tempfile.TemporaryDirectory() as tmp, single_threaded():
        _, history = train_trpo_expert(task, cfg, args.out or Path(tmp))
    last = history[-1]
    ret = last["charts/true_return"]
    print(
        f"{task.name}: TRPO on the task's reward, {args.iterations} iterations of {args.pairs:,} "
        f"pairs: {last['env_steps']:,} env steps, last batch return {ret:.1f} "
        f"(normalised {dataset.normalize(ret):.2f})"
    )
