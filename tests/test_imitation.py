"""The four learners: exact checks of their math, end-to-end runs on tiny budgets, resumption."""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from algorithms import bc, fem, gail, gtal
from algorithms.data import Pairs, Trajectories
from algorithms.imitation import ImitationLoop, LoopConfig
from algorithms.policies import make_policy
from benchmark.datasets import load_dataset
from benchmark.tasks import get_task

BOX = spaces.Box(-1.0, 1.0, (2,), np.float32)
DISCRETE = spaces.Discrete(3)


def pairs(n=40, obs_dim=3, act_dim=2, discrete=False, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, obs_dim)).astype(np.float32) * 2 + 1
    if discrete:
        return Pairs(obs, rng.integers(0, 3, n))
    return Pairs(obs, rng.standard_normal((n, act_dim)).astype(np.float32))


def batch_of(p: Pairs) -> Trajectories:
    n = len(p)
    return Trajectories(
        obs=p.obs,
        actions=p.actions,
        rewards=np.zeros(n),
        lengths=np.array([n]),
        terminated=np.array([True]),
        final_obs=p.obs[-1:],
    )


# --- FEM and GTAL features -------------------------------------------------------------------


def test_continuous_features_by_hand():
    expert = pairs()
    phi = fem.Features(expert, BOX, 1e-8)
    s = (expert.obs[0] - expert.obs.mean(0)) / (expert.obs.std(0) + 1e-8)
    a = (expert.actions[0] - expert.actions.mean(0)) / (expert.actions.std(0) + 1e-8)
    expected = np.concatenate([s, a, (0.01 * s) ** 2, (0.01 * a) ** 2, [1.0]])
    np.testing.assert_allclose(phi(expert.obs[:1], expert.actions[:1])[0], expected, rtol=1e-6)
    assert phi.dim == 3 + 2 + 3 + 2 + 1


def test_discrete_features_put_the_state_block_under_the_taken_action():
    expert = pairs(discrete=True)
    phi = fem.Features(expert, DISCRETE, 1e-8)
    out = phi(expert.obs[:1], np.array([2]))[0]
    s = (expert.obs[0] - expert.obs.mean(0)) / (expert.obs.std(0) + 1e-8)
    block = np.concatenate([s, (0.01 * s) ** 2])
    np.testing.assert_allclose(out[12:18], block, rtol=1e-6)
    assert np.all(out[:12] == 0) and out[-1] == 1 and phi.dim == 3 * 6 + 1


def test_an_input_the_expert_never_moves_is_divided_by_the_floor():
    expert = pairs()
    expert.obs[:, 2] = 0.5  # as Ant's contact forces, 0 throughout the expert's data
    for floor in (1e-8, 1e-6):  # the suite's first runs', the authors'
        phi = fem.Features(expert, BOX, floor)(
            np.array([[0.0, 0.0, 0.5 + 1e-3]]), expert.actions[:1]
        )
        assert phi[0, 2] == pytest.approx(1e-3 / floor)
        assert phi[0, 3 + 2 + 2] == pytest.approx((0.01 * 1e-3 / floor) ** 2)  # its square


def test_fem_and_gtal_take_the_floor_from_their_config():
    expert = pairs()
    for model in (
        fem.FEMReward(expert, BOX, False, seed=0, cfg=fem.FEMConfig(std_floor=1e-6)),
        gtal.GTALReward(expert, BOX, False, seed=0, cfg=gtal.GTALConfig(std_floor=1e-6)),
    ):
        np.testing.assert_array_equal(model.features.obs_std, expert.obs.std(0) + 1e-6)
        np.testing.assert_array_equal(model.features.act_std, expert.actions.std(0) + 1e-6)


def test_the_shift_starts_at_zero_as_the_authors_or_at_the_first_batch():
    # Rewards are shifted below their running maximum where success ends the episode (each
    # step costs), above their running minimum elsewhere; the authors' extreme started at 0.
    expert = pairs()
    for ends_on_success, sign in ((False, 1), (True, -1)):
        for from_zero in (False, True):
            cfg = gtal.GTALConfig(shift_from_zero=from_zero)
            model = gtal.GTALReward(expert, BOX, ends_on_success, seed=0, cfg=cfg)
            constant = model.features.dim - 1  # psi's constant feature, then its negation
            model._choose(constant if sign > 0 else model.features.dim + constant)
            expected = sign / model.dim if from_zero else 0.0  # every raw reward sign / dim
            np.testing.assert_allclose(model.reward(batch_of(expert)), expected, atol=1e-15)
            model.observe(-model.psi(expert.obs, expert.actions))  # one of the other sign seen
            assert model.shift == pytest.approx(-sign / model.dim)  # from then on the two agree


