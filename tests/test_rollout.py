import gymnasium as gym
import numpy as np
import pytest

from algorithms.errors import UserInputError
from algorithms.policies import make_policy
from algorithms.rollout import Sampler
from benchmark.tasks import PAPER_TASKS, TASKS

# The paper's MuJoCo tasks, whose states `_state_from_obs` can read back from an observation; a
# task added since gets this check by adding its case there.
MUJOCO = [TASKS[name].env_id for name in PAPER_TASKS if TASKS[name].is_mujoco]


def _state_from_obs(env_id, obs, sim):
    """The MuJoCo state behind an observation that includes the positions."""
    if env_id.startswith("Reacher"):
        angles = np.arctan2(obs[2:4], obs[0:2])
        # At reset the target does not move; the arm's velocities are observed.
        return np.concatenate([angles, obs[4:6]]), np.concatenate([obs[6:8], [0.0, 0.0]])
    nq, nv = sim.model.nq, sim.model.nv
    return obs[:nq], obs[nq : nq + nv]


@pytest.mark.parametrize("env_id", MUJOCO)
def test_envpool_and_gymnasium_give_identical_transitions(env_id):
    """From the same state and actions both simulators produce the same observations (exactly:
    the same MuJoCo version) and rewards (to float32 rounding: EnvPool returns float32)."""
    import envpool

    kwargs = (
        {}
        if env_id.startswith("Reacher")
        else {"exclude_current_positions_from_observation": False}
    )
    fast = envpool.make_gymnasium(env_id, num_envs=1, seed=3, **kwargs)
    ref = gym.make(env_id, **kwargs)
    ref.reset(seed=0)
    obs, _ = fast.reset()
    ref.unwrapped.set_state(*_state_from_obs(env_id, obs[0], ref.unwrapped))
    np.testing.assert_array_equal(ref.unwrapped._get_obs(), obs[0])
    rng = np.random.default_rng(0)
    steps = 0
    for _ in range(ref.spec.max_episode_steps - 1):
        action = rng.uniform(ref.action_space.low, ref.action_space.high)
        o_ref, r_ref, term_ref, _, _ = ref.step(action)
        o_fast, r_fast, term_fast, _, _ = fast.step(action[None])
        np.testing.assert_allclose(o_fast[0], o_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r_fast[0], r_ref, rtol=1e-6, atol=1e-6)
        assert term_fast[0] == term_ref
        steps += 1
        if term_ref:
            break
    assert steps >= 10
    fast.close()
    ref.close()


def collect(backend, env_id="CartPole-v1", seed=0, **kwargs):
    with Sampler(env_id, num_envs=4, seed=seed, backend=backend) as sampler:
        policy = make_policy(sampler.observation_space.shape[0], sampler.action_space)
        return sampler.collect(policy.actor(np.random.default_rng(seed)), **kwargs)


@pytest.mark.parametrize("backend", ["envpool", "gymnasium"])
def test_same_seed_same_trajectories(backend):
    a = collect(backend, "Hopper-v5", seed=1, min_steps=600)
    b = collect(backend, "Hopper-v5", seed=1, min_steps=600)
    c = collect(backend, "Hopper-v5", seed=2, min_steps=600)
    for field in ("obs", "actions", "rewards", "lengths", "terminated", "final_obs"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.obs.shape != c.obs.shape or not np.array_equal(a.obs, c.obs)


@pytest.mark.parametrize("backend", ["envpool", "gymnasium"])
def test_episodes_are_whole_and_consistent_with_a_fresh_replay(backend):
    """Replaying each recorded episode's actions from its first state in a fresh gymnasium
    environment reproduces its rewards, termination and final observation."""
    batch = collect(backend, "Hopper-v5", seed=0, min_steps=300)
    assert batch.num_steps >= 300
    env = gym.make("Hopper-v5", exclude_current_positions_from_observation=True)
    env.reset(seed=0)
    sim = env.unwrapped
    for e in range(batch.num_episodes):
        rows = slice(batch.starts[e], batch.starts[e] + batch.lengths[e])
        first = batch.obs[rows][0].astype(np.float64)
        # x is not observed and Hopper's dynamics do not depend on it: start at x = 0.
        sim.set_state(np.concatenate([[0.0], first[:5]]), first[5:])
        for k, action in enumerate(batch.actions[rows]):
            obs, reward, term, trunc, _ = env.step(np.clip(action, -1, 1))
            np.testing.assert_allclose(reward, batch.rewards[rows][k], rtol=1e-4, atol=1e-4)
        assert term == batch.terminated[e]
        np.testing.assert_allclose(obs, batch.final_obs[e], atol=1e-4)


def test_time_limit_truncation_is_not_termination():
    batch = collect("envpool", "Reacher-v5", min_episodes=6)
    assert batch.num_episodes == 6
    assert np.all(batch.lengths == 50) and not batch.terminated.any()


def test_cartpole_falls_are_terminations():
    batch = collect("envpool", "CartPole-v1", min_steps=200)
    assert batch.terminated.all()  # a random policy never survives 500 steps
    np.testing.assert_array_equal(batch.episode_returns, batch.lengths)


@pytest.mark.parametrize(
    "kwargs,check",
    [
        ({"min_steps": 1000}, lambda b: b.num_steps >= 1000),
        ({"min_episodes": 7}, lambda b: b.num_episodes == 7),
    ],
)
def test_collects_at_least_what_was_asked(kwargs, check):
    assert check(collect("envpool", **kwargs))


def test_discrete_actions_are_integers_and_continuous_are_raw_samples():
    assert collect("envpool", min_episodes=1).actions.dtype.kind == "i"
    hopper = collect("envpool", "Hopper-v5", min_steps=200)
    # Unclipped Gaussian samples are kept for the log-likelihood: some lie outside [-1, 1].
    assert np.abs(hopper.actions).max() > 1


def test_bad_arguments_get_a_clear_error():
    with pytest.raises(UserInputError, match="unknown rollout backend 'jax'"):
        Sampler("CartPole-v1", backend="jax")
    with Sampler("CartPole-v1", num_envs=2) as sampler:
        with pytest.raises(UserInputError, match="min_steps > 0 or min_episodes > 0"):
            sampler.collect(lambda obs: obs)
