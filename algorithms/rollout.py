"""Vectorised sampling of whole episodes, on EnvPool (fast path) or gymnasium (reference path).

How it stays fast: EnvPool steps all environments of a batch on C++ threads, one per core, and
the policy runs in numpy on the whole batch (`Policy.actor`), so the Python work per step is a few
array operations for the whole batch.

How it stays exact:
- Deterministic: all environments step together (EnvPool's synchronous mode) and every random
  number is drawn in step order, so the same seed gives the same episodes. (EnvPool's asynchronous
  mode is faster, but which environments share a batch then depends on timing, and a matrix
  product's rounding depends on a row's place in the batch, so runs would differ.)
- Unbiased: whether an environment's next episode is recorded is decided when that episode starts,
  from what was collected before it (never from how it goes), so the sample is a set of ordinary
  i.i.d. episodes. Recorded episodes always run to their end; the steps that environments take
  after the sample is complete are thrown away.
- Both backends reset an environment on the step after its episode ended (that step's action is
  ignored and it returns the first observation), so a reset step is never a transition.
"""

import functools
import os
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from threadpoolctl import threadpool_limits

from algorithms.data import Trajectories
from algorithms.errors import UserInputError

PolicyFn = Callable[[np.ndarray], np.ndarray]
BACKENDS = ("envpool", "gymnasium")


class _EnvPoolEnvs:
    def __init__(self, env_id: str, num_envs: int, seed: int, num_threads: int):
        import envpool

        self.env = envpool.make_gymnasium(
            env_id, num_envs=num_envs, batch_size=num_envs, num_threads=num_threads, seed=seed
        )

    def reset(self) -> None:
        self.env.async_reset()

    def send(self, actions: np.ndarray) -> None:
        self.env.send(actions)

    def recv(self):
        obs, rew, term, trunc, _ = self.env.recv()
        return obs, rew, term, trunc

    def close(self) -> None:
        self.env.close()


class _GymnasiumEnvs:
    def __init__(self, env_id: str, num_envs: int, seed: int, num_threads: int):
        # One process per environment: the reference path uses all cores too, only slower.
        del num_threads
        self.env = gym.vector.AsyncVectorEnv(
            [lambda: gym.make(env_id)] * num_envs, context="spawn", copy=True
        )
        self.seeds: list[int] | None = [seed + i for i in range(num_envs)]
        self.resetting = False

    def reset(self) -> None:
        # Seed only the first reset; later resets continue each environment's own generator.
        self.env.reset_async(seed=self.seeds)
        self.seeds, self.resetting = None, True

    def send(self, actions: np.ndarray) -> None:
        self.env.step_async(actions)

    def recv(self):
        if self.resetting:
            self.resetting = False
            obs, _ = self.env.reset_wait()
            zeros = np.zeros(len(obs), bool)
            return obs, np.zeros(len(obs)), zeros, zeros
        obs, rew, term, trunc, _ = self.env.step_wait()
        return obs, rew, term, trunc

    def close(self) -> None:
        self.env.close()


class Sampler:
    """`num_envs` copies of a task that collect whole episodes from a policy."""

    def __init__(
        self,
        env_id: str,
        num_envs: int = 16,
        seed: int = 0,
        backend: str = "envpool",
        num_threads: int | None = None,
    ):
        if backend not in BACKENDS:
            raise UserInputError(f"unknown rollout backend {backend!r}; use one of {BACKENDS}")
        if num_envs < 1:
            raise UserInputError(f"num_envs must be >= 1, got {num_envs}")
        num_threads = min(num_envs, num_threads or os.cpu_count() or 1)
        env_cls = _EnvPoolEnvs if backend == "envpool" else _GymnasiumEnvs
        self.envs = env_cls(env_id, num_envs, seed, num_threads)
        self.num_envs = num_envs
        self.observation_space, self.action_space = _spaces(env_id)
        self.discrete = isinstance(self.action_space, gym.spaces.Discrete)

    def close(self) -> None:
        self.envs.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _to_env_actions(self, actions: np.ndarray) -> np.ndarray:
        if self.discrete:
            return actions.astype(np.int32)
        # The policy's raw sample is what is recorded (its log-probability is what TRPO needs);
        # the environment gets it clipped to the action bounds.
        return np.clip(actions, self.action_space.low, self.action_space.high).astype(np.float64)

    def collect(
        self, policy_fn: PolicyFn, min_steps: int = 0, min_episodes: int = 0
    ) -> Trajectories:
        """Whole episodes until at least `min_steps` transitions and `min_episodes` episodes.

        `policy_fn` maps a float32 batch of observations to a batch of actions; it is called
        in a fixed order, so a policy that draws noise from its own generator stays reproducible.
        """
        if min_steps <= 0 and min_episodes <= 0:
            raise UserInputError("collect needs min_steps > 0 or min_episodes > 0")
        state = _Collection(min_steps, min_episodes)
        log = _StepLog(self.num_envs)
        self.envs.reset()
        # A multi-threaded BLAS would fight the simulator's threads for the cores on every
        # small matrix product of the policy; one thread is faster here.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._collect(policy_fn, state, log)

    def _collect(self, policy_fn: PolicyFn, state: "_Collection", log: "_StepLog"):
        while True:
            obs, rew, term, trunc = self.envs.recv()
            obs = np.asarray(obs, np.float32)
            log.receive(obs, rew, term | trunc, term, state)
            if state.finished():
                return state.trajectories(log)
            actions = np.asarray(policy_fn(obs))
            log.record(obs, actions)
            self.envs.send(self._to_env_actions(actions))


