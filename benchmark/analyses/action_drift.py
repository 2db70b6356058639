"""How far a run's final policy acts from the expert's mean action: on the pairs it learned from,
on fresh expert episodes, and on the policy's own episodes, by time within the episode.

The error is the squared distance between the two actions as the simulator executes them
(clipped to the action box), summed over the action's dimensions (BC's validation error is the
same without the clip), at each visited state, the expert's action asked of the committed expert.
Two scales in the same unit: the expert's own noise (its sampled actions, as the dataset holds
them, against its mean, on the fresh episodes), and the spread of its mean action over the pairs
(the error of the best constant action). A policy close to the expert on the expert's states that
drifts away on its own, step after step, before its episodes end early, fails by compounding
error (BC's covariate shift); one already far on the expert's states, by a poor fit; an imitator
of occupancy (GAIL) may score well far from the expert's actions, by another gait. Expert
episodes sample its actions as the dataset did; the policy's act deterministically, as the
evaluation does (environments seeded from 10,000 + the run's seed). Continuous actions only.
"""

import numpy as np

from algorithms.errors import UserInputError
from algorithms.policies import GaussianPolicy
from algorithms.rollout import Sampler, env_spaces
from benchmark.analyses import _common
from benchmark.experts import load_expert
from benchmark.paper_experts import PaperExpert
from benchmark.tasks import get_task


def squared_error(actions: np.ndarray, reference: np.ndarray, box) -> np.ndarray:
    """Per row: the squared distance of the two actions as executed, clipped to `box` (an action
    space: `low`, `high`), summed over the action's dimensions."""
    return ((clipped(actions, box) - clipped(reference, box)) ** 2).sum(axis=-1)


def clipped(actions: np.ndarray, box) -> np.ndarray:
    return np.clip(actions, box.low, box.high)


def by_window(errors: np.ndarray, lengths: np.ndarray, window: int) -> list[tuple[int, float, int]]:
    """(first step, mean error, episodes still running) per window of `window` steps of episode
    time, over the episodes concatenated in `errors` with the given lengths."""
    step = np.concatenate([np.arange(n) for n in lengths])
    rows = []
    for start in range(0, int(lengths.max()), window):
        inside = (step >= start) & (step < start + window)
        rows.append((start, float(errors[inside].mean()), int((lengths > start).sum())))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("action_drift", __doc__)
    parser.add_argument("run", help="task/algo/nN[/sS], e.g. ant/bc/n25/s1")
    parser.add_argument("--episodes", type=int, default=4, help="episodes of each to roll out")
    parser.add_argument("--window", type=int, default=100, help="steps of episode time per row")
    _common.add_record_options(parser)
    _common.add_dataset_option(parser)
    args = parser.parse_args(argv)
    task_name, algo, n_traj, seed, folder = _common.named_record(args, args.run)
    task = get_task(task_name)
    policy = _common.load_policy(folder, task)
    dataset = _common.run_dataset(args, folder, task)
    expert = load_expert(task, path=dataset.expert_path())  # the one its demonstrations came from
    if not isinstance(policy, GaussianPolicy) or not isinstance(
        expert, GaussianPolicy | PaperExpert
    ):
        raise UserInputError(
            f"action_drift measures continuous actions against a Gaussian expert; {task.name} has "
            "discrete actions or a squashed expert (retrain it with `make experts`)"
        )
    act, expert_mean = policy.actor(None), expert.actor(None)
    _, box = env_spaces(task.env_id)
    learned = dataset.expert_pairs(n_traj).obs
    with Sampler(task.env_id, num_envs=args.episodes, seed=10_000 + seed, num_threads=1) as envs:
        fresh = envs.collect(expert.actor(np.random.default_rng(seed)), min_episodes=args.episodes)
        own = envs.collect(act, min_episodes=args.episodes)
    noise = squared_error(fresh.actions, expert_mean(fresh.obs), box).mean()
    spread = float(clipped(expert_mean(learned), box).var(axis=0).sum())
    on_learned, on_fresh, on_own = (
        squared_error(act(obs), expert_mean(obs), box) for obs in (learned, fresh.obs, own.obs)
    )
    ends = [f"{n}" for n, term in zip(own.lengths, own.terminated, strict=True) if term]
    print(
        f"{task.name}/{algo}/n{n_traj}/s{seed}: squared error to the expert's mean action, summed "
        f"over {expert.act_dim} dimensions"
    )
    print(f"  the expert's own noise: {noise:.3f}; the best constant action: {spread:.3f}")
    print(f"  on the {len(learned):,} pairs it learned from: {on_learned.mean():.3f}")
    fresh_steps = f"{len(fresh.obs):,} steps"
    print(f"  on {args.episodes} fresh expert episodes ({fresh_steps}): {on_fresh.mean():.3f}")
    ended = f": at steps {', '.join(ends)}" if ends else ""
    print(
        f"  on {args.episodes} of its own episodes ({len(own.obs):,} steps; {len(ends)} ended "
        f"early{ended}): {on_own.mean():.3f}"
    )
    expert_rows = {s: e for s, e, _ in by_window(on_fresh, fresh.lengths, args.window)}
    for start, error, running in by_window(on_own, own.lengths, args.window):
        beside = expert_rows.get(start)
        print(
            f"    steps {start}-{start + args.window - 1}: {error:.3f} ({running} running)"
            + (f"; on the expert's {beside:.3f}" if beside is not None else "")
        )
