import json

import numpy as np
import pytest
import torch

from algorithms.distill import DistillConfig, distill
from algorithms.errors import UserInputError
from algorithms.rollout import Sampler
from benchmark.experts import (
    DistilledExpertConfig,
    TRPOExpertConfig,
    load_expert,
    save_expert,
    train_expert,
)
from benchmark.tasks import get_task

ENV = "Reacher-v5"  # 10 observations, 2 actions, 50 steps an episode
TINY = DistillConfig(
    log_std=(-1.5, -2.0), rounds=3, steps_per_round=500, updates_per_round=300, num_envs=4
)


def linear_teacher(obs: np.ndarray) -> np.ndarray:
    weights = np.linspace(-0.2, 0.2, 20, dtype=np.float32).reshape(10, 2)
    return obs @ weights


def test_student_learns_a_linear_teacher_at_the_fixed_log_std():
    student, history = distill(linear_teacher, ENV, TINY, seed=0)
    errors = [row["losses/mse"] for row in history]
    assert [row["round"] for row in history] == [0, 1, 2]
    assert errors[-1] < errors[0] / 2
    torch.testing.assert_close(student.log_std.detach(), torch.tensor([-1.5, -2.0]))
    # Its mean is close to the teacher's on fresh states of its own (stochastic) episodes.
    with Sampler(ENV, num_envs=4, seed=99) as sampler:
        obs = sampler.collect(student.actor(np.random.default_rng(99)), min_steps=200).obs
    error = ((student.actor(None)(obs) - linear_teacher(obs)) ** 2).sum(-1).mean()
    assert error < 0.1 * (linear_teacher(obs) ** 2).sum(-1).mean()


def test_same_seed_same_student():
    a, history_a = distill(linear_teacher, ENV, TINY, seed=4)
    b, history_b = distill(linear_teacher, ENV, TINY, seed=4)
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert [r["losses/mse"] for r in history_a] == [r["losses/mse"] for r in history_b]


def test_log_std_of_the_wrong_length_is_one_clear_error():
    cfg = DistillConfig(log_std=(-1.0,), rounds=1, steps_per_round=50, num_envs=1)
    with pytest.raises(UserInputError, match="one log-std per action dimension"):
        distill(linear_teacher, ENV, cfg)


@pytest.mark.parametrize("rounds", [0, 1])
def test_distilled_expert_round_trip(tmp_path, rounds):
    task = get_task("reacher")
    recipe = DistilledExpertConfig(
        teacher=TRPOExpertConfig(iterations=1, pairs_per_iteration=200, num_envs=4),
        distill=DistillConfig(
            log_std=(-1.2, -0.8),
            rounds=rounds,
            steps_per_round=200,
            updates_per_round=50,
            num_envs=4,
        ),
    )
    out_dir = tmp_path / task.name
    policy, history = train_expert(task, recipe, out_dir)
    card = save_expert(policy, history, task, recipe, out_dir)
    assert (out_dir / "teacher" / "expert.pt").exists()
    loaded = load_expert(task, tmp_path)
    for x, y in zip(policy.state_dict().values(), loaded.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    saved = json.loads((out_dir / "card.json").read_text())
    assert saved["algorithm"] == "distilled" and saved["teacher"]["algorithm"] == "trpo"
    assert saved["policy"]["family"] == "gaussian, state-independent std"
    assert saved["policy"]["log_std"] == [-1.2, -0.8] and saved["policy"]["mean_log_std"] == -1.0
    assert card["stochastic"]["episodes"] == 50
    # Made again, the committed teacher is loaded, not trained again: the same expert.
    teacher_written = (out_dir / "teacher" / "expert.pt").stat().st_mtime_ns
    again, _ = train_expert(task, recipe, out_dir)
    assert (out_dir / "teacher" / "expert.pt").stat().st_mtime_ns == teacher_written
    for x, y in zip(policy.state_dict().values(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_fine_tuning_moves_the_mean_and_keeps_the_log_std(tmp_path):
    task = get_task("reacher")
    teacher = TRPOExpertConfig(iterations=1, pairs_per_iteration=200, num_envs=4)
    few = DistillConfig(log_std=(-1.2, -0.8), rounds=1, steps_per_round=200, num_envs=4)
    distilled = DistilledExpertConfig(teacher=teacher, distill=few)
    tuned = DistilledExpertConfig(
        teacher=teacher, distill=few, finetune_iterations=2, finetune_pairs=500
    )
    before, history = train_expert(task, distilled, tmp_path / "distilled")
    after, tuned_history = train_expert(task, tuned, tmp_path / "tuned")
    assert (tmp_path / "tuned" / "finetune.pt").exists()
    torch.testing.assert_close(after.log_std, before.log_std, rtol=0, atol=0)
    assert not torch.equal(after.net[0].weight, before.net[0].weight)
    # The fine-tuning's rows follow the distillation's, their steps counted on from its last.
    steps = [row["env_steps"] for row in tuned_history]
    assert steps[: len(history)] == [row["env_steps"] for row in history]
    assert len(steps) == len(history) + 2 and steps[-1] > steps[-2] > steps[-3]
