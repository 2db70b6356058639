"""The modern learners (GAIL with PPO, AIRL) and the interactive one (DAgger): exact checks of
their pieces, end-to-end runs on tiny budgets, resumption, and one learning test."""

import hashlib
import io
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from algorithms import airl, dagger, gail_ppo, ppo
from algorithms.data import Trajectories, subsample
from algorithms.errors import UserInputError
from algorithms.registry import LEARNERS
from algorithms.rollout import Sampler, derived_seed
from benchmark import profiles
from benchmark.__main__ import main
from benchmark.datasets import load_dataset
from benchmark.experts import evaluate, load_expert
from benchmark.profiles import PAPER_ALGOS, Profile
from benchmark.run import run
from benchmark.store import RESULTS_DIR
from benchmark.tasks import get_task

CARTPOLE = get_task("cartpole")
TINY = Profile(
    name="tiny",
    description="test budgets",
    budgets={
        "classic": {
            "iterations": 2,
            "pairs_per_iteration": 500,
            "bc_steps": 30,
            "bc_validate_every": 10,
        }
    },
    learners={"dagger": {"rounds": 2, "steps_per_round": 20}},
)


def episodes(obs_dim=3, lengths=(3, 2), terminated=(True, False), seed=0) -> Trajectories:
    rng = np.random.default_rng(seed)
    n = sum(lengths)
    return Trajectories(
        obs=rng.standard_normal((n, obs_dim)).astype(np.float32),
        actions=rng.integers(0, 2, n),
        rewards=np.ones(n),
        lengths=np.array(lengths),
        terminated=np.array(terminated),
        final_obs=rng.standard_normal((len(lengths), obs_dim)).astype(np.float32),
    )


# --- next observations -----------------------------------------------------------------------


def test_next_observations_follow_within_episodes_and_end_at_the_final_one():
    t = episodes()
    expected = np.stack([t.obs[1], t.obs[2], t.final_obs[0], t.obs[4], t.final_obs[1]])
    np.testing.assert_array_equal(t.next_obs, expected)
    # Only the last step of the terminated episode is terminal; the cut one's has a future.
    np.testing.assert_array_equal(t.terminal, [False, False, True, False, False])
    pairs = subsample(t, 2, np.array([0, 1]))  # rows 0, 2 of the first, 1 of the second
    np.testing.assert_array_equal(pairs.next_obs, expected[[0, 2, 4]])
    np.testing.assert_array_equal(pairs.terminal, [False, True, False])
    head = pairs.head(2)
    assert len(head) == 2 and head.next_obs.shape == (2, 3) and head.terminal.tolist() == [0, 1]


# --- AIRL ------------------------------------------------------------------------------------


def _airl_trainer(reward="logit", task=CARTPOLE):
    expert = load_dataset(CARTPOLE).expert_pairs(1)
    cfg = airl.AIRLConfig(iterations=1, pairs_per_iteration=200, num_envs=2, reward=reward)
    trainer = airl.make(task, expert, cfg, seed=0)
    torch.manual_seed(1)
    for net in (trainer.discriminator.g, trainer.discriminator.h):  # non-zero g and h
        torch.nn.init.normal_(net[-1].weight)
        torch.nn.init.normal_(net[-1].bias)
    return trainer


def test_airl_reward_is_g_plus_discounted_potential_change_minus_log_pi():
    trainer = _airl_trainer()
    disc, gamma = trainer.discriminator, trainer.cfg.ppo.gamma
    t = episodes(obs_dim=4)

    def by_hand(net, x):
        with torch.no_grad():
            return net(disc.obs_norm(torch.as_tensor(x)))[:, 0].double().numpy()

    g, h = by_hand(disc.g, t.obs), by_hand(disc.h, t.obs)
    h_next = by_hand(disc.h, t.next_obs)
    h_next[2] = 0.0  # after the termination nothing follows; the cut episode keeps h(s')
    f = g + gamma * h_next - h
    with torch.no_grad():
        params = trainer.policy.dist_params(torch.as_tensor(t.obs))
        log_pi = trainer.policy.log_prob(params, torch.as_tensor(t.actions)).double().numpy()
    reward = trainer.learned_reward(t)
    np.testing.assert_allclose(reward, f - log_pi, rtol=1e-5, atol=1e-5)
    # That is log D - log(1 - D) for D = exp(f) / (exp(f) + pi).
    d = np.exp(f) / (np.exp(f) + np.exp(log_pi))
    np.testing.assert_allclose(reward, np.log(d) - np.log(1 - d), rtol=1e-4, atol=1e-4)
    # What follows a terminal step does not matter; what follows a cut step does.
    moved = replace(t, final_obs=t.final_obs + 1.0)
    changed = trainer.learned_reward(moved) != reward
    np.testing.assert_array_equal(changed, [False, False, False, False, True])


