"""Where a run's final policy goes that the expert does not: the observation columns whose means
differ most between the two, in the expert's standard deviations.

The expert's side is the pairs the run learned from (its first N trajectories, subsampled); the
policy's side is every step of a few episodes of its final policy (deterministic actions, as the
evaluation acts; environments seeded from 10,000 + the run's seed). A policy that scores below
the expert while its discriminator still tells the expert's pairs apart has found other states:
a slower gait shows first in the forward velocity (Hopper's column 5, Walker2d's and
HalfCheetah's 8, Ant's 13), a different posture in the angles before it.
"""

import numpy as np

from algorithms.rollout import Sampler
from benchmark.analyses import _common
from benchmark.tasks import get_task


def gaps(expert: np.ndarray, policy: np.ndarray) -> np.ndarray:
    """Per column: (policy mean - expert mean) / expert std (a constant expert column: std 1)."""
    spread = expert.std(axis=0)
    return (policy.mean(axis=0) - expert.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("state_gap", __doc__)
    parser.add_argument("run", help="task/algo/nN[/sS], e.g. walker/gail_ppo/n4")
    parser.add_argument("--episodes", type=int, default=4, help="policy episodes to roll out")
    parser.add_argument("--top", type=int, default=5, help="columns to print, largest gap first")
    _common.add_record_options(parser)
    _common.add_dataset_option(parser)
    args = parser.parse_args(argv)
    task_name, algo, n_traj, seed, folder = _common.named_record(args, args.run)
    task = get_task(task_name)
    act = _common.load_policy(folder, task).actor(None)
    expert = _common.run_dataset(args, folder, task).expert_pairs(n_traj).obs
    with Sampler(task.env_id, num_envs=args.episodes, seed=10_000 + seed, num_threads=1) as envs:
        visited = envs.collect(act, min_episodes=args.episodes).obs
    gap = gaps(expert, visited)
    print(
        f"{task.name}/{algo}/n{n_traj}/s{seed}: {len(visited):,} policy steps against "
        f"{len(expert):,} expert pairs; largest gaps (policy - expert, in expert std):"
    )
    for column in np.argsort(-np.abs(gap))[: args.top]:
        print(
            f"  column {column}: expert {expert[:, column].mean():.3f} "
            f"+- {expert[:, column].std():.3f}, policy {visited[:, column].mean():.3f} "
            f"+- {visited[:, column].std():.3f}, gap {gap[column]:+.2f}"
        )
