"""The outer loop that FEM, GTAL and GAIL share; each method brings only its reward model.

One iteration (the paper's, shared/paper/protocol.md):
  1. sample whole trajectories until at least `pairs_per_iteration` pairs,
  2. reward every pair with the reward model fitted in the previous iteration,
  3-5. GAE, one TRPO step, update the policy's observation standardiser,
  6. fit the reward model on this batch against the expert pairs,
  7. fit the value function to the discounted returns of the refitted reward.

Each iteration samples from environments seeded by (seed, iteration), so the learner's state
(`state_dict`) is all a checkpoint needs: a resumed run ends exactly like an uninterrupted one.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import torch

from algorithms.data import Pairs, Trajectories
from algorithms.policies import make_policy
from algorithms.rollout import Sampler, env_spaces
from algorithms.trpo import TRPOConfig, ValueFunction, fit_value, improve_policy


@dataclass(frozen=True)
class LoopConfig:
    iterations: int
    """Outer iterations (the paper: 300 classic, 200 Reacher, 500 MuJoCo, 1,500 Humanoid)."""
    pairs_per_iteration: int
    """Pairs sampled per iteration, whole trajectories (the paper: 5,000 classic, else 50,000)."""
    num_envs: int = 16
    """Parallel environments of the sampler (does not change the algorithm, only the speed)."""
    causal_entropy: float = 0.0
    """Weight of -log pi(a|s) added to every reward (the paper: 0, Reacher sweep up to 1e-2)."""
    trpo: TRPOConfig = TRPOConfig()


class RewardModel(Protocol):
    """What the loop needs of a method: a reward for pairs, refitted once per iteration."""

    def reward(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray: ...

    def fit(self, batch: Trajectories, expert: Pairs, rng: np.random.Generator) -> dict: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


class ImitationLoop:
    """The learner of one run: `make_reward(expert, action_space, ends_on_success, seed)` builds
    the method's reward model (fem.FEMReward, gtal.GTALReward, gail.GAILReward)."""

    def __init__(
        self,
        env_id: str,
        time_limit: int,
        ends_on_success: bool,
        expert: Pairs,
        make_reward: Callable[..., RewardModel],
        cfg: LoopConfig,
        seed: int,
        num_threads: int | None = None,
    ):
        """`num_threads`: the simulator's threads (default: one per core); results do not
        depend on it."""
        self.env_id, self.cfg, self.seed, self.num_threads = env_id, cfg, seed, num_threads
        obs_dim, action_space = env_spaces(env_id)
        self.bounds = (
            (action_space.low, action_space.high) if hasattr(action_space, "low") else None
        )
        self.expert = expert = Pairs(expert.obs, self._as_sent(expert.actions))
        torch.manual_seed(seed + 1)
        self.reward_model = make_reward(expert, action_space, ends_on_success, seed)
        torch.manual_seed(seed)
        self.policy = make_policy(obs_dim, action_space)
        # The paper starts the standardiser from the expert data, then folds in every batch.
        self.policy.obs_norm.update(expert.obs)
        self.value_fn = ValueFunction(obs_dim, time_limit)
        self.rng = np.random.default_rng(seed)
        self.iteration, self.env_steps, self.wall_s = 0, 0, 0.0

    def _as_sent(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the simulator received them (clipped to the box).

        TRPO needs the policy's raw Gaussian samples, but the reward model must compare pairs
        on equal terms: a SAC expert's actions never leave the box, a Gaussian's often do.
        """
        return actions if self.bounds is None else np.clip(actions, *self.bounds)

    def _rewards(self, batch: Trajectories) -> np.ndarray:
        rewards = self.reward_model.reward(batch.obs, self._as_sent(batch.actions))
        if self.cfg.causal_entropy:
            with torch.no_grad():
                params = self.policy.dist_params(torch.as_tensor(batch.obs))
                logp = self.policy.log_prob(params, torch.as_tensor(batch.actions)).numpy()
            rewards = rewards - self.cfg.causal_entropy * logp
        return rewards

    def iterate(self) -> dict[str, float]:
        """One iteration; returns its metrics (the true return is the environment's)."""
        tick = time.perf_counter()
        seed = self.seed * 1_000_003 + self.iteration
        actor, inference_s = self.policy.actor(self.rng), 0.0

        def timed_actor(obs: np.ndarray) -> np.ndarray:
            nonlocal inference_s
            start = time.perf_counter()
            actions = actor(obs)
            inference_s += time.perf_counter() - start
            return actions

        envs = Sampler(self.env_id, self.cfg.num_envs, seed, num_threads=self.num_threads)
        with envs as sampler:
            batch = sampler.collect(timed_actor, min_steps=self.cfg.pairs_per_iteration)
        sampled = time.perf_counter()
        rewards = self._rewards(batch)
        stats = improve_policy(self.policy, self.value_fn, batch, rewards, self.cfg.trpo, self.rng)
        stepped = time.perf_counter()
        sent = replace(batch, actions=self._as_sent(batch.actions))
        stats |= self.reward_model.fit(sent, self.expert, self.rng)
        fitted = time.perf_counter()
        stats |= fit_value(self.value_fn, batch, self._rewards(batch), self.cfg.trpo, self.rng)
        done = time.perf_counter()
        self.iteration += 1
        self.env_steps += batch.num_steps
        self.wall_s += done - tick
        return {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_s": self.wall_s,
            "charts/true_return": float(batch.episode_returns.mean()),
            "charts/episode_length": float(batch.lengths.mean()),
            "charts/learned_reward": float(rewards.mean()),
            "time/simulation_s": sampled - tick - inference_s,
            "time/inference_s": inference_s,
            "time/policy_s": stepped - sampled,
            "time/reward_fit_s": fitted - stepped,
            "time/value_fit_s": done - fitted,
        } | stats

    def state_dict(self) -> dict:
        return {
            "policy": self.policy.state_dict(),
            "value_fn": self.value_fn.state_dict(),
            "reward_model": self.reward_model.state_dict(),
            "rng": self.rng.bit_generator.state,
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_s": self.wall_s,
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.value_fn.load_state_dict(state["value_fn"])
        self.reward_model.load_state_dict(state["reward_model"])
        self.rng.bit_generator.state = state["rng"]
        self.iteration, self.env_steps = state["iteration"], state["env_steps"]
        self.wall_s = state["wall_s"]
