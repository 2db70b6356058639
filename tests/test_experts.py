import torch

from benchmark.experts import ExpertConfig, evaluate, train_expert
from benchmark.tasks import get_task

TINY = ExpertConfig(iterations=4, pairs_per_iteration=500, num_envs=4, checkpoint_every=2)


def test_resumed_training_ends_with_the_same_expert(tmp_path):
    task = get_task("cartpole")
    straight = train_expert(task, TINY, tmp_path / "straight")
    # Interrupted after the checkpoint at iteration 2, then started again with the full budget.
    train_expert(task, ExpertConfig(**{**TINY.__dict__, "iterations": 2}), tmp_path / "resumed")
    resumed = train_expert(task, TINY, tmp_path / "resumed")
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    saved = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert [h["iteration"] for h in saved["history"]] == [1, 2, 3, 4]


def test_evaluate_reports_every_episode(tmp_path):
    task = get_task("cartpole")
    cfg = ExpertConfig(iterations=1, pairs_per_iteration=200, num_envs=2)
    policy = train_expert(task, cfg, tmp_path)
    result = evaluate(policy, task, episodes=5, seed=0, deterministic=True)
    assert result["episodes"] == len(result["returns"]) == 5
