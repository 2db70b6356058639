import numpy as np
import pytest
import torch

from algorithms.policies import CategoricalPolicy, GaussianPolicy, mlp
from algorithms.rollout import Sampler
from algorithms.trpo import (
    TRPOConfig,
    ValueFunction,
    conjugate_gradient,
    discounted_cumsum,
    fit_value,
    gae,
    hessian_vector_product,
    improve_policy,
    policy_step,
)


def loop_gae(rewards, values, lengths, gamma, lam):
    """GAE written the plain way, one episode and one step at a time."""
    out, start = [], 0
    for n in lengths:
        r, v = rewards[start : start + n], values[start : start + n]
        adv, running = np.zeros(n), 0.0
        for t in reversed(range(n)):
            next_v = v[t + 1] if t + 1 < n else 0.0
            running = r[t] + gamma * next_v - v[t] + gamma * lam * running
            adv[t] = running
        out.append(adv)
        start += n
    return np.concatenate(out)


def test_gae_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    lengths = np.array([5, 1, 12, 3])
    rewards, values = rng.normal(size=(2, lengths.sum()))
    np.testing.assert_allclose(
        gae(rewards, values, lengths, 0.995, 0.97),
        loop_gae(rewards, values, lengths, 0.995, 0.97),
        rtol=1e-12,
    )


def test_gae_with_lambda_one_and_zero_values_is_the_discounted_return():
    rewards = np.array([1.0, 2.0, 3.0, 10.0])
    lengths = np.array([3, 1])
    expected = [1 + 0.9 * 2 + 0.81 * 3, 2 + 0.9 * 3, 3, 10]
    np.testing.assert_allclose(discounted_cumsum(rewards, lengths, 0.9), expected)
    np.testing.assert_allclose(gae(rewards, np.zeros(4), lengths, 0.9, 1.0), expected)


def test_conjugate_gradient_solves_a_spd_system():
    torch.manual_seed(0)
    m = torch.randn(8, 8, dtype=torch.float64)
    a = m @ m.T + 8 * torch.eye(8, dtype=torch.float64)
    b = torch.randn(8, dtype=torch.float64)
    x = conjugate_gradient(lambda v: a @ v, b, iters=8)
    torch.testing.assert_close(x, torch.linalg.solve(a, b))


@pytest.mark.parametrize("policy", [GaussianPolicy(3, 2), CategoricalPolicy(3, 3)])
def test_fisher_vector_product_matches_the_explicit_fisher_matrix(policy):
    """Hessian of the mean KL at the old parameters == E[grad log pi grad log pi^T]."""
    # A tiny net keeps the explicit matrix small.
    policy.net = mlp(3, policy.net[-1].out_features, hidden=(5, 4))
    policy = policy.double()
    with torch.no_grad():
        for p in policy.parameters():
            p.normal_(0, 0.3)
    params = list(policy.parameters())
    obs = torch.randn(6, 3, dtype=torch.float64)
    with torch.no_grad():
        old = policy.dist_params(obs)
    hvp = hessian_vector_product(
        lambda: policy.kl(old, policy.dist_params(obs)).mean(), params, damping=0.0
    )
    n = sum(p.numel() for p in params)
    # Explicit Fisher: for each state, E_a[g g^T] over the action distribution.
    fisher = torch.zeros(n, n, dtype=torch.float64)
    for i in range(len(obs)):
        if isinstance(policy, CategoricalPolicy):
            probs = old[i].exp()
            for a in range(3):
                g = _grad_logp(policy, params, obs[i : i + 1], torch.tensor([a]))
                fisher += probs[a] * torch.outer(g, g)
        else:
            # Monte-Carlo would be noisy; use the closed form for a Gaussian: J^T diag J.
            fisher += _gaussian_fisher(policy, params, obs[i : i + 1])
    fisher /= len(obs)
    v = torch.randn(n, dtype=torch.float64)
    torch.testing.assert_close(hvp(v), fisher @ v, rtol=1e-8, atol=1e-10)


def _grad_logp(policy, params, obs, action):
    logp = policy.log_prob(policy.dist_params(obs), action).sum()
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(logp, params)])


def _gaussian_fisher(policy, params, obs):
    """Fisher of a diagonal Gaussian in (mean, log_std): diag(1/sigma^2, 2), pulled back by J."""
    out = policy.dist_params(obs)[0]
    k = out.shape[0] // 2
    jac = torch.stack(
        [
            torch.cat(
                [
                    g.reshape(-1)
                    for g in torch.autograd.grad(
                        out[j], params, retain_graph=True, allow_unused=False
                    )
                ]
            )
            for j in range(2 * k)
        ]
    )
    inv_var = torch.exp(-2 * out[k:]).detach()
    metric = torch.diag(torch.cat([inv_var, torch.full((k,), 2.0, dtype=torch.float64)]))
    return jac.T @ metric @ jac


def test_policy_step_improves_the_surrogate_within_the_trust_region():
    rng = np.random.default_rng(0)
    policy = GaussianPolicy(4, 2)
    obs = rng.normal(size=(2000, 4)).astype(np.float32)
    actions = rng.normal(size=(2000, 2)).astype(np.float32)
    advantages = actions[:, 0] - actions[:, 1]  # favours a0 up, a1 down
    cfg = TRPOConfig()
    stats = policy_step(policy, obs, actions, advantages, cfg, rng)
    assert stats["losses/surrogate_improvement"] > 0
    assert 0 < stats["losses/kl"] <= 2 * cfg.max_kl
    mean = policy.dist_params(torch.as_tensor(obs))[:, :2].mean(0)
    assert mean[0] > 0 > mean[1]


def test_value_function_fit_reduces_the_error_within_its_bound():
    rng = np.random.default_rng(0)
    vf = ValueFunction(3, time_limit=100)
    obs = rng.normal(size=(3000, 3)).astype(np.float32)
    t = rng.integers(0, 100, 3000)
    targets = 50 + 10 * obs[:, 0] - 0.3 * t
    errors = []
    for _ in range(30):
        vf.fit(obs, t, targets, TRPOConfig(), rng)
        errors.append(np.mean((vf.predict(obs, t) - targets) ** 2))
    assert errors[-1] < 0.2 * np.var(targets)
    assert errors[-1] < errors[0]


@pytest.mark.slow
def test_trpo_learns_cartpole():
    """The paper's TRPO settings reach 475 on CartPole-v1 from 5,000 pairs per iteration."""
    cfg, rng = TRPOConfig(), np.random.default_rng(0)
    with Sampler("CartPole-v1", num_envs=8, seed=0) as sampler:
        policy = CategoricalPolicy(4, 2)
        vf = ValueFunction(4, time_limit=500)
        for _ in range(40):
            batch = sampler.collect(policy.actor(rng), min_steps=5_000)
            # One iteration of the shared loop on the task's own reward: policy, then values
            improve_policy(policy, vf, batch, batch.rewards, cfg, rng)
            fit_value(vf, batch, batch.rewards, cfg, rng)
            if batch.episode_returns.mean() >= 490:
                break
        final = sampler.collect(policy.actor(None), min_episodes=20)
    assert final.episode_returns.mean() >= 475