def test_fem_weights_point_from_the_policy_to_the_expert_and_rewards_stay_positive():
    expert, policy = pairs(seed=0), pairs(seed=1)
    model = fem.FEMReward(expert, BOX, ends_on_success=False, seed=0)
    model.fit(batch_of(policy), expert, np.random.default_rng(0))
    gap = model.features(expert.obs, expert.actions).mean(0) - model.features(
        policy.obs, policy.actions
    ).mean(0)
    np.testing.assert_allclose(model.weights, gap / np.linalg.norm(gap))
    rewards = model.reward(batch_of(policy))
    assert rewards.min() == pytest.approx(0.0) and np.all(rewards >= 0)
    # The expert's own pairs earn more on average than the policy's, by ||gap|| / dim.
    expert_rewards = model.reward(batch_of(expert))
    margin = np.linalg.norm(gap) / model.dim
    assert expert_rewards.mean() - rewards.mean() == pytest.approx(margin, rel=1e-6)


def test_rewards_stay_negative_where_success_ends_the_episode():
    expert = pairs()
    model = fem.FEMReward(expert, BOX, ends_on_success=True, seed=0)
    assert model.reward(batch_of(expert)).max() == pytest.approx(0.0)
    assert np.all(model.reward(batch_of(pairs(seed=2))) <= 0)


def test_gtal_adversary_picks_the_coordinate_the_policy_lacks_most():
    expert = pairs()
    model = gtal.GTALReward(expert, BOX, ends_on_success=False, seed=0)
    policy = Pairs(expert.obs.copy(), expert.actions.copy())
    policy.obs[:, 1] -= 3.0  # the policy's state feature 1 falls short by 3 / std
    model.fit(batch_of(policy), expert, np.random.default_rng(0))
    assert model.coordinate == 1
    policy.obs[:, 1] += 6.0  # now it overshoots: the negated copy of feature 1 falls short
    model.fit(batch_of(policy), expert, np.random.default_rng(0))
    assert model.coordinate == model.features.dim + 1
    psi_j = -model.features(policy.obs, policy.actions)[:, 1] / model.dim
    rewards = model.reward(batch_of(policy))
    np.testing.assert_allclose(rewards, psi_j - psi_j.min(), atol=1e-12)


# --- GAIL ------------------------------------------------------------------------------------


def test_gail_reward_grows_with_the_discriminator_and_has_the_right_sign():
    expert = pairs()
    for ends_on_success in (False, True):
        model = gail.GAILReward(pairs(), BOX, ends_on_success, 0)
        out = model.discriminator.net[-1]
        with torch.no_grad():
            out.weight.zero_()
            out.bias.zero_()
            out.weight[0, 0] = 1.0  # logit = first hidden unit, varies across pairs
        logits = model.discriminator.logits(
            torch.as_tensor(expert.obs), torch.as_tensor(expert.actions)
        )
        rewards = model.reward(batch_of(expert))
        order = np.argsort(logits.detach().numpy())
        assert np.all(np.diff(rewards[order]) >= 0)
        assert np.all(rewards <= 0) if ends_on_success else np.all(rewards >= 0)
        d = torch.sigmoid(logits).detach().double().numpy()
        expected = np.log(d) if ends_on_success else -np.log(1 - d)
        np.testing.assert_allclose(rewards, expected, rtol=1e-5)


def test_one_discriminator_step_separates_expert_from_policy():
    expert, policy = pairs(n=200, seed=0), pairs(n=200, seed=1)
    policy.obs[:] += 1.5
    torch.manual_seed(0)
    model = gail.GAILReward(pairs(), BOX, False, 0)
    before = (
        model.reward(batch_of(expert)).mean(),
        model.reward(batch_of(policy)).mean(),
    )
    stats = model.fit(batch_of(policy), expert, np.random.default_rng(0))
    assert stats["losses/discriminator_loss"] == pytest.approx(math.log(2), rel=1e-4)
    after_expert = model.reward(batch_of(expert)).mean()
    after_policy = model.reward(batch_of(policy)).mean()
    assert before[0] == before[1] and after_expert > after_policy


