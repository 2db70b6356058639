import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Normal, kl_divergence

from algorithms.policies import (
    CategoricalPolicy,
    GaussianPolicy,
    Standardizer,
    make_policy,
    mlp,
)


def randomise(policy):
    with torch.no_grad():
        for p in policy.parameters():
            p.normal_(0, 0.5)
    return policy


def test_standardizer_matches_numpy_over_many_batches():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3, 2, size=(n, 4)) for n in (1, 10, 100, 7)]
    norm = Standardizer(4)
    for b in batches:
        norm.update(b)
    data = np.concatenate(batches)
    np.testing.assert_allclose(norm.mean.numpy(), data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.std.numpy(), np.sqrt(data.var(0) + 1e-8), rtol=1e-12)
    z = norm(torch.as_tensor(data, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-9)


def test_standardizer_starts_as_identity_and_clips():
    norm = Standardizer(2, clip=5.0)
    x = torch.tensor([[1.0, -100.0]])
    np.testing.assert_allclose(norm(x).numpy(), [[1.0, -5.0]])


def test_mlp_has_the_papers_initialisation():
    net = mlp(11, 3)
    hidden, out = net[0], net[-1]
    bound = np.sqrt(6 / (11 + 100))
    assert hidden.weight.abs().max() <= bound and hidden.weight.abs().max() > 0.8 * bound
    assert [m.out_features for m in net if isinstance(m, torch.nn.Linear)] == [100, 100, 3]
    assert isinstance(net[1], torch.nn.Tanh)
    assert torch.all(out.weight == 0) and torch.all(out.bias == 0)


def test_gaussian_matches_torch_distributions():
    policy = randomise(GaussianPolicy(5, 3))
    obs, actions = torch.randn(64, 5), torch.randn(64, 3)
    params = policy.dist_params(obs)
    mean, log_std = params[:, :3], params[:, 3:]
    ref = Normal(mean, log_std.exp())
    torch.testing.assert_close(policy.log_prob(params, actions), ref.log_prob(actions).sum(-1))
    torch.testing.assert_close(policy.entropy(params), ref.entropy().sum(-1))
    other = params + 0.1 * torch.randn_like(params)
    ref_other = Normal(other[:, :3], other[:, 3:].exp())
    torch.testing.assert_close(policy.kl(params, other), kl_divergence(ref, ref_other).sum(-1))


def test_categorical_matches_torch_distributions():
    policy = randomise(CategoricalPolicy(4, 3))
    obs, actions = torch.randn(64, 4), torch.randint(0, 3, (64,))
    params = policy.dist_params(obs)
    ref = Categorical(logits=params)
    torch.testing.assert_close(policy.log_prob(params, actions), ref.log_prob(actions))
    torch.testing.assert_close(policy.entropy(params), ref.entropy())
    other = params + 0.3 * torch.randn_like(params)
    torch.testing.assert_close(
        policy.kl(params, other), kl_divergence(ref, Categorical(logits=other))
    )


def test_new_policy_is_standard_normal_or_uniform():
    g = GaussianPolicy(3, 2)
    params = g.dist_params(torch.randn(5, 3))
    assert torch.all(params == 0)  # mean 0 (zero output layer), log-std 0
    c = CategoricalPolicy(3, 4)
    torch.testing.assert_close(c.dist_params(torch.randn(5, 3)).exp(), torch.full((5, 4), 0.25))


def test_numpy_actor_agrees_with_torch_mode():
    for policy in (randomise(GaussianPolicy(6, 2)), randomise(CategoricalPolicy(6, 5))):
        policy.obs_norm.update(np.random.default_rng(1).normal(2, 3, (50, 6)))
        obs = np.random.default_rng(2).normal(2, 3, (32, 6)).astype(np.float32)
        with torch.no_grad():
            params = policy.dist_params(torch.as_tensor(obs))
        actions = policy.actor()(obs)
        if isinstance(policy, GaussianPolicy):
            np.testing.assert_allclose(actions, params[:, :2].numpy(), rtol=1e-5, atol=1e-5)
        else:
            np.testing.assert_array_equal(actions, params.argmax(-1).numpy())


def test_stochastic_actor_samples_the_distribution():
    rng = np.random.default_rng(0)
    gauss = GaussianPolicy(2, 1)
    with torch.no_grad():
        gauss.log_std.fill_(np.log(0.5))
        gauss.net[-1].bias.fill_(1.5)
    a = gauss.actor(rng)(np.zeros((20_000, 2), np.float32))
    assert abs(a.mean() - 1.5) < 0.02 and abs(a.std() - 0.5) < 0.02
    cat = CategoricalPolicy(2, 3)
    with torch.no_grad():
        cat.net[-1].bias.copy_(torch.log(torch.tensor([0.2, 0.5, 0.3])))
    freq = np.bincount(cat.actor(rng)(np.zeros((20_000, 2), np.float32)), minlength=3) / 20_000
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.015)


def test_same_generator_state_same_actions():
    policy = randomise(GaussianPolicy(3, 2))
    obs = np.ones((4, 3), np.float32)
    a = policy.actor(np.random.default_rng(7))(obs)
    b = policy.actor(np.random.default_rng(7))(obs)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "space,cls",
    [
        (gym.spaces.Box(-1, 1, (3,)), GaussianPolicy),
        (gym.spaces.Discrete(4), CategoricalPolicy),
    ],
)
def test_make_policy_picks_the_head(space, cls):
    assert isinstance(make_policy(5, space), cls)
