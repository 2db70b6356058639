"""Trajectories: whole episodes stored end to end, checked on construction."""

from dataclasses import dataclass

import numpy as np

from algorithms.errors import UserInputError


@dataclass(frozen=True)
class Trajectories:
    """E episodes, N = sum(lengths) transitions, concatenated in episode order.

    Row k of `obs`, `actions` and `rewards` is one step: the observation the action was taken in,
    the action and the environment's reward. An episode ends either by termination (the MDP ended
    it: the agent fell, or reached the goal) or by truncation at the time limit; `final_obs` is the
    observation after its last action, which a learner may bootstrap from after a truncation.
    """

    obs: np.ndarray
    """(N, obs_dim) float32."""
    actions: np.ndarray
    """(N, act_dim) float32 for continuous actions, (N,) int64 for discrete ones."""
    rewards: np.ndarray
    """(N,) float64 environment rewards."""
    lengths: np.ndarray
    """(E,) int64, each >= 1."""
    terminated: np.ndarray
    """(E,) bool: True if the MDP ended the episode, False if the time limit cut it."""
    final_obs: np.ndarray
    """(E, obs_dim) float32."""

    def __post_init__(self):
        n, e = int(self.lengths.sum()), len(self.lengths)
        expected = {
            "obs": (n, self.obs.shape[1:]),
            "actions": (n, self.actions.shape[1:]),
            "rewards": (n, ()),
            "terminated": (e, ()),
            "final_obs": (e, self.obs.shape[1:]),
        }
        for name, (rows, tail) in expected.items():
            shape = getattr(self, name).shape
            if shape != (rows, *tail):
                raise UserInputError(
                    f"trajectories: {name} has shape {shape}, expected {(rows, *tail)} for "
                    f"{e} episodes of {n} steps in all; the data is corrupt or mismatched"
                )
        if self.obs.ndim != 2 or self.actions.ndim not in (1, 2):
            raise UserInputError(
                f"trajectories: obs must be 2-D and actions 1-D or 2-D, got {self.obs.shape} "
                f"and {self.actions.shape}"
            )
        if e and self.lengths.min() < 1:
            raise UserInputError("trajectories: every episode needs at least one step")

    @property
    def num_episodes(self) -> int:
        return len(self.lengths)

    @property
    def num_steps(self) -> int:
        return len(self.rewards)

    @property
    def starts(self) -> np.ndarray:
        """Index of each episode's first row."""
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    @property
    def timesteps(self) -> np.ndarray:
        """(N,) the step of each row within its episode, from 0."""
        return np.arange(self.num_steps) - np.repeat(self.starts, self.lengths)

    @property
    def next_obs(self) -> np.ndarray:
        """(N, obs_dim) the observation after each row's action: the next row's within an
        episode, `final_obs` after its last step."""
        following = np.empty_like(self.obs)
        following[:-1] = self.obs[1:]
        following[np.cumsum(self.lengths) - 1] = self.final_obs
        return following

    @property
    def terminal(self) -> np.ndarray:
        """(N,) True on the last row of an episode that the MDP ended (no state follows it; a
        truncated episode's last row is not terminal: its state has a future)."""
        flags = np.zeros(self.num_steps, bool)
        flags[np.cumsum(self.lengths)[self.terminated] - 1] = True
        return flags

    @property
    def episode_returns(self) -> np.ndarray:
        return np.add.reduceat(self.rewards, self.starts) if self.num_episodes else np.zeros(0)


@dataclass(frozen=True)
class Pairs:
    """Expert state-action pairs as the learners see them: subsampled, without time or reward."""

    obs: np.ndarray
    """(M, obs_dim) float32."""
    actions: np.ndarray
    """(M, act_dim) float32, or (M,) int64."""
    next_obs: np.ndarray | None = None
    """(M, obs_dim) the observation after each pair's action, where the dataset keeps whole
    episodes (AIRL needs it); None where it keeps only the subsampled pairs."""
    terminal: np.ndarray | None = None
    """(M,) bool: the MDP ended the episode after this pair; given with `next_obs`."""

    def __post_init__(self):
        if self.obs.ndim != 2 or len(self.actions) != len(self.obs):
            raise UserInputError(
                f"pairs: obs {self.obs.shape} and actions {self.actions.shape} must have one row "
                "per pair; the data is corrupt or mismatched"
            )
        if (self.next_obs is None) != (self.terminal is None) or (
            self.next_obs is not None
            and (self.next_obs.shape != self.obs.shape or self.terminal.shape != (len(self),))
        ):
            raise UserInputError(
                "pairs: next_obs and terminal come together, one row per pair with obs's shape; "
                "the data is corrupt or mismatched"
            )

    def head(self, rows: int) -> "Pairs":
        """The first `rows` pairs."""
        tail = (
            {}
            if self.next_obs is None
            else {"next_obs": self.next_obs[:rows], "terminal": self.terminal[:rows]}
        )
        return Pairs(obs=self.obs[:rows], actions=self.actions[:rows], **tail)

    def __len__(self) -> int:
        return len(self.obs)


def subsample_offsets(num_episodes: int, every: int, seed: int) -> np.ndarray:
    """One offset in [0, every) per episode, from a generator fixed by `seed`.

    Drawn one at a time, so that the first N offsets do not depend on how many are drawn: the
    nested dataset of N trajectories uses exactly the pairs it uses inside a larger one.
    """
    rng = np.random.default_rng(seed)
    return np.array([rng.integers(every) for _ in range(num_episodes)], dtype=np.int64)


def check_offsets(num_episodes: int, every: int, offsets: np.ndarray) -> None:
    if len(offsets) != num_episodes or np.any((offsets < 0) | (offsets >= every)):
        raise UserInputError(
            f"subsample: need one offset in [0, {every}) per episode for "
            f"{num_episodes} episodes, got {offsets.tolist()}"
        )


def pairs_per_episode(lengths: np.ndarray, every: int, offsets: np.ndarray) -> np.ndarray:
    """How many pairs `subsample` keeps of each episode: the steps offset, offset + every, ..."""
    check_offsets(len(lengths), every, offsets)
    return np.maximum(0, -((offsets - lengths) // every))


def subsample(trajectories: Trajectories, every: int, offsets: np.ndarray) -> Pairs:
    """Every `every`-th pair of each episode, from that episode's offset (the paper's scheme)."""
    check_offsets(trajectories.num_episodes, every, offsets)
    # Steps before the offset give a negative difference, which is never a multiple of `every`
    # here because offsets are below `every`.
    keep = (trajectories.timesteps - np.repeat(offsets, trajectories.lengths)) % every == 0
    return Pairs(
        obs=trajectories.obs[keep],
        actions=trajectories.actions[keep],
        next_obs=trajectories.next_obs[keep],
        terminal=trajectories.terminal[keep],
    )
