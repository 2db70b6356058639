"""The outer loop that FEM, GTAL and GAIL share, and TRPO experts too: each method brings only its
reward model (an expert's is the environment's own reward).

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
from algorithms.errors import check_choice
from algorithms.policies import GaussianPolicy, Policy, make_policy
from algorithms.rollout import batch_charts, env_spaces, sample_iteration
from algorithms.trpo import TRPOConfig, ValueFunction, fit_value, improve_policy

REWARD_ACTIONS = ("raw", "clipped")
STANDARDIZER_STARTS = ("expert", "empty")


@dataclass(frozen=True)
class LoopConfig:
    iterations: int = 500
    """Outer iterations (the paper: 300 classic, 200 Reacher, 500 MuJoCo, 1,500 Humanoid)."""
    pairs_per_iteration: int = 50_000
    """Pairs sampled per iteration, whole trajectories (the paper: 5,000 classic, else 50,000)."""
    num_envs: int = 16
    """Parallel environments of the sampler (does not change the algorithm, only the speed)."""
    causal_entropy: float = 0.0
    """Weight of -log pi(a|s) added to every reward (the paper: 0, Reacher sweep up to 1e-1)."""
    reward_actions: str = "raw"
    """What the reward model sees of a Gaussian policy's actions: "raw" samples (the paper's: the
    simulator clamps the control itself) or "clipped" to the action box (this suite before
    2026-12, when a SAC expert's actions never left the box)."""
    value_standardizer: str = "expert"
    """Where the value function's observation standardiser starts: from the "expert" data (the
    paper's) or "empty" (this suite before 2026-12)."""
    trpo: TRPOConfig = TRPOConfig()

    def __post_init__(self):
        check_choice("reward_actions", self.reward_actions, REWARD_ACTIONS)
        check_choice("value_standardizer", self.value_standardizer, STANDARDIZER_STARTS)


class RewardModel(Protocol):
    """What the loop needs of a method: a reward for a batch, refitted once per iteration.

    `reward` must not change the model (it is called again to look at rewards); `fit` gets the
    batch with its actions as the reward sees them (`LoopConfig.reward_actions`)."""

    def reward(self, batch: Trajectories) -> np.ndarray: ...

    def fit(self, batch: Trajectories, expert: Pairs | None, rng: np.random.Generator) -> dict: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


class EnvironmentReward:
    """The task's own reward, plus an optional bonus of the observation: an expert trained by the
    same loop as the learners."""

    def __init__(self, bonus: Callable[[np.ndarray], np.ndarray] | None = None):
        self.bonus = bonus

    def reward(self, batch: Trajectories) -> np.ndarray:
        return batch.rewards + (self.bonus(batch.obs) if self.bonus else 0.0)

    def fit(self, batch: Trajectories, expert: Pairs | None, rng: np.random.Generator) -> dict:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class ImitationLoop:
    """The learner of one run: `make_reward(expert, action_space, ends_on_success, seed)` builds
    the method's reward model (fem.FEMReward, gtal.GTALReward, gail.GAILReward, or an expert's
    EnvironmentReward with `expert` None)."""

    def __init__(
        self,
        env_id: str,
        time_limit: int,
        ends_on_success: bool,
        expert: Pairs | None,
        make_reward: Callable[..., RewardModel],
        cfg: LoopConfig,
        seed: int,
        num_threads: int | None = None,
        policy: Policy | None = None,
    ):
        """`num_threads`: the simulator's threads (default: one per core); results do not
        depend on it. `policy`: start from it instead of a fresh one (an expert's fine-tuning)."""
        self.env_id, self.cfg, self.seed, self.num_threads = env_id, cfg, seed, num_threads
        obs_dim, action_space = env_spaces(env_id)
        self.bounds = (
            (action_space.low, action_space.high) if hasattr(action_space, "low") else None
        )
        if expert is not None:
            expert = Pairs(expert.obs, self._for_reward(expert.actions))
        self.expert = expert
        torch.manual_seed(seed + 1)
        self.reward_model = make_reward(expert, action_space, ends_on_success, seed)
        torch.manual_seed(seed)
        self.policy = policy or make_policy(obs_dim, action_space)
        self.value_fn = ValueFunction(obs_dim, time_limit)
        # The paper starts the standardisers from the expert data, then folds in every batch.
        if expert is not None:
            self.policy.obs_norm.update(expert.obs)
            if cfg.value_standardizer == "expert":
                self.value_fn.obs_norm.update(expert.obs)
        self.rng = np.random.default_rng(seed)
        self.iteration, self.env_steps, self.wall_s = 0, 0, 0.0

    @property
    def iterations(self) -> int:
        return self.cfg.iterations

    def final_policy(self):
        return self.policy

    def _for_reward(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the reward model sees them. TRPO always needs the policy's raw samples."""
        if self.bounds is None or self.cfg.reward_actions == "raw":
            return actions
        return np.clip(actions, *self.bounds)

    def _policy_rewards(self, batch: Trajectories, learned: np.ndarray) -> np.ndarray:
        """The learned reward plus the causal-entropy bonus, which only the policy sees (the
        paper's value function is fitted to the learned reward alone)."""
        if not self.cfg.causal_entropy:
            return learned
        with torch.no_grad():
            params = self.policy.dist_params(torch.as_tensor(batch.obs))
            logp = self.policy.log_prob(params, torch.as_tensor(batch.actions)).numpy()
        return learned - self.cfg.causal_entropy * logp

    def iterate(self) -> dict[str, float]:
        """One iteration; returns its metrics (the true return is the environment's)."""
        tick = time.perf_counter()
        batch, timing = sample_iteration(
            self.policy.actor(self.rng),
            self.env_id,
            self.cfg.num_envs,
            self.seed,
            self.iteration,
            self.cfg.pairs_per_iteration,
            self.num_threads,
        )
        sampled = time.perf_counter()
        seen = replace(batch, actions=self._for_reward(batch.actions))
        learned = self.reward_model.reward(seen)
        rewards = self._policy_rewards(batch, learned)
        stats = improve_policy(self.policy, self.value_fn, batch, rewards, self.cfg.trpo, self.rng)
        stepped = time.perf_counter()
        stats |= self.reward_model.fit(seen, self.expert, self.rng)
        fitted = time.perf_counter()
        refitted = self.reward_model.reward(seen)
        stats |= fit_value(self.value_fn, batch, refitted, self.cfg.trpo, self.rng)
        done = time.perf_counter()
        self.iteration += 1
        self.env_steps += batch.num_steps
        self.wall_s += done - tick
        if isinstance(self.policy, GaussianPolicy):
            stats["charts/policy_log_std"] = self.policy.log_std.mean().item()
        return {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_s": self.wall_s,
            **batch_charts(batch),
            "charts/learned_reward": float(learned.mean()),
            **timing,
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
