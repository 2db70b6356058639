"""GAIL (Ho & Ermon 2016): a discriminator tells expert pairs from the policy's; its confidence
that a pair is the expert's is the policy's reward.

The paper's discriminator: a 100-100 tanh MLP (zero output layer) on the standardised [s, a]
(discrete actions: one score per action from s, the taken action's selected), its standardiser
updated at every fit; labels expert 1, policy 0; a class-balanced logistic loss minus 0.001 times
the mean Bernoulli entropy of its output; exactly one Adam step (lr 0.01) per iteration on all the
policy's pairs plus as many expert pairs drawn with replacement.

Reward: -log(1 - D) >= 0, D the probability of "expert". A positive reward for every step makes
longer episodes better, the wrong bias where reaching the goal ends the episode (MountainCar,
Acrobot); those tasks use log D <= 0 instead, which makes every step cost.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from algorithms.data import Pairs, Trajectories
from algorithms.policies import Standardizer, mlp


@dataclass(frozen=True)
class GAILConfig:
    lr: float = 0.01
    entropy_bonus: float = 0.001
    """Weight of the discriminator output's Bernoulli entropy, subtracted from the loss."""


class Discriminator(torch.nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, n_actions: int | None):
        super().__init__()
        self.n_actions = n_actions
        in_dim = obs_dim if n_actions else obs_dim + act_dim
        self.input_norm = Standardizer(in_dim)
        self.net = mlp(in_dim, n_actions or 1)

    def logits(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log D / (1 - D) per pair."""
        if self.n_actions:
            scores = self.net(self.input_norm(obs))
            return scores.gather(1, actions.long()[:, None])[:, 0]
        x = torch.cat([obs, actions.reshape(len(obs), -1)], 1)
        return self.net(self.input_norm(x))[:, 0]

    def update_standardizer(self, obs: np.ndarray, actions: np.ndarray) -> None:
        x = obs if self.n_actions else np.concatenate([obs, actions.reshape(len(obs), -1)], 1)
        self.input_norm.update(x)


class GAILReward:
    def __init__(
        self,
        expert: Pairs,
        action_space,
        ends_on_success: bool,
        seed: int,
        cfg: GAILConfig = GAILConfig(),
    ):
        obs_dim = expert.obs.shape[1]
        n_actions = int(action_space.n) if hasattr(action_space, "n") else None
        act_dim = 1 if n_actions else int(np.prod(action_space.shape))
        self.discriminator = Discriminator(obs_dim, act_dim, n_actions)
        self.optimizer = torch.optim.Adam(self.discriminator.net.parameters(), lr=cfg.lr)
        self.ends_on_success, self.cfg = ends_on_success, cfg

    @torch.no_grad()
    def reward(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        logits = self.discriminator.logits(torch.as_tensor(obs), torch.as_tensor(actions))
        if self.ends_on_success:
            return (-F.softplus(-logits)).double().numpy()  # log D
        return F.softplus(logits).double().numpy()  # -log(1 - D)

    def fit(self, batch: Trajectories, expert: Pairs, rng: np.random.Generator) -> dict:
        picks = rng.integers(0, len(expert), batch.num_steps)
        obs = np.concatenate([batch.obs, expert.obs[picks]])
        actions = np.concatenate([batch.actions, expert.actions[picks].astype(batch.actions.dtype)])
        labels = torch.cat([torch.zeros(batch.num_steps), torch.ones(batch.num_steps)])
        self.discriminator.update_standardizer(obs, actions)
        logits = self.discriminator.logits(torch.as_tensor(obs), torch.as_tensor(actions))
        # Equal numbers of both classes, so the plain mean is the class-balanced loss.
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        p = torch.sigmoid(logits)
        # Bernoulli entropy: -p log p - (1 - p) log(1 - p), with log p = -softplus(-logit).
        entropy = (p * F.softplus(-logits) + (1 - p) * F.softplus(logits)).mean()
        objective = loss - self.cfg.entropy_bonus * entropy
        self.optimizer.zero_grad()
        objective.backward()
        self.optimizer.step()
        with torch.no_grad():
            expert_acc = (logits[batch.num_steps :] > 0).float().mean().item()
            policy_acc = (logits[: batch.num_steps] < 0).float().mean().item()
        return {
            "losses/discriminator_loss": loss.item(),
            "losses/discriminator_entropy": entropy.item(),
            "losses/discriminator_expert_accuracy": expert_acc,
            "losses/discriminator_policy_accuracy": policy_acc,
        }

    def state_dict(self) -> dict:
        return {"net": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
