"""PPO (Schulman et al. 2017) on the paper's policies: the generator of the modern adversarial
learners (`gail_ppo`, `airl`), reusable by any trainer that rewards its own batches.

One update on a batch of whole episodes, rewarded by the caller:
  1. GAE advantages from a value function of the observation alone; where the time limit cut an
     episode, the advantage bootstraps from V(final_obs) (stable-baselines3's rule: the cut is
     not the MDP's end, and a discounted learner must not learn that time runs out);
  2. `epochs` passes over the batch in shuffled minibatches, each one Adam step on the clipped
     surrogate, plus the value's squared error, minus an entropy bonus, with the gradient's
     norm clipped.

Unlike `trpo.py` (finite horizon, t / time_limit in the value's input), this is the
infinite-horizon discounted view of the modern libraries (stable-baselines3, imitation).
Defaults are stable-baselines3's PPO defaults unless a docstring names another source.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from algorithms.data import Trajectories
from algorithms.policies import Policy, Standardizer, mlp
from algorithms.trpo import gae


@dataclass(frozen=True)
class PPOConfig:
    lr: float = 3e-4
    """Adam's learning rate for policy and value together (stable-baselines3's default)."""
    epochs: int = 10
    """Passes over each batch (stable-baselines3's n_epochs; imitation's tuned Hopper: 20)."""
    minibatch_size: int = 256
    """Pairs per Adam step (stable-baselines3: 64, imitation's tuned MuJoCo runs: 512; 256 is
    between: 64 costs 4x the CPU per env step, and CPU is this suite's budget)."""
    clip: float = 0.2
    """Probability ratios outside [1 - clip, 1 + clip] stop pulling (stable-baselines3's
    clip_range; imitation's tuned Hopper: 0.1)."""
    gamma: float = 0.995
    """Discount (imitation's tuned MuJoCo GAIL and AIRL; stable-baselines3: 0.99, which learned
    Hopper more slowly here)."""
    lam: float = 0.98
    """GAE lambda (imitation's tuned MuJoCo GAIL and AIRL; stable-baselines3's: 0.95)."""
    entropy_coef: float = 0.0
    """Weight of the policy's entropy in the loss (stable-baselines3's ent_coef)."""
    value_coef: float = 0.5
    """Weight of the value's squared error in the loss (stable-baselines3's vf_coef)."""
    max_grad_norm: float = 0.5
    """The whole gradient's norm is clipped to this (stable-baselines3; imitation's: 0.9)."""


class ValueNet(nn.Module):
    """V(s): a 100-100 tanh MLP on standardised observations, predicting standardised returns
    (targets of a learned reward drift in scale; standardising keeps Adam's steps sized)."""

    def __init__(self, obs_dim: int):
        super().__init__()
        self.obs_norm = Standardizer(obs_dim)
        self.target_norm = Standardizer(1, clip=float("inf"))
        self.net = mlp(obs_dim, 1)

    def standardised(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(self.obs_norm(obs))[:, 0]

    @torch.no_grad()
    def predict(self, obs: np.ndarray) -> np.ndarray:
        z = self.standardised(torch.as_tensor(obs, dtype=torch.float32)).double()
        return (z * self.target_norm.std + self.target_norm.mean).numpy()


def clipped_surrogate(
    logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, clip: float
) -> torch.Tensor:
    """-mean(min(r A, clip(r, 1 - clip, 1 + clip) A)), r = pi / pi_old: a ratio that has moved
    past the clip in the direction its advantage favours gets no gradient, so one batch cannot
    push the policy far; a move in the unfavoured direction is always pulled back."""
    ratio = torch.exp(logp - old_logp)
    clipped = torch.clamp(ratio, 1 - clip, 1 + clip)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


def advantages_and_returns(
    value_fn: ValueNet, batch: Trajectories, rewards: np.ndarray, cfg: PPOConfig
) -> tuple[np.ndarray, np.ndarray]:
    """GAE and the value targets (advantage + value, stable-baselines3's)."""
    values = value_fn.predict(batch.obs)
    # Bootstrap where the time limit cut the episode; a terminated one has no future.
    last = np.where(batch.terminated, 0.0, value_fn.predict(batch.final_obs))
    adv = gae(rewards, values, batch.lengths, cfg.gamma, cfg.lam, last)
    return adv, adv + values


def update(
    policy: Policy,
    value_fn: ValueNet,
    optimizer: torch.optim.Optimizer,
    batch: Trajectories,
    rewards: np.ndarray,
    cfg: PPOConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """One PPO update on `batch` rewarded by `rewards`; then both observation standardisers
    fold in the batch (after the update, so that the update's ratios are exact)."""
    adv, returns = advantages_and_returns(value_fn, batch, rewards, cfg)
    value_fn.target_norm.update(returns[:, None])
    targets = torch.as_tensor(
        (returns - value_fn.target_norm.mean.item()) / value_fn.target_norm.std.item()
    ).float()
    obs, actions = torch.as_tensor(batch.obs), torch.as_tensor(batch.actions)
    adv_t = torch.as_tensor(adv, dtype=torch.float32)
    with torch.no_grad():
        old_logp = policy.log_prob(policy.dist_params(obs), actions)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    sums = np.zeros(4)
    steps = 0
    for _ in range(cfg.epochs):
        order = torch.as_tensor(rng.permutation(len(obs)))
        for mb in order.split(cfg.minibatch_size):
            dist = policy.dist_params(obs[mb])
            logp = policy.log_prob(dist, actions[mb])
            a = adv_t[mb]
            # Per-minibatch standardisation (stable-baselines3's normalize_advantage).
            a = (a - a.mean()) / (a.std() + 1e-8) if len(a) > 1 else a
            policy_loss = clipped_surrogate(logp, old_logp[mb], a, cfg.clip)
            value_loss = ((value_fn.standardised(obs[mb]) - targets[mb]) ** 2).mean()
            entropy = policy.entropy(dist).mean()
            loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                clipped = ((logp - old_logp[mb]).exp() - 1).abs() > cfg.clip
            sums += [policy_loss.item(), value_loss.item(), entropy.item(), clipped.float().mean()]
            steps += 1
    with torch.no_grad():
        kl = (old_logp - policy.log_prob(policy.dist_params(obs), actions)).mean().item()
    policy.obs_norm.update(batch.obs)
    value_fn.obs_norm.update(batch.obs)
    means = sums / max(steps, 1)
    return {
        "losses/policy_loss": float(means[0]),
        "losses/value_loss": float(means[1]),
        "losses/entropy": float(means[2]),
        "losses/clip_fraction": float(means[3]),
        "losses/approx_kl": kl,
    }
