import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import distributions as D

from algorithms.sac import SAC, SACConfig, SquashedGaussianActor, TwinCritic, run_episode


def test_log_prob_matches_torch_transformed_distribution():
    torch.manual_seed(0)
    low, high = np.array([-0.4, -1.0, 0.0]), np.array([0.4, 1.0, 2.0])
    actor = SquashedGaussianActor(5, 3, low, high, hidden=16)
    obs = torch.randn(64, 5)
    torch.manual_seed(1)
    action, log_prob = actor.sample(obs)
    mean, log_std = actor._mean_log_std(obs)
    dist = D.TransformedDistribution(
        D.Independent(D.Normal(mean, log_std.exp()), 1),
        [D.TanhTransform(), D.AffineTransform(actor.center, actor.scale)],
    )
    torch.testing.assert_close(log_prob, dist.log_prob(action), rtol=1e-4, atol=1e-3)
    assert torch.all(action >= torch.as_tensor(low, dtype=torch.float32))
    assert torch.all(action <= torch.as_tensor(high, dtype=torch.float32))


def test_numpy_actor_matches_torch_actor():
    torch.manual_seed(0)
    actor = SquashedGaussianActor(4, 2, np.full(2, -2.0), np.full(2, 2.0), hidden=8)
    obs = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    mean, _ = actor._mean_log_std(torch.from_numpy(obs))
    expected = torch.tanh(mean).detach().numpy() * 2
    np.testing.assert_allclose(actor.actor()(obs), expected, rtol=1e-5, atol=1e-6)
    sampled = actor.actor(np.random.default_rng(0))(obs)
    assert sampled.shape == (10, 2) and not np.allclose(sampled, expected)


def test_twin_critic_copies_are_independent_networks():
    critic = TwinCritic(6, hidden=8)
    q = critic(torch.randn(5, 4), torch.randn(5, 2))
    assert q.shape == (2, 5) and not torch.allclose(q[0], q[1])


@pytest.mark.slow
def test_sac_learns_pendulum():
    env = gym.make("Pendulum-v1")
    cfg = SACConfig(start_steps=1_000, hidden=64, batch_size=128, buffer_size=10_000)
    agent = SAC(3, env.action_space, cfg, seed=0)
    rng, step = np.random.default_rng(0), 0
    for episode in range(45):  # 200 steps each
        step += run_episode(agent, env, 0, episode, step, rng)[0]
    act, returns = agent.actor.actor(), []
    for episode in range(10):
        obs, _ = env.reset(seed=10_000 + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs[None])[0])
            total, done = total + reward, terminated or truncated
        returns.append(total)
    # Uniformly random actions score about -1,250 here; a swing-up policy -150 to -400.
    assert np.mean(returns) > -600, returns
