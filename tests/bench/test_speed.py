"""Timings at the paper's batch sizes (`make bench`); never assertions on time."""

import numpy as np
import pytest
import torch

from algorithms.policies import GaussianPolicy
from algorithms.trpo import TRPOConfig, ValueFunction, policy_step

BATCH = 50_000  # pairs per iteration on MuJoCo
OBS, ACT = 11, 3  # Hopper


@pytest.fixture
def hopper_batch():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(BATCH, OBS)).astype(np.float32)
    actions = rng.normal(size=(BATCH, ACT)).astype(np.float32)
    return obs, actions, rng.normal(size=BATCH)


def test_trpo_policy_step(benchmark, hopper_batch):
    obs, actions, advantages = hopper_batch
    policy = GaussianPolicy(OBS, ACT)
    rng = np.random.default_rng(0)
    benchmark.pedantic(
        policy_step,
        args=(policy, obs, actions, advantages, TRPOConfig(), rng),
        rounds=3,
        iterations=1,
    )


def test_value_function_fit(benchmark, hopper_batch):
    obs, _, returns = hopper_batch
    vf = ValueFunction(OBS, 1000)
    t = np.arange(BATCH) % 1000
    rng = np.random.default_rng(0)
    benchmark.pedantic(vf.fit, args=(obs, t, returns, TRPOConfig(), rng), rounds=3, iterations=1)


def test_policy_forward_torch_full_batch(benchmark, hopper_batch):
    policy = GaussianPolicy(OBS, ACT)
    obs = torch.as_tensor(hopper_batch[0])
    with torch.no_grad():
        benchmark(policy.dist_params, obs)


def test_policy_actor_numpy_sampler_batch(benchmark, hopper_batch):
    act = GaussianPolicy(OBS, ACT).actor(np.random.default_rng(0))
    benchmark(act, hopper_batch[0][:16])


def test_policy_forward_torch_sampler_batch(benchmark, hopper_batch):
    """What the numpy actor replaces in the sampler's loop."""
    policy = GaussianPolicy(OBS, ACT)
    obs = torch.as_tensor(hopper_batch[0][:16])
    with torch.no_grad():
        benchmark(policy.dist_params, obs)


@pytest.mark.parametrize("adam", [{}, {"fused": True}], ids=["per-tensor", "fused"])
def test_ppo_update(benchmark, hopper_batch, adam):
    """One PPO update on a round of Hopper near the expert (~8,000 pairs); gail_ppo's Adam is
    fused, the per-tensor loop beside it for the difference."""
    from algorithms.data import Trajectories
    from algorithms.ppo import PPOConfig, ValueNet, update

    obs, actions, rewards = (x[:8_000] for x in hopper_batch)
    batch = Trajectories(
        obs=obs,
        actions=actions,
        rewards=rewards,
        lengths=np.full(8, 1_000),
        terminated=np.zeros(8, bool),
        final_obs=obs[:8],
    )
    policy, value_fn = GaussianPolicy(OBS, ACT), ValueNet(OBS)
    optimizer = torch.optim.Adam([*policy.parameters(), *value_fn.net.parameters()], **adam)
    rng = np.random.default_rng(0)
    args = (policy, value_fn, optimizer, batch, rewards, PPOConfig(), rng)
    benchmark.pedantic(update, args=args, rounds=3, iterations=1)
