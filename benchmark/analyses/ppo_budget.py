"""How far the PPO generator of GAIL (PPO) and AIRL gets on a task's own reward, with a profile's
settings: the scale for those learners, as `trpo_budget` is for the paper's.

The modern learners' loop (`gail_ppo.AdversarialPPO`: the same sampling, the reward divided by its
running std and, where the profile says, less its running mean, the same PPO update, the
standardisers started from the expert's observations) with the environment's reward in place of
the discriminator's. If it does not reach the expert in a budget, a learner that must also learn
its reward there cannot be expected to; if it does and the learner does not, the cause is in the
reward the learner is given. Prints the env steps, the last batch's return (the stochastic policy's
mean episode return) and the final policy's deterministic return over 10 episodes, normalised with
the task's dataset.
"""

from dataclasses import replace

import numpy as np
from tqdm import tqdm

from algorithms.data import Trajectories
from algorithms.gail_ppo import AdversarialPPO, GAILDiscriminator, GAILPPOConfig
from benchmark.analyses import _common
from benchmark.datasets import load_dataset
from benchmark.experts import evaluate
from benchmark.profiles import load_profile
from benchmark.tasks import get_task
from benchmark.training import single_threaded


class TaskRewardPPO(AdversarialPPO):
    """The modern learners' loop rewarded by the environment; its discriminator is never fit."""

    def learned_reward(self, batch: Trajectories) -> np.ndarray:
        return batch.rewards

    def _fit_discriminator(self) -> dict[str, float]:
        return {}


def trainer(task, profile_name: str, algo: str, n_traj: int, rounds: int | None, seed: int):
    """The loop with `algo`'s settings on `task` under the profile (its rounds unless given)."""
    profile = load_profile(profile_name)
    cfg = profile.config(algo, task)
    cfg = replace(cfg, iterations=rounds or cfg.iterations)
    expert = load_dataset(task, profile.datasets_dir).expert_pairs(n_traj)

    def make_discriminator(pairs, action_space):  # built, never fit (any learner's settings)
        return GAILDiscriminator(pairs, action_space, task.ends_on_success, GAILPPOConfig())

    return TaskRewardPPO(task.env_id, expert, make_discriminator, cfg, seed, 1, task.fixed_length)


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("ppo_budget", __doc__)
    parser.add_argument("--task", default="reacher")
    parser.add_argument("--profile", default="modern", help="a profile name or .toml file")
    parser.add_argument("--algo", default="gail_ppo", help="the learner whose settings to take")
    parser.add_argument("--rounds", type=int, help="default: the profile's for the task")
    parser.add_argument("--n-traj", type=int, default=4, help="expert trajectories (standardisers)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    task = get_task(args.task)
    dataset = load_dataset(task, load_profile(args.profile).datasets_dir)
    loop = trainer(task, args.profile, args.algo, args.n_traj, args.rounds, args.seed)
    with single_threaded():
        for _ in tqdm(range(loop.iterations), desc=f"ppo_budget {task.name}", unit="round"):
            last = loop.iterate()
        final = evaluate(loop.final_policy(), task, 10, 10_000 + args.seed, deterministic=True)
    batch, det = last["charts/true_return"], final["mean_return"]
    print(
        f"{task.name}: PPO on the task's reward with {args.algo}'s settings in profile "
        f"{load_profile(args.profile).name}, {loop.iterations} rounds: {loop.env_steps:,} env "
        f"steps, last batch return {batch:.1f} (normalised {dataset.normalize(batch):.2f}), "
        f"final policy {det:.1f} (normalised {dataset.normalize(det):.2f})"
    )