def test_airl_generator_reward_forms_are_functions_of_the_same_logit():
    t = episodes(obs_dim=4)
    logit = _airl_trainer("logit").learned_reward(t)
    positive = _airl_trainer("auto").learned_reward(t)  # CartPole: falling ends the episode
    np.testing.assert_allclose(positive, np.log1p(np.exp(logit)), rtol=1e-5, atol=1e-6)
    assert np.all(positive > 0) and np.any(logit < 0)
    goal_ends = replace(CARTPOLE, ends_on_success=True)  # auto picks log D, as GAIL's rule
    log_d = _airl_trainer("auto", goal_ends).learned_reward(t)
    np.testing.assert_allclose(log_d, -np.log1p(np.exp(-logit)), rtol=1e-5, atol=1e-6)
    trainer = _airl_trainer("f")  # imitation's: the logit plus log pi
    f_only = trainer.learned_reward(t)
    with torch.no_grad():
        obs, actions = torch.as_tensor(t.obs), torch.as_tensor(t.actions)
        log_pi = trainer.policy.log_prob(trainer.policy.dist_params(obs), actions).numpy()
    np.testing.assert_allclose(f_only, logit + log_pi, rtol=1e-5, atol=1e-5)
    with pytest.raises(UserInputError, match="reward = 'g'; expected one of auto, logit"):
        airl.AIRLConfig(reward="g")


def _finite_difference_slope(trainer, t, log_pi, eps=1e-2, skip=frozenset()) -> float:
    """The R1 penalty by central differences over every real-valued input of every row but the
    (input, column) pairs in `skip`."""
    squares = torch.zeros(len(log_pi), dtype=torch.float64)
    for name, value in t.items():
        if not value.is_floating_point():
            continue
        flat = value.double().reshape(len(value), -1)
        for column in range(flat.shape[1]):
            if (name, column) in skip:
                continue
            moved = []
            for step in (eps, -eps):
                shifted = flat.clone()
                shifted[:, column] += step
                inputs = t | {name: shifted.reshape(value.shape).float()}
                moved.append(trainer.discriminator.logits(inputs, log_pi).double())
            squares += ((moved[0] - moved[1]) / (2 * eps)) ** 2
    return squares.mean().item()


@pytest.mark.parametrize("algo", ["gail_ppo", "airl"])
def test_the_gradient_penalty_is_the_mean_squared_slope_on_expert_pairs(algo):
    if algo == "airl":
        trainer = _airl_trainer("auto")
    else:
        trainer = _tiny_trainer("gail_ppo")
        trainer.iterate()  # a step away from the zero output layer, whose slope is 0
    t = gail_ppo.transitions(trainer.expert, slice(0, 16))
    t = {k: v.float() if v.is_floating_point() else v for k, v in t.items()}
    log_pi = torch.zeros(16)
    with torch.no_grad():
        expected = _finite_difference_slope(trainer, t, log_pi)
    assert expected > 0
    assert trainer.slope(t, log_pi).item() == pytest.approx(expected, rel=1e-2)


@pytest.mark.parametrize("algo", ["gail_ppo", "airl"])
def test_the_gradient_penalty_leaves_out_inputs_that_never_varied(algo):
    if algo == "airl":
        trainer = _airl_trainer("auto")
        norm, inputs = trainer.discriminator.obs_norm, ("obs", "next_obs")
    else:
        trainer = _tiny_trainer("gail_ppo")
        trainer.iterate()
        norm, inputs = trainer.discriminator.inner.input_norm, ("obs",)
    t = gail_ppo.transitions(trainer.expert, slice(0, 16))
    t = {k: v.float() if v.is_floating_point() else v for k, v in t.items()}
    # Observation column 1 as a contact force that stayed at one value in all the data seen:
    # its standardised value is 0, its gradient 1 / 1e-4 times its weights.
    norm.sum_sq_dev[1] = 0.0
    for name in inputs:
        t[name][:, 1] = norm.mean[1].float()
    log_pi = torch.zeros(16)
    with torch.no_grad():
        expected = _finite_difference_slope(
            trainer, t, log_pi, eps=3e-3, skip={(n, 1) for n in inputs}
        )
    assert expected > 0
    assert trainer.slope(t, log_pi).item() == pytest.approx(expected, rel=1e-2)