class TimedActor:
    """An actor (observations -> actions) with the seconds spent in it counted: what a
    sampler's time splits into policy and simulator by."""

    def __init__(self, actor: Callable[[np.ndarray], np.ndarray]):
        self.actor, self.seconds = actor, 0.0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        tick = time.perf_counter()
        actions = self.actor(obs)
        self.seconds += time.perf_counter() - tick
        return actions


def sample_iteration(
    act: Callable[[np.ndarray], np.ndarray],
    env_id: str,
    num_envs: int,
    seed: int,
    iteration: int,
    min_steps: int,
    num_threads: int | None = None,
) -> tuple[Trajectories, dict[str, float]]:
    """A learner's batch for `iteration`: whole episodes of at least `min_steps` pairs, on
    environments seeded by (seed, iteration) so that a run resumed there samples the same; with
    the seconds the simulator and the actor took (`time/simulation_s`, `time/inference_s`)."""
    tick = time.perf_counter()
    actor = TimedActor(act)
    with Sampler(env_id, num_envs, derived_seed(seed, iteration), num_threads=num_threads) as envs:
        batch = envs.collect(actor, min_steps=min_steps)
    return batch, {
        "time/simulation_s": time.perf_counter() - tick - actor.seconds,
        "time/inference_s": actor.seconds,
    }


def batch_charts(batch: Trajectories) -> dict[str, float]:
    """What a learner's batch shows of the task: its mean return and episode length."""
    return {
        "charts/true_return": float(batch.episode_returns.mean()),
        "charts/episode_length": float(batch.lengths.mean()),
    }


class _Collection:
    """The stopping rule, and what is known of each recorded episode's end."""

    def __init__(self, min_steps: int, min_episodes: int):
        self.min_steps, self.min_episodes = min_steps, min_episodes
        self.started = 0
        self.committed_steps = 0
        self.open_episodes = 0
        self.final_obs: dict[int, np.ndarray] = {}
        self.terminated: dict[int, bool] = {}

    def want_new_episode(self) -> bool:
        return self.committed_steps < self.min_steps or self.started < self.min_episodes

    def finished(self) -> bool:
        return self.open_episodes == 0 and not self.want_new_episode()

    def trajectories(self, log: "_StepLog") -> Trajectories:
        obs, actions, rewards, episode = log.rows()
        # Rows are in time order; a stable sort by episode id keeps that order within episodes.
        order = np.argsort(episode, kind="stable")
        ids = np.arange(self.started)
        return Trajectories(
            obs=obs[order],
            actions=actions[order],
            rewards=rewards[order],
            lengths=np.bincount(episode, minlength=self.started).astype(np.int64),
            terminated=np.array([self.terminated[i] for i in ids], bool),
            final_obs=np.stack([self.final_obs[i] for i in ids]).astype(np.float32),
        )


class _StepLog:
    """Every step of every environment; rows of unrecorded episodes are dropped at the end."""

    def __init__(self, n: int):
        self.episode = np.full(n, -1, np.int64)  # recorded episode each env is in, or -1
        self.resetting = np.zeros(n, bool)  # the episode ended: the next step resets the env
        self.obs: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.rewards: list[np.ndarray] = []
        self.episode_log: list[np.ndarray] = []

    def receive(self, obs, rew, done, term, state: _Collection) -> None:
        if self.obs:  # the outcome of the step sent last
            recorded = self.episode_log[-1] >= 0
            self.rewards.append(np.asarray(rew, np.float64))
            state.committed_steps += int(recorded.sum())
            for i in np.flatnonzero(done & recorded):
                ep = int(self.episode[i])
                state.final_obs[ep], state.terminated[ep] = obs[i], bool(term[i])
                state.open_episodes -= 1
            starting = self.resetting  # their obs is the first of a new episode
            self.episode[done] = -1
            self.resetting = np.asarray(done, bool)
        else:
            starting = np.ones(len(self.episode), bool)
        for i in np.flatnonzero(starting):
            if state.want_new_episode():
                self.episode[i] = state.started
                state.started += 1
                state.open_episodes += 1

    def record(self, obs: np.ndarray, actions: np.ndarray) -> None:
        self.obs.append(obs)
        self.actions.append(actions)
        self.episode_log.append(self.episode.copy())

    def rows(self):
        steps = len(self.obs)
        episode = np.stack(self.episode_log).reshape(-1)
        keep = episode >= 0
        obs = np.stack(self.obs).reshape(steps * len(self.episode), -1)[keep]
        actions = np.stack(self.actions)
        actions = actions.reshape(steps * len(self.episode), *actions.shape[2:])[keep]
        rewards = np.stack(self.rewards).reshape(-1)[keep]
        return obs, actions, rewards, episode[keep]


@functools.cache
def _spaces(env_id: str) -> tuple[gym.Space, gym.Space]:
    # Made once per process: a loop creates a sampler every iteration, and gym.make costs up to
    # tens of milliseconds (Reacher's: about a tenth of an iteration's simulation).
    env = gym.make(env_id)
    spaces = env.observation_space, env.action_space
    env.close()
    return spaces


def env_spaces(env_id: str):
    """(observation dimension, action space) of an environment."""
    observation_space, action_space = _spaces(env_id)
    return observation_space.shape[0], action_space


def derived_seed(seed: int, index: int) -> int:
    """The seed of the `index`-th piece of a seeded whole (an iteration's environments, a training
    episode's reset): distinct for every (seed, index) a run can reach, so that resuming at any
    piece needs no simulator state."""
    return seed * 1_000_003 + index
