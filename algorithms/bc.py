"""Behavioral cloning: maximum likelihood of the expert's actions, kept at its best validation.

The paper's settings: a random 70/30 split of the expert pairs; Adam at lr 1e-3 on the negative
log-likelihood, minibatches of 128 drawn with replacement; validation every few hundred steps by
the negative mean squared error of the mean action (continuous) or the negative log-likelihood
(discrete); the snapshot with the best validation score is the result.
"""

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from algorithms.data import Pairs
from algorithms.policies import CategoricalPolicy, Policy


@dataclass(frozen=True)
class BCConfig:
    steps: int
    """Adam steps (the paper: 20,001 MuJoCo, 10,001 Reacher, 1,001 classic control)."""
    validate_every: int
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


def train(
    policy: Policy,
    expert: Pairs,
    cfg: BCConfig,
    rng: np.random.Generator,
    on_validation: Callable[[dict], object] | None = None,
):
    """Fit `policy` to the expert pairs; returns (best snapshot, metrics of each validation).

    `on_validation(row)` is called with each validation's metrics (for progress reports).
    """
    tick = time.perf_counter()
    order = rng.permutation(len(expert))
    n_train = max(1, int(round(cfg.train_fraction * len(expert))))
    # With very few pairs the validation set may be empty; validate on the training set then.
    train_idx, valid_idx = order[:n_train], order[n_train:] if n_train < len(expert) else order
    obs = torch.as_tensor(expert.obs, dtype=torch.float32)
    actions = torch.as_tensor(expert.actions)
    # The standardiser starts from (and, for BC, stays at) the expert data's statistics.
    policy.obs_norm.update(expert.obs)
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    best, best_score, history = copy.deepcopy(policy), -np.inf, []
    for step in range(cfg.steps):
        batch = rng.choice(train_idx, cfg.batch_size)
        loss = -policy.log_prob(policy.dist_params(obs[batch]), actions[batch]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % cfg.validate_every == 0 or step == cfg.steps - 1:
            score = validation_score(policy, obs[valid_idx], actions[valid_idx])
            if score > best_score:
                best, best_score = copy.deepcopy(policy), score
            history.append(
                {
                    "step": step,
                    "wall_s": time.perf_counter() - tick,
                    "losses/nll": loss.item(),
                    "losses/validation_score": score,
                    "losses/best_validation_score": best_score,
                }
            )
            if on_validation:
                on_validation(history[-1])
    return best, history