def test_the_gradient_penalty_enters_the_discriminators_fit_only_when_set():
    expert = load_dataset(CARTPOLE).expert_pairs(1)
    cfg = replace(airl.AIRLConfig(), iterations=2, pairs_per_iteration=200, num_envs=2)
    fitted = []
    for weight in (0.0, 0.0, 10.0):
        trainer = airl.make(CARTPOLE, expert, replace(cfg, grad_penalty=weight), seed=0)
        trainer.iterate()
        fitted.append(torch.cat([p.flatten() for p in trainer.discriminator.parameters()]))
    assert torch.equal(fitted[0], fitted[1]) and not torch.allclose(fitted[0], fitted[2])
    # Logged apart. The discriminator's last layer starts at zero, where the logit has no slope
    # and the penalty no gradient, so both fits are the same up to the second round's step,
    # whose logistic loss is logged as it was before it.
    ppo = replace(gail_ppo.GAILPPOConfig(), iterations=2, pairs_per_iteration=200, num_envs=2)
    logged = []
    for weight in (0.0, 10.0):
        trainer = gail_ppo.make(CARTPOLE, expert, replace(ppo, grad_penalty=weight), seed=0)
        logged.append([trainer.iterate() for _ in range(2)][-1])
    loss, slope = "losses/discriminator_loss", "losses/discriminator_slope"
    assert logged[1][loss] == logged[0][loss] and logged[0][slope] == 0 < logged[1][slope]


@pytest.mark.parametrize("algo", ["gail_ppo", "airl"])
def test_the_diagnostics_show_a_discriminator_that_wins(algo):
    """Many discriminator steps against the untrained policy: the accuracies and rewards it
    logs are those after its steps, so they show the expert told apart from the policy."""
    expert = load_dataset(CARTPOLE).expert_pairs(1)
    cfg = LEARNERS[algo].config()
    cfg = replace(cfg, iterations=1, pairs_per_iteration=400, num_envs=2, disc_updates=300)
    metrics = LEARNERS[algo].make(CARTPOLE, expert, cfg, 0).iterate()
    assert metrics["losses/discriminator_expert_accuracy"] > 0.9
    assert metrics["losses/discriminator_policy_accuracy"] > 0.9
    assert metrics["charts/reward_on_expert"] > metrics["charts/reward_on_policy"]


def test_the_reward_is_centred_only_where_the_setting_and_the_task_say():
    """CartPole's episodes end early: "fixed_length" leaves its reward as "never" does."""
    expert = load_dataset(CARTPOLE).expert_pairs(1)
    cfg = replace(gail_ppo.GAILPPOConfig(), iterations=2, pairs_per_iteration=300, num_envs=2)
    policies = []
    for setting in ("never", "fixed_length", "always"):
        trainer = gail_ppo.make(CARTPOLE, expert, replace(cfg, reward_center=setting), seed=0)
        for _ in range(2):
            trainer.iterate()
        policies.append(torch.cat([p.flatten() for p in trainer.policy.parameters()]))
    assert torch.equal(policies[0], policies[1]) and not torch.allclose(policies[0], policies[2])
    assert gail_ppo.centres_reward("fixed_length", fixed_length=True)
    with pytest.raises(UserInputError, match="reward_center"):
        replace(cfg, reward_center="yes")


def test_airl_refuses_a_dataset_without_next_observations():
    expert = load_dataset(CARTPOLE).expert_pairs(1)
    bare = type(expert)(expert.obs, expert.actions)
    with pytest.raises(UserInputError, match="needs each expert pair's next observation"):
        airl.make(CARTPOLE, bare, airl.AIRLConfig(), seed=0)


# --- PPO -------------------------------------------------------------------------------------


def test_clipped_objective_stops_pulling_only_past_the_clip_in_the_favoured_direction():
    eps = 0.2
    ratios = torch.tensor([0.5, 0.9, 1.1, 1.5])  # below, inside, inside, above [0.8, 1.2]
    for sign in (1.0, -1.0):
        logp = ratios.log().clone().requires_grad_(True)
        advantages = torch.full((4,), sign)
        ppo.clipped_surrogate(logp, torch.zeros(4), advantages, eps).backward()
        grad = logp.grad.numpy()
        # Inside the clip: d/dlogp of -r A / n = -r A / n.
        np.testing.assert_allclose(grad[1:3], -(ratios[1:3] * sign / 4).numpy(), rtol=1e-6)
        if sign > 0:  # a favoured action: no push above 1 + eps, a pull back up below 1 - eps
            assert grad[3] == 0 and grad[0] < 0
        else:  # an unfavoured one: no push below 1 - eps, a pull back down above 1 + eps
            assert grad[0] == 0 and grad[3] > 0


