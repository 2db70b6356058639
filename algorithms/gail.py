"""GAIL (Ho & Ermon 2016): a discriminator tells expert pairs from the policy's; its confidence
that a pair is the expert's is the policy's reward.

The paper's discriminator: a 100-100 tanh MLP (zero output layer) on the standardised [s, a]
(discrete actions: one score per action from s, the taken action's selected), its standardiser
started from the expert pairs and updated at every fit; labels expert 1, policy 0; a
class-balanced logistic loss minus 0.001 times the mean Bernoulli entropy of its output; exactly
one Adam step (lr 0.01) per iteration on all the policy's pairs plus as many expert pairs drawn
with replacement.

Reward: -log(1 - D) >= 0, D the probability of "expert". A positive reward for every step makes
longer episodes better, the wrong bias where reaching the goal ends the episode (MountainCar,
Acrobot); those tasks use log D <= 0 instead, which makes every step cost. `reward = "auto"`
chooses so; the other two forms can be forced for an ablation.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from algorithms.data import Pairs, Trajectories
from algorithms.errors import check_choice
from algorithms.imitation import STANDARDIZER_STARTS, LoopConfig
from algorithms.policies import Standardizer, mlp

REWARD_FORMS = ("auto", "-log(1-D)", "log(D)")


def uses_log_d(form: str, ends_on_success: bool) -> bool:
    """Whether the reward `form` means log D: asked for, or "auto" where reaching the goal ends
    the episode (there -log(1 - D) > 0 would pay the policy to avoid the goal)."""
    return form == "log(D)" or (form == "auto" and ends_on_success)


def reward_from_logits(logits: torch.Tensor, log_d: bool) -> torch.Tensor:
    """log D, or -log(1 - D), from the logit log D / (1 - D)."""
    return -F.softplus(-logits) if log_d else F.softplus(logits)


@dataclass(frozen=True)
class GAILConfig:
    lr: float = 0.01
    """Adam's learning rate for the discriminator (one step per iteration)."""
    entropy_bonus: float = 0.001
    """Weight of the discriminator output's Bernoulli entropy, subtracted from the loss."""
    reward: str = "auto"
    """"-log(1-D)", "log(D)", or "auto": log(D) where reaching the goal ends the episode."""
    input_standardizer: str = "expert"
    """Where the discriminator's input standardiser starts: the "expert" pairs (the paper's)
    or "empty" (this suite before 2026-12)."""
    loop: LoopConfig = LoopConfig()

    def __post_init__(self):
        check_choice("reward", self.reward, REWARD_FORMS)
        check_choice("input_standardizer", self.input_standardizer, STANDARDIZER_STARTS)


class Discriminator(torch.nn.Module):
    def __init__(self, obs_dim: int, action_space):
        super().__init__()
        # A discrete action picks one of the net's outputs (one per action); a continuous one
        # is an input beside the observation.
        self.n_actions = int(action_space.n) if hasattr(action_space, "n") else None
        self.obs_dim = obs_dim
        in_dim = obs_dim if self.n_actions else obs_dim + int(np.prod(action_space.shape))
        self.input_norm = Standardizer(in_dim)
        self.net = mlp(in_dim, self.n_actions or 1)

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
        self.discriminator = Discriminator(expert.obs.shape[1], action_space)
        if cfg.input_standardizer == "expert":
            self.discriminator.update_standardizer(expert.obs, expert.actions)
        self.optimizer = torch.optim.Adam(self.discriminator.net.parameters(), lr=cfg.lr)
        self.log_d = uses_log_d(cfg.reward, ends_on_success)
        self.cfg = cfg

    def _reward(self, logits: torch.Tensor) -> torch.Tensor:
        return reward_from_logits(logits, self.log_d)

    @torch.no_grad()
    def reward(self, batch: Trajectories) -> np.ndarray:
        logits = self.discriminator.logits(
            torch.as_tensor(batch.obs), torch.as_tensor(batch.actions)
        )
        return self._reward(logits).double().numpy()

    def fit(self, batch: Trajectories, expert: Pairs, rng: np.random.Generator) -> dict:
        n = batch.num_steps
        picks = rng.integers(0, len(expert), n)
        obs = torch.as_tensor(np.concatenate([batch.obs, expert.obs[picks]]))
        actions = np.concatenate([batch.actions, expert.actions[picks].astype(batch.actions.dtype)])
        labels = torch.cat([torch.zeros(n), torch.ones(n)])
        self.discriminator.update_standardizer(obs.numpy(), actions)
        actions = torch.as_tensor(actions)
        logits = self.discriminator.logits(obs, actions)
        # Equal numbers of both classes, so the plain mean is the class-balanced loss.
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        p = torch.sigmoid(logits)
        # Bernoulli entropy: -p log p - (1 - p) log(1 - p), with log p = -softplus(-logit).
        entropy = (p * F.softplus(-logits) + (1 - p) * F.softplus(logits)).mean()
        objective = loss - self.cfg.entropy_bonus * entropy
        self.optimizer.zero_grad()
        objective.backward()
        self.optimizer.step()
        # Diagnostics after the step, as the authors logged them: a discriminator that wins
        # shows here (accuracies near 1, reward on policy pairs near 0) before the return does.
        with torch.no_grad():
            after = self.discriminator.logits(obs, actions)
            reward = self._reward(after)
        return {
            "losses/discriminator_loss": loss.item(),
            "losses/discriminator_entropy": entropy.item(),
            "losses/discriminator_expert_accuracy": (after[n:] > 0).float().mean().item(),
            "losses/discriminator_policy_accuracy": (after[:n] <= 0).float().mean().item(),
            "charts/reward_on_expert": reward[n:].mean().item(),
            "charts/reward_on_policy": reward[:n].mean().item(),
        }

    def state_dict(self) -> dict:
        return {"net": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
