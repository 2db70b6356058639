"""The suite's command line: `python -m benchmark <command> ...` (the Makefile calls this)."""

import argparse
import json
import sys
import warnings

from algorithms.errors import UserInputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    tasks = commands.add_parser("tasks", help="list the nine tasks and their protocol")
    tasks.set_defaults(func=_tasks)

    expert = commands.add_parser("expert", help="train experts")
    expert_cmds = expert.add_subparsers(dest="expert", required=True)
    train = expert_cmds.add_parser("train", help="train (or resume) a task's expert with TRPO")
    train.add_argument("--task", required=True)
    train.add_argument("--iterations", type=int, help="default: the task's paper budget")
    train.add_argument("--pairs", type=int, help="pairs per iteration (default: the paper's)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default="results/experts")
    train.set_defaults(func=_expert_train)

    bench = commands.add_parser("bench", help="speed benchmarks (last line: JSON)")
    which = bench.add_subparsers(dest="bench", required=True)
    rollout = which.add_parser("rollout", help="simulator limit vs sampler vs gymnasium")
    rollout.add_argument("--task", default="Hopper-v5")
    rollout.add_argument("--num-envs", type=int, default=16)
    rollout.add_argument("--steps", type=int, default=150_000, help="sampler steps to time")
    rollout.add_argument("--rounds", type=int, default=5)
    rollout.set_defaults(func=_bench_rollout)
    return parser


def _tasks(args) -> None:
    from benchmark.tasks import TASKS

    for t in TASKS.values():
        print(
            f"{t.name:12s} {t.env_id:15s} sizes={list(t.dataset_sizes)} "
            f"subsample={t.subsample_every} iterations={t.iterations} "
            f"pairs/iter={t.pairs_per_iteration}  {t.notes}"
        )


def _expert_train(args) -> None:
    from pathlib import Path

    from benchmark.experts import ExpertConfig, save_expert, train_expert
    from benchmark.tasks import get_task

    task = get_task(args.task)
    cfg = ExpertConfig(
        iterations=args.iterations or task.iterations,
        pairs_per_iteration=args.pairs or task.pairs_per_iteration,
        seed=args.seed,
    )
    out_dir = Path(args.out) / task.name
    card = save_expert(train_expert(task, cfg, out_dir), task, cfg, out_dir)
    summary = {k: card[k] for k in ("task", "env_id", "env_steps", "wall_s")}
    for mode in ("deterministic", "stochastic"):
        summary[f"{mode}_mean_return"] = card[mode]["mean_return"]
    print(json.dumps(summary))


def _bench_rollout(args) -> None:
    from benchmark.bench import bench_rollout

    print(json.dumps(bench_rollout(args.task, args.num_envs, args.steps, args.rounds)))


def main(argv: list[str] | None = None) -> int:
    # EnvPool builds float64 Box spaces that gymnasium warns about on every creation.
    warnings.filterwarnings("ignore", message=".*precision lowered by casting.*")
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