def test_advantages_bootstrap_only_where_the_time_limit_cut_the_episode():
    value_fn = ppo.ValueNet(3)
    torch.nn.init.normal_(value_fn.net[-1].weight)
    t = episodes()
    rewards = np.zeros(t.num_steps)
    cfg = ppo.PPOConfig(gamma=0.9, lam=1.0)
    adv, returns = ppo.advantages_and_returns(value_fn, t, rewards, cfg)
    v_final = value_fn.predict(t.final_obs)
    # With lambda 1 and zero rewards the return is gamma^k V(final) or 0 after termination.
    np.testing.assert_allclose(returns[:3], 0.0, atol=1e-9)
    np.testing.assert_allclose(returns[3:], [0.81 * v_final[1], 0.9 * v_final[1]], rtol=1e-6)
    np.testing.assert_allclose(adv, returns - value_fn.predict(t.obs), rtol=1e-6)


# --- DAgger ----------------------------------------------------------------------------------


def test_dagger_round_adds_the_learners_states_labelled_by_the_expert():
    expert = load_dataset(CARTPOLE).expert_pairs(1)
    expert_policy = load_expert(CARTPOLE)
    bc_cfg = replace(dagger.DAggerConfig().bc, steps=21, validate_every=10)
    # beta 0: the learner alone acts, so its states are exactly a replay of its own actor.
    cfg = dagger.DAggerConfig(
        rounds=1, pairs_per_round=300, beta_decay=0.0, steps_per_round=5, num_envs=2, bc=bc_cfg
    )
    trainer = LEARNERS["dagger"].make(CARTPOLE, expert, cfg, 0, expert_policy=expert_policy)
    while trainer.iteration < trainer.bc.iterations:
        trainer.iterate()
    before = len(trainer.obs)
    learner_actor, round_seed = trainer.policy.actor(None), derived_seed(0, trainer.iteration)
    metrics = trainer.iterate()
    with Sampler(CARTPOLE.env_id, 2, round_seed) as envs:
        visited = envs.collect(learner_actor, min_steps=300)
    np.testing.assert_array_equal(trainer.obs[:before], expert.obs)
    np.testing.assert_array_equal(trainer.obs[before:], visited.obs)
    np.testing.assert_array_equal(trainer.actions[before:], expert_policy.actor(None)(visited.obs))
    assert metrics["env_steps"] == visited.num_steps == len(trainer.obs) - before
    assert metrics["charts/true_return"] == pytest.approx(visited.episode_returns.mean())


# --- the registry and the harness ------------------------------------------------------------


def test_modern_learners_are_registered_apart_from_the_paper():
    expected = {
        "gail_ppo": ("GAIL (PPO)", "modern", False),
        "airl": ("AIRL", "modern", False),
        "dagger": ("DAgger (interactive)", "interactive", True),
    }
    for name, entry in expected.items():
        learner = LEARNERS[name]
        assert (learner.label, learner.group, learner.needs_expert_policy) == entry
        assert name not in PAPER_ALGOS
    assert TINY.config("dagger", CARTPOLE).bc.steps == 30
    assert TINY.config("dagger", CARTPOLE).pairs_per_round == 500
    assert TINY.config("airl", CARTPOLE).iterations == 2


