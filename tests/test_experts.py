import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from algorithms.errors import UserInputError
from algorithms.imitation import EnvironmentReward, ImitationLoop
from algorithms.sac import SACConfig, SACTrainer
from benchmark.__main__ import main
from benchmark.experts import (
    TRPOExpertConfig,
    cartpole_centred,
    evaluate,
    load_expert,
    mountaincar_speed,
    save_expert,
    train_expert,
)
from benchmark.tasks import get_task

TINY_TRPO = TRPOExpertConfig(iterations=4, pairs_per_iteration=500, num_envs=4, checkpoint_every=2)
TINY_SAC = SACConfig(
    total_steps=500,
    start_steps=200,
    batch_size=32,
    hidden=32,
    buffer_size=5_000,
    checkpoint_every=10_000,
)


def assert_same_weights(a, b):
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_resumed_trpo_training_ends_with_the_same_expert(tmp_path, iterations_run):
    task = get_task("cartpole")
    straight, _ = train_expert(task, TINY_TRPO, tmp_path / "straight")
    # Interrupted after the checkpoint at iteration 2, then started again with the full budget.
    train_expert(task, TRPOExpertConfig(**{**TINY_TRPO.__dict__, "iterations": 2}), tmp_path / "r")
    ran = iterations_run(ImitationLoop)
    resumed, history = train_expert(task, TINY_TRPO, tmp_path / "r")
    assert ran == [2, 3]
    assert_same_weights(straight, resumed)
    assert [h["iteration"] for h in history] == [1, 2, 3, 4]


def test_resumed_sac_training_ends_with_the_same_expert(tmp_path, iterations_run):
    task = get_task("hopper")
    straight, _ = train_expert(task, TINY_SAC, tmp_path / "straight", seed=3)
    # The first sitting stops at the first episode end past 250 steps and checkpoints there.
    first = SACConfig(**{**TINY_SAC.__dict__, "total_steps": 250})
    train_expert(task, first, tmp_path / "r", seed=3)
    ran = iterations_run(SACTrainer)  # its iteration counts env steps
    resumed, history = train_expert(task, TINY_SAC, tmp_path / "r", seed=3)
    assert ran[0] >= 250
    assert_same_weights(straight, resumed)
    steps = [h["env_steps"] for h in history]
    assert steps == sorted(steps) and steps[-1] >= 500


def test_sac_refuses_a_checkpoint_torn_between_its_two_files(tmp_path):
    task = get_task("hopper")
    train_expert(task, TINY_SAC, tmp_path, seed=0)
    replay = torch.load(tmp_path / "sac" / "replay.pt", weights_only=False)
    replay["iteration"] -= 1
    torch.save(replay, tmp_path / "sac" / "replay.pt")
    with pytest.raises(UserInputError, match="interrupted while saving"):
        train_expert(task, TINY_SAC, tmp_path, seed=0)


def test_sac_goes_on_without_its_replay_buffer_after_refilling_it(tmp_path):
    # A fresh clone holds the committed state.pt but not the ignored replay.pt.
    task = get_task("hopper")
    train_expert(task, SACConfig(**{**TINY_SAC.__dict__, "total_steps": 250}), tmp_path, seed=3)
    (tmp_path / "sac" / "replay.pt").unlink()
    before = len(torch.load(tmp_path / "sac" / "state.pt", weights_only=False)["history"])
    with pytest.warns(UserWarning, match="refilled by 200 steps of the current policy"):
        _, history = train_expert(task, TINY_SAC, tmp_path, seed=3)
    resumed = history[before:]
    assert resumed[0]["buffer_refilled"] and history[before - 1]["env_steps"] >= 250
    # No update until the policy has put start_steps new pairs in the buffer, then one per step.
    refill_end = history[before - 1]["env_steps"] + TINY_SAC.start_steps
    assert all("critic_loss" not in h for h in resumed if h["env_steps"] < refill_end)
    assert "critic_loss" in resumed[-1] and resumed[-1]["env_steps"] >= 500


def test_sac_refuses_to_resume_with_another_recipe(tmp_path):
    task = get_task("hopper")
    train_expert(task, SACConfig(**{**TINY_SAC.__dict__, "total_steps": 250}), tmp_path, seed=0)
    other = SACConfig(**{**TINY_SAC.__dict__, "batch_size": 64})
    with pytest.raises(UserInputError, match="batch_size differ"):
        train_expert(task, other, tmp_path, seed=0)


@pytest.mark.parametrize("task_name, recipe", [("cartpole", TINY_TRPO), ("hopper", TINY_SAC)])
def test_saved_expert_loads_and_evaluates_through_the_cli(tmp_path, capsys, task_name, recipe):
    task = get_task(task_name)
    policy, history = train_expert(task, recipe, tmp_path / task.name)
    card = save_expert(policy, history, task, recipe, tmp_path / task.name)
    assert card["stochastic"]["episodes"] == len(card["stochastic"]["returns"]) == 50
    assert set(card["versions"]) >= {"gymnasium", "mujoco", "envpool", "torch"}
    assert_same_weights(policy, load_expert(task, tmp_path))
    # The card's deterministic score is the evaluate command's, for the same seed.
    argv = ["expert", "evaluate", "--task", task_name, "--episodes", "50", "--seed", "1"]
    assert main(argv + ["--deterministic", "--experts", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["task"] == task_name and result["episodes"] == 50
    assert result["mean_return"] == pytest.approx(card["deterministic"]["mean_return"])


def test_evaluate_reports_every_episode(tmp_path):
    task = get_task("cartpole")
    policy, _ = train_expert(
        task, TRPOExpertConfig(iterations=1, pairs_per_iteration=200), tmp_path
    )
    result = evaluate(policy, task, episodes=5, seed=0, deterministic=True)
    assert result["episodes"] == len(result["returns"]) == 5


def test_missing_expert_is_one_clear_error(tmp_path, capsys):
    assert main(["expert", "evaluate", "--task", "ant", "--experts", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no expert for ant") and "expert train --task ant" in err


def test_the_training_bonuses_pay_what_their_docstrings_say():
    cart_at = np.array([[0.0, 1, 1, 1], [2.4, 0, 0, 0], [-1.2, 0, 0, 0]])
    np.testing.assert_allclose(cartpole_centred(cart_at), [0.0, -1.0, -0.5])
    np.testing.assert_allclose(
        mountaincar_speed(np.array([[-0.5, 0.07], [0.3, -0.02]])), [0.7, 0.2]
    )
    batch = SimpleNamespace(rewards=np.ones(3), obs=cart_at)
    np.testing.assert_allclose(EnvironmentReward(cartpole_centred).reward(batch), [1.0, 0.0, 0.5])
    np.testing.assert_allclose(EnvironmentReward().reward(batch), [1.0, 1.0, 1.0])
