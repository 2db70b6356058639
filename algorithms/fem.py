"""FEM: feature expectation matching (Abbeel & Ng 2004) with a linear cost in an L2 ball.

Each iteration the cost weights point from the policy's feature expectations to the expert's,
w = (mu_E - mu_pi) / ||mu_E - mu_pi||, the direction in which the policy falls furthest short;
the policy's reward is w . phi(s, a) / dim(phi). Features are the paper's: the standardised state
and action, their squares scaled by 0.01, and a constant (for discrete actions, the state block
one-hot by action). Feature expectations are plain averages over pairs, as in the paper's code.

The reward is shifted by its running minimum so that it stays >= 0 (a positive reward for staying
alive); where reaching the goal ends the episode, by its running maximum so that it stays <= 0.
"""

from dataclasses import dataclass

import numpy as np
import torch

from algorithms.data import Pairs, Trajectories
from algorithms.imitation import LoopConfig


@dataclass(frozen=True)
class FEMConfig:
    loop: LoopConfig = LoopConfig()
    std_floor: float = 1e-8
    """Added to the expert data's standard deviation of each input before dividing by it. The
    authors' code adds 1e-6. It matters only where an input never moves in the expert data
    (Ant's and Humanoid's contact forces): a policy's nonzero value there becomes a feature
    1 / std_floor times its size, which then dominates the cost."""
    shift_from_zero: bool = False
    """Start the running extreme that rewards are shifted by at 0, as the authors' code does, so
    that rewards all of one sign so far keep their raw values; else at the first batch's own
    extreme. The two agree from the first raw reward of the other sign on."""


class Features:
    """phi(s, a), standardised with the expert data's statistics (fixed once)."""

    def __init__(self, expert: Pairs, action_space, std_floor: float):
        self.n_actions = int(action_space.n) if hasattr(action_space, "n") else None
        self.obs_mean, self.obs_std = expert.obs.mean(0), expert.obs.std(0) + std_floor
        if self.n_actions is None:
            self.act_mean = expert.actions.mean(0)
            self.act_std = expert.actions.std(0) + std_floor
        obs_dim = expert.obs.shape[1]
        if self.n_actions:
            self.dim = self.n_actions * 2 * obs_dim + 1
        else:
            self.dim = 2 * obs_dim + 2 * expert.actions.shape[1] + 1

    def names(self) -> list[str]:
        """Each coordinate of phi in the order `__call__` lays them out, for reading a cost."""
        obs = [f"obs[{i}]" for i in range(len(self.obs_mean))]
        if self.n_actions:
            block = obs + [f"(0.01 {o})^2" for o in obs]
            return [f"{b} if action {a}" for a in range(self.n_actions) for b in block] + ["1"]
        act = [f"act[{i}]" for i in range(len(self.act_mean))]
        return obs + act + [f"(0.01 {x})^2" for x in obs + act] + ["1"]

    def __call__(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        s = (obs - self.obs_mean) / self.obs_std
        ones = np.ones((len(obs), 1))
        if self.n_actions:
            block = np.concatenate([s, (0.01 * s) ** 2], 1)
            one_hot = np.eye(self.n_actions)[actions.astype(np.int64)]
            by_action = (one_hot[:, :, None] * block[:, None, :]).reshape(len(obs), -1)
            return np.concatenate([by_action, ones], 1)
        a = (actions - self.act_mean) / self.act_std
        return np.concatenate([s, a, (0.01 * s) ** 2, (0.01 * a) ** 2, ones], 1)


class ShiftedLinearReward:
    """A linear reward w . psi / dim(psi), shifted by its running extreme (see the docstring).

    The shift covers every batch rewarded so far: `reward` shifts by the stored extreme and the
    batch's own (without storing it, so looking at rewards changes nothing), and `fit` stores the
    batch's extremes under the old weights and under the new ones, the two it has been or will
    be rewarded with.
    """

    def __init__(self, dim: int, ends_on_success: bool, from_zero: bool):
        self.dim, self.ends_on_success = dim, ends_on_success
        self.weights = np.zeros(dim)
        self.shift = 0.0 if from_zero else (-np.inf if ends_on_success else np.inf)

    def _extreme(self, raw: np.ndarray) -> float:
        if self.ends_on_success:
            return max(self.shift, raw.max())
        return min(self.shift, raw.min())

    def shifted(self, psi: np.ndarray) -> np.ndarray:
        raw = psi @ self.weights / self.dim
        return raw - self._extreme(raw)

    def observe(self, psi: np.ndarray) -> None:
        """Fold a batch's rewards under the current weights into the stored shift."""
        self.shift = self._extreme(psi @ self.weights / self.dim)

    def state_dict(self) -> dict:
        return {"weights": torch.from_numpy(self.weights.copy()), "shift": float(self.shift)}

    def load_state_dict(self, state: dict) -> None:
        self.weights, self.shift = state["weights"].numpy().copy(), state["shift"]


class FEMReward(ShiftedLinearReward):
    def __init__(
        self,
        expert: Pairs,
        action_space,
        ends_on_success: bool,
        seed: int,
        cfg: FEMConfig = FEMConfig(),
    ):
        self.features = Features(expert, action_space, cfg.std_floor)
        super().__init__(self.features.dim, ends_on_success, cfg.shift_from_zero)
        self.expert_mean = self.features(expert.obs, expert.actions).mean(0)
        start = np.random.default_rng(seed).standard_normal(self.dim)
        self.weights = start / np.linalg.norm(start)

    def reward(self, batch: Trajectories) -> np.ndarray:
        return self.shifted(self.features(batch.obs, batch.actions))

    def fit(self, batch: Trajectories, expert: Pairs, rng: np.random.Generator) -> dict:
        phi = self.features(batch.obs, batch.actions)
        self.observe(phi)
        gap = self.expert_mean - phi.mean(0)
        norm = np.linalg.norm(gap)
        if norm > 0:
            self.weights = gap / norm
        self.observe(phi)
        return {"losses/feature_gap": float(norm)}
