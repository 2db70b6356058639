"""GTAL: game-theoretic apprenticeship learning (Syed & Schapire 2008), cost in a simplex.

The features are FEM's phi and their negatives, psi = [phi, -phi]. Each iteration the adversary
puts all the cost's weight on the single coordinate where the policy falls furthest short of the
expert, j = argmin(mu_pi - mu_E) over psi, and the policy's reward is psi_j / dim(psi), shifted
as in FEM. Everything else (TRPO, value function, budgets) is the shared loop's.
"""

from dataclasses import dataclass

import numpy as np

from algorithms.data import Pairs, Trajectories
from algorithms.fem import Features, ShiftedLinearReward
from algorithms.imitation import LoopConfig


@dataclass(frozen=True)
class GTALConfig:
    loop: LoopConfig = LoopConfig()
    std_floor: float = 1e-8
    """As FEM's (`FEMConfig`): the authors' code adds 1e-6."""
    shift_from_zero: bool = False
    """As FEM's (`FEMConfig`): the authors' code starts the shift at 0."""


class GTALReward(ShiftedLinearReward):
    def __init__(
        self,
        expert: Pairs,
        action_space,
        ends_on_success: bool,
        seed: int,
        cfg: GTALConfig = GTALConfig(),
    ):
        self.features = Features(expert, action_space, cfg.std_floor)
        super().__init__(2 * self.features.dim, ends_on_success, cfg.shift_from_zero)
        self.expert_mean = self.psi(expert.obs, expert.actions).mean(0)
        self._choose(np.random.default_rng(seed).integers(self.dim))

    def psi(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        phi = self.features(obs, actions)
        return np.concatenate([phi, -phi], 1)

    def _choose(self, j: int) -> None:
        self.coordinate = int(j)
        self.weights = np.eye(self.dim)[j]

    def reward(self, batch: Trajectories) -> np.ndarray:
        return self.shifted(self.psi(batch.obs, batch.actions))

    def fit(self, batch: Trajectories, expert: Pairs, rng: np.random.Generator) -> dict:
        psi = self.psi(batch.obs, batch.actions)
        self.observe(psi)
        shortfall = psi.mean(0) - self.expert_mean
        self._choose(np.argmin(shortfall))
        self.observe(psi)
        return {"losses/largest_shortfall": float(-shortfall.min())}

    def state_dict(self) -> dict:
        return super().state_dict() | {"coordinate": self.coordinate}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.coordinate = state["coordinate"]
