import gymnasium as gym
import pytest

from algorithms.errors import UserInputError
from benchmark.tasks import PAPER_TASKS, TASKS, get_task

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
    assert set(PAPER_TASKS) == set(PAPER)  # tasks added since join only profiles naming them
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


@pytest.mark.parametrize("name", list(TASKS))
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


def test_adding_a_task_is_one_entry_and_one_recipe(tmp_path, monkeypatch, capsys):
    """docs/extending.md's worked example at a tiny budget: a Task, a recipe, then the commands."""
    from benchmark.__main__ import main
    from benchmark.experts import RECIPES, TRPOExpertConfig
    from benchmark.profiles import load_profile
    from benchmark.tasks import Task

    pendulum = Task(
        name="pendulum",
        env_id="InvertedPendulum-v5",
        time_limit=1000,
        dataset_sizes=(1, 2),
        subsample_every=1,
        iterations=2,
        pairs_per_iteration=1_000,
        bc_steps=21,
        bc_validate_every=10,
        runs_per_cell=1,
        ends_on_success=False,
        is_mujoco=True,
        notes="Not in the paper.",
    )
    monkeypatch.setitem(TASKS, "pendulum", pendulum)
    assert main(["expert", "train", "--task", "pendulum", "--experts", str(tmp_path)]) == 2
    assert "has no expert recipe" in capsys.readouterr().err
    monkeypatch.setitem(
        RECIPES, "pendulum", TRPOExpertConfig(iterations=2, pairs_per_iteration=500)
    )
    folders = ["--experts", str(tmp_path / "experts"), "--datasets", str(tmp_path / "datasets")]
    assert main(["expert", "train", "--task", "pendulum", folders[0], folders[1]]) == 0
    assert main(["dataset", "make", "--task", "pendulum", *folders]) == 0
    profile = tmp_path / "mine.toml"
    profile.write_text('[[grid]]\ntasks = ["pendulum"]\nalgorithms = ["bc", "gail"]\n')
    for algo in ("bc", "gail"):
        command = ["run", "--task", "pendulum", "--algo", algo, "--n-traj", "2"]
        command += ["--profile", str(profile), "--runs", str(tmp_path / "runs"), *folders[2:]]
        assert main(command) == 0
    assert (tmp_path / "runs" / "mine" / "pendulum" / "gail" / "n2" / "s0" / "eval.json").exists()
    assert "pendulum" not in {spec.task for spec in load_profile("paper").runs()}
