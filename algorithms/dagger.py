"""DAgger (Ross, Gordon & Bagnell 2011): behavioral cloning, then rounds in which the learner
acts, the expert labels every state the learner visited, and the policy is refitted on the
aggregate of all labels so far.

It is interactive: it queries the expert policy itself, not only its demonstrations, so it
answers another question than the paper's learners (the registry puts it in its own group).

One run:
  1. BC on the expert pairs (`bc.BCTrainer`, the paper's settings), one iteration per
     validation; the round's policy starts from BC's best snapshot;
  2. each round k = 1 .. rounds: whole episodes (at least `pairs_per_round` steps) in which
     every step's action is the expert's with probability beta_k = beta_decay^k, else the
     learner's (Ross et al.'s mixture; imitation's ExponentialBetaSchedule), the learner acting
     deterministically (as it is evaluated); every visited state joins the aggregate with the
     expert's deterministic action as its label;
  3. `steps_per_round` Adam steps of BC's loss on minibatches of the aggregate, warm-started
     from the last round's policy (imitation's DAgger continues training too).
The policy's observation standardiser stays at the expert data's statistics, as BC's does.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch

from algorithms.bc import BCConfig, BCTrainer, nll_step
from algorithms.data import Pairs
from algorithms.policies import Policy
from algorithms.rollout import batch_charts, sample_iteration


@dataclass(frozen=True)
class DAggerConfig:
    rounds: int = 10
    """Rounds after BC (imitation's tuned Hopper DAgger: 100,000 steps at >= 10 episodes a
    round, about ten rounds)."""
    pairs_per_round: int = 5_000
    """Learner steps per round, whole episodes; each becomes one labelled pair."""
    beta_decay: float = 0.7
    """Probability that the expert acts in round k is beta_decay^k (imitation's tuned Hopper
    DAgger: ExponentialBetaSchedule(0.7))."""
    steps_per_round: int = 2_000
    """Adam steps on the aggregate per round."""
    num_envs: int = 8
    """Parallel environments of the sampler (only the speed depends on it)."""
    bc: BCConfig = BCConfig()
    """The BC phase, and the batch size and learning rate of the rounds' refits."""


class DAggerTrainer:
    """BC's validations, then the DAgger rounds: `iterations` counts both."""

    def __init__(
        self,
        env_id: str,
        policy: Policy,
        expert: Pairs,
        expert_policy,
        cfg: DAggerConfig,
        seed: int,
        num_threads: int | None = None,
    ):
        self.env_id, self.cfg, self.seed, self.num_threads = env_id, cfg, seed, num_threads
        self.rng = np.random.default_rng(seed)
        self.bc = BCTrainer(policy, expert, cfg.bc, self.rng)
        self.expert_act = expert_policy.actor(None)
        self.policy = policy
        self.obs = expert.obs.astype(np.float32)
        self.actions = expert.actions
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.bc.lr)
        self.iteration, self.env_steps, self.wall_s = 0, 0, 0.0

    @property
    def iterations(self) -> int:
        return self.bc.iterations + self.cfg.rounds

    def final_policy(self) -> Policy:
        return self.bc.final_policy() if self.iteration <= self.bc.iterations else self.policy

    def iterate(self) -> dict[str, float]:
        tick = time.perf_counter()
        if self.iteration < self.bc.iterations:
            metrics = self.bc.iterate()
            if self.bc.iteration == self.bc.iterations:  # the rounds start from BC's best
                self.policy.load_state_dict(self.bc.final_policy().state_dict())
        else:
            metrics = self._round(self.iteration - self.bc.iterations + 1)
        self.iteration += 1
        self.wall_s += time.perf_counter() - tick
        return {"iteration": self.iteration, "env_steps": self.env_steps, "wall_s": self.wall_s} | {
            k: v for k, v in metrics.items() if k != "wall_s"
        }

    def _round(self, k: int) -> dict[str, float]:
        """Collect with the mixture, label with the expert, aggregate, refit."""
        beta = self.cfg.beta_decay**k
        learner_act = self.policy.actor(None)

        def mixed(obs: np.ndarray) -> np.ndarray:
            expert_turn = self.rng.random(len(obs)) < beta
            return np.where(
                expert_turn.reshape(-1, *[1] * (self.actions.ndim - 1)),
                self.expert_act(obs),
                learner_act(obs),
            )

        batch, _ = sample_iteration(
            mixed,
            self.env_id,
            self.cfg.num_envs,
            self.seed,
            self.iteration,
            self.cfg.pairs_per_round,
            self.num_threads,
        )
        labels = self.expert_act(batch.obs).astype(self.actions.dtype)
        self.obs = np.concatenate([self.obs, batch.obs])
        self.actions = np.concatenate([self.actions, labels])
        self.env_steps += batch.num_steps
        return batch_charts(batch) | {
            "charts/beta": beta,
            "charts/aggregate_pairs": len(self.obs),
            "losses/nll": self._refit(),
        }

    def _refit(self) -> float:
        """`steps_per_round` Adam steps of the negative log-likelihood on the aggregate."""
        obs, actions = torch.as_tensor(self.obs), torch.as_tensor(self.actions)
        for _ in range(self.cfg.steps_per_round):
            rows = torch.as_tensor(self.rng.integers(0, len(obs), self.cfg.bc.batch_size))
            loss = nll_step(self.policy, self.optimizer, obs[rows], actions[rows])
        return loss.item()

    def state_dict(self) -> dict:
        return {
            "bc": self.bc.state_dict(),
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "obs": torch.as_tensor(self.obs),
            "actions": torch.as_tensor(self.actions),
            "rng": self.rng.bit_generator.state,
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_s": self.wall_s,
        }

    def load_state_dict(self, state: dict) -> None:
        self.bc.load_state_dict(state["bc"])
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.obs, self.actions = state["obs"].numpy(), state["actions"].numpy()
        self.rng.bit_generator.state = state["rng"]
        self.iteration, self.env_steps = state["iteration"], state["env_steps"]
        self.wall_s = state["wall_s"]