@pytest.mark.parametrize("algo", ["gail_ppo", "airl", "dagger"])
def test_a_run_of_each_writes_its_record(tmp_path, algo):
    record = run(CARTPOLE, algo, 1, 0, TINY, tmp_path, show_progress=False)
    folder = tmp_path / "tiny" / "cartpole" / algo / "n1" / "s0"
    config = json.loads((folder / "config.json").read_text())
    assert config["label"] == LEARNERS[algo].label
    # An interactive run names the expert policy it queried; the others do not query one.
    assert ("expert_policy_sha256" in config) == (algo == "dagger")
    assert record["episodes"] == 50 and np.isfinite(record["normalized_return"])
    assert record["env_steps"] >= 2 * 500  # two iterations or two rounds of 500 pairs
    rows = (folder / "metrics.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == (4 + 2 if algo == "dagger" else 2)  # DAgger: BC's 0, 10, 20, 29, 2 rounds


def _tiny_trainer(algo: str):
    expert = load_dataset(CARTPOLE).expert_pairs(1)
    if algo == "dagger":
        bc_cfg = replace(dagger.DAggerConfig().bc, steps=11, validate_every=10)
        cfg = dagger.DAggerConfig(
            rounds=2, pairs_per_round=300, steps_per_round=20, num_envs=2, bc=bc_cfg
        )
        return LEARNERS[algo].make(CARTPOLE, expert, cfg, 3, expert_policy=load_expert(CARTPOLE))
    cfg = replace(LEARNERS[algo].config(), iterations=3, pairs_per_iteration=400, num_envs=2)
    return LEARNERS[algo].make(CARTPOLE, expert, cfg, 3)


@pytest.mark.parametrize("algo", ["gail_ppo", "dagger"])
def test_a_resumed_trainer_ends_where_an_uninterrupted_one_does(algo):
    straight = _tiny_trainer(algo)
    while straight.iteration < straight.iterations:
        straight.iterate()
    first = _tiny_trainer(algo)
    for _ in range(2):
        first.iterate()
    saved = io.BytesIO()
    torch.save(first.state_dict(), saved)
    saved.seek(0)
    resumed = _tiny_trainer(algo)
    resumed.load_state_dict(torch.load(saved, weights_only=True))
    while resumed.iteration < resumed.iterations:
        resumed.iterate()
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("policy", "discriminator", "value_fn") if algo == "gail_ppo" else ("policy",):
        for x, y in zip(a[key].values(), b[key].values(), strict=True):
            torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert a["rng"] == b["rng"] and a["env_steps"] == b["env_steps"]


def test_time_to_expert_takes_a_learner_and_reports_cpu_seconds(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", tmp_path)
    (tmp_path / "tiny.toml").write_text(
        "[budget.classic]\niterations = 2\npairs_per_iteration = 500\n"
    )
    argv = ["bench", "time-to-expert", "--task", "cartpole", "--n-traj", "1", "--profile", "tiny"]
    assert main(argv + ["--algo", "gail_ppo", "--eval-every", "1", "--threshold", "-100"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["algo"] == "gail_ppo" and len(result["curve"]) == 2
    assert 0 < result["cpu_s_to_-100"] <= result["cpu_s"]
    assert result["env_steps_to_-100"] == result["curve"][0][0]
    # The simulator's time without the policy's inference, as the shared loop splits it
    assert set(result["time_split_s"]) >= {"simulation_s", "inference_s", "policy_s"}
    assert main(argv + ["--algo", "nonesuch"]) == 2
    assert "unknown algorithm 'nonesuch'" in capsys.readouterr().err


# --- learning --------------------------------------------------------------------------------


@pytest.mark.slow
def test_gail_ppo_learns_cartpole_from_one_trajectory():
    """Three seeds at about 100,000 env steps each: every one clearly above random (which
    scores 0 normalised) on 20 deterministic episodes."""
    dataset = load_dataset(CARTPOLE)
    cfg = replace(gail_ppo.GAILPPOConfig(), iterations=25, pairs_per_iteration=4_096)
    scores = []
    for seed in range(3):
        trainer = gail_ppo.make(CARTPOLE, dataset.expert_pairs(1), cfg, seed, num_threads=1)
        while trainer.iteration < trainer.iterations:
            trainer.iterate()
        mean = evaluate(trainer.final_policy(), CARTPOLE, 20, seed=100 + seed, deterministic=True)
        scores.append(dataset.normalize(mean["mean_return"]))
    assert min(scores) > 0.5, scores


def test_dagger_queries_the_expert_its_dataset_was_sampled_from(tmp_path):
    # Learning from the suite's own experts' demonstrations, DAgger asks the suite's expert too.
    reacher = get_task("reacher")
    datasets = RESULTS_DIR / "datasets-suite"
    tiny = replace(TINY, budgets={"reacher": TINY.budgets["classic"]})
    run(reacher, "dagger", 1, 0, tiny, tmp_path, datasets, show_progress=False)
    config = json.loads((tmp_path / "tiny/reacher/dagger/n1/s0/config.json").read_text())
    expert = RESULTS_DIR / "experts-suite/reacher/expert.pt"
    assert config["expert_policy_sha256"] == hashlib.sha256(expert.read_bytes()).hexdigest()
