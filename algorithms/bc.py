"""Behavioral cloning: maximum likelihood of the expert's actions, kept at its best validation.

The paper's settings: a random 70/30 split of the expert pairs; Adam at lr 1e-3 on the negative
log-likelihood, minibatches of 128 drawn with replacement; validation every few hundred steps by
the negative mean squared error of the mean action (continuous) or the negative log-likelihood
(discrete); the snapshot with the best validation score is the result.
"""

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch

from algorithms.data import Pairs
from algorithms.policies import CategoricalPolicy, Policy


@dataclass(frozen=True)
class BCConfig:
    steps: int = 20_001
    """Adam steps (the paper: 20,001 MuJoCo, 10,001 Reacher, 1,001 classic control)."""
    validate_every: int = 1_000
    """Steps between validations (1,000 / 500 / 100)."""
    batch_size: int = 128
    lr: float = 1e-3
    train_fraction: float = 0.7


def validation_score(policy: Policy, obs: torch.Tensor, actions: torch.Tensor) -> float:
    """Higher is better: -NLL for a softmax policy, -MSE of the mean action for a Gaussian."""
    with torch.no_grad():
        params = policy.dist_params(obs)
        if isinstance(policy, CategoricalPolicy):
            return policy.log_prob(params, actions).mean().item()
        mean = params[:, : actions.shape[1]]
        return -((mean - actions) ** 2).sum(1).mean().item()


def nll_step(
    policy: Policy, optimizer: torch.optim.Optimizer, obs: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """One optimiser step on the negative log-likelihood of `actions`; returns that loss."""
    params = policy.dist_params(obs)
    loss = -policy.log_prob(params, actions).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


class BCTrainer:
    """BC in units of one validation each (after steps 0, k, 2k, ... and the last step), so that
    it checkpoints and resumes like the other learners."""

    def __init__(self, policy: Policy, expert: Pairs, cfg: BCConfig, rng: np.random.Generator):
        self.policy, self.cfg, self.rng = policy, cfg, rng
        order = rng.permutation(len(expert))
        n_train = max(1, int(round(cfg.train_fraction * len(expert))))
        # With very few pairs the validation set may be empty; validate on the training set then.
        self.train_idx = order[:n_train]
        self.valid_idx = order[n_train:] if n_train < len(expert) else order
        self.obs = torch.as_tensor(expert.obs, dtype=torch.float32)
        self.actions = torch.as_tensor(expert.actions)
        # The standardiser starts from (and, for BC, stays at) the expert data's statistics.
        policy.obs_norm.update(expert.obs)
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
        self.validations = sorted({*range(0, cfg.steps, cfg.validate_every), cfg.steps - 1})
        self.best, self.best_score = copy.deepcopy(policy), -np.inf
        self.iteration, self.wall_s = 0, 0.0

    @property
    def iterations(self) -> int:
        return len(self.validations)

    def final_policy(self) -> Policy:
        """The snapshot with the best validation score."""
        return self.best

    def iterate(self) -> dict[str, float]:
        """Adam steps up to the next validation, then the validation; returns its metrics."""
        tick = time.perf_counter()
        first = self.validations[self.iteration - 1] + 1 if self.iteration else 0
        last = self.validations[self.iteration]
        for _ in range(first, last + 1):
            batch = self.rng.choice(self.train_idx, self.cfg.batch_size)
            loss = nll_step(self.policy, self.optimizer, self.obs[batch], self.actions[batch])
        score = validation_score(
            self.policy, self.obs[self.valid_idx], self.actions[self.valid_idx]
        )
        if score > self.best_score:
            self.best, self.best_score = copy.deepcopy(self.policy), score
        self.iteration += 1
        self.wall_s += time.perf_counter() - tick
        return {
            "step": last,
            "wall_s": self.wall_s,
            "losses/nll": loss.item(),
            "losses/validation_score": score,
            "losses/best_validation_score": self.best_score,
        }

    def state_dict(self) -> dict:
        return {
            "policy": self.policy.state_dict(),
            "best": self.best.state_dict(),
            "best_score": self.best_score,
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "iteration": self.iteration,
            "wall_s": self.wall_s,
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.best.load_state_dict(state["best"])
        self.best_score = state["best_score"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.iteration, self.wall_s = state["iteration"], state["wall_s"]


def train(policy: Policy, expert: Pairs, cfg: BCConfig, rng: np.random.Generator):
    """Fit `policy` to the expert pairs; returns (best snapshot, metrics of each validation)."""
    trainer = BCTrainer(policy, expert, cfg, rng)
    history = [trainer.iterate() for _ in range(trainer.iterations)]
    return trainer.final_policy(), history
