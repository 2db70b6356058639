import gymnasium as gym
import pytest

from algorithms.errors import UserInputError
from benchmark.tasks import TASKS, get_task

PAPER = {  # task: (env id, dataset sizes, subsample, iterations, pairs per iteration)
    "cartpole": ("CartPole-v1", (1, 4, 7, 10), 10, 300, 5_000),
    "acrobot": ("Acrobot-v1", (1, 4, 7, 10), 5, 300, 5_000),
    "mountaincar": ("MountainCar-v0", (1, 4, 7, 10), 5, 300, 5_000),
    "reacher": ("Reacher-v5", (4, 11, 18), 1, 200, 50_000),
    "halfcheetah": ("HalfCheetah-v5", (4, 11, 18, 25), 20, 500, 50_000),
    "hopper": ("Hopper-v5", (4, 11, 18, 25), 20, 500, 50_000),
    "walker": ("Walker2d-v5", (4, 11, 18, 25), 20, 500, 50_000),
    "ant": ("Ant-v5", (4, 11, 18, 25), 20, 500, 50_000),
    "humanoid": ("Humanoid-v5", (80, 160, 240), 20, 1_500, 50_000),
}


def test_registry_follows_the_protocol():
    assert set(TASKS) == set(PAPER)
    for name, (env_id, sizes, k, iters, pairs) in PAPER.items():
        t = TASKS[name]
        assert (t.env_id, t.dataset_sizes, t.subsample_every, t.iterations) == (
            env_id,
            sizes,
            k,
            iters,
        )
        assert t.pairs_per_iteration == pairs
        assert t.ends_on_success == (name in ("acrobot", "mountaincar"))
        assert t.notes


@pytest.mark.parametrize("name", list(PAPER))
def test_time_limits_match_gymnasium(name):
    task = TASKS[name]
    env = gym.make(task.env_id)
    assert env.spec.max_episode_steps == task.time_limit
    env.close()


def test_lookup_by_paper_name_or_gymnasium_id():
    assert get_task("hopper") is get_task("Hopper-v5") is get_task("HOPPER")


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(UserInputError, match=r"unknown task 'hoper'.*hopper \(Hopper-v5\)"):
        get_task("hoper")