def test_discrete_discriminator_scores_the_taken_action():
    model = gail.GAILReward(pairs(), DISCRETE, False, 0)
    obs = torch.randn(5, 3)
    scores = model.discriminator.net(model.discriminator.input_norm(obs))
    actions = torch.tensor([0, 2, 1, 1, 0])
    torch.testing.assert_close(model.discriminator.logits(obs, actions), scores[range(5), actions])


# --- BC --------------------------------------------------------------------------------------


LINEAR = np.array([[1.0, -0.5], [0.2, 0.3], [-1.0, 0.8]], np.float32)


def test_bc_fits_a_linear_expert():
    rng = np.random.default_rng(0)
    obs = rng.standard_normal((500, 3)).astype(np.float32)
    actions = np.tanh(obs @ LINEAR)
    torch.manual_seed(0)
    policy = make_policy(3, BOX)
    cfg = bc.BCConfig(steps=600, validate_every=50)
    _, history = bc.train(policy, Pairs(obs, actions), cfg, np.random.default_rng(0))
    scores = [h["losses/validation_score"] for h in history]
    assert scores[-1] > -0.05 > scores[0]


def test_bc_returns_its_best_validated_snapshot_not_the_last():
    # 28 noisy pairs to train on: the fit overfits, and validation peaks early.
    rng = np.random.default_rng(0)
    obs = rng.standard_normal((40, 3)).astype(np.float32)
    actions = (np.tanh(obs @ LINEAR) + 0.5 * rng.standard_normal((40, 2))).astype(np.float32)
    torch.manual_seed(0)
    trainer = bc.BCTrainer(
        make_policy(3, BOX),
        Pairs(obs, actions),
        bc.BCConfig(steps=3_000, validate_every=100),
        np.random.default_rng(0),
    )
    scores = [trainer.iterate()["losses/validation_score"] for _ in range(trainer.iterations)]
    assert max(scores) > scores[-1] + 0.5
    valid = torch.as_tensor(obs[trainer.valid_idx]), torch.as_tensor(actions[trainer.valid_idx])
    assert bc.validation_score(trainer.final_policy(), *valid) == max(scores)
    assert bc.validation_score(trainer.policy, *valid) == scores[-1]


# --- the shared loop: end to end, resumption -------------------------------------------------


TINY = LoopConfig(iterations=3, pairs_per_iteration=600, num_envs=4)


def make_learner(algo, task_name="cartpole", loop=TINY, seed=0):
    task = get_task(task_name)
    expert = load_dataset(task).expert_pairs(task.dataset_sizes[0])
    make_reward = {"fem": fem.FEMReward, "gtal": gtal.GTALReward, "gail": gail.GAILReward}[algo]
    return ImitationLoop(
        task.env_id, task.time_limit, task.ends_on_success, expert, make_reward, loop, seed
    )


@pytest.mark.parametrize("algo", ["fem", "gtal", "gail"])
def test_resumed_learner_ends_where_an_uninterrupted_one_does(algo):
    straight = make_learner(algo)
    for _ in range(3):
        metrics = straight.iterate()
    assert metrics["iteration"] == 3 and metrics["env_steps"] >= 3 * 600
    first = make_learner(algo)
    first.iterate()
    state = first.state_dict()
    resumed = make_learner(algo)
    resumed.load_state_dict(state)
    for _ in range(2):
        resumed.iterate()
    for a, b in zip(
        straight.policy.state_dict().values(), resumed.policy.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("algo", ["fem", "gtal", "gail"])
def test_learners_run_on_mujoco_and_on_a_task_that_ends_on_success(algo):
    for task_name in ("hopper", "mountaincar"):
        learner = make_learner(algo, task_name, LoopConfig(1, 500, num_envs=2))
        metrics = learner.iterate()
        assert np.isfinite(metrics["charts/true_return"]) and metrics["losses/kl"] >= 0
    # The paper's reward model sees the raw Gaussian samples; "clipped" shows it what the
    # simulator applied (this suite's behaviour before 2026-12).
    raw = load_dataset(get_task("hopper")).expert_pairs(4).actions
    hopper = make_learner(algo, "hopper", LoopConfig(1, 500, num_envs=2))
    np.testing.assert_array_equal(hopper.expert.actions, raw)
    clipped = LoopConfig(1, 500, num_envs=2, reward_actions="clipped")
    hopper = make_learner(algo, "hopper", clipped)
    assert np.abs(raw).max() > 1 >= np.abs(hopper.expert.actions).max()
