import csv
import json

import numpy as np
import pytest

from algorithms.errors import UserInputError
from algorithms.imitation import ImitationLoop
from algorithms.policies import make_policy
from benchmark import profiles, store
from benchmark.__main__ import main
from benchmark.profiles import Profile, load_profile
from benchmark.run import run
from benchmark.store import RESULTS_DIR
from benchmark.tasks import get_task

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
)
CARTPOLE = get_task("cartpole")


@pytest.mark.parametrize("algo", ["bc", "fem", "gtal", "gail"])
def test_a_run_writes_its_record_and_is_not_redone(tmp_path, algo):
    record = run(CARTPOLE, algo, 4, 1, TINY, tmp_path)
    folder = tmp_path / "tiny" / "cartpole" / algo / "n4" / "s1"
    config = json.loads((folder / "config.json").read_text())
    assert config["dataset_sha256"] and config["code_version"] and config["seed"] == 1
    assert config["expert_pairs"] > 0 and config["profile"] == "tiny"
    assert config["versions"]["cpu"].endswith(")")  # e.g. "AMD EPYC (AVX2)"
    rows = list(csv.DictReader((folder / "metrics.csv").open()))
    assert len(rows) == (4 if algo == "bc" else 2)  # BC: validations at 0, 10, 20, 29
    evaluation = json.loads((folder / "eval.json").read_text())
    assert evaluation["episodes"] == len(evaluation["returns"]) == 50
    expected = (evaluation["mean_return"] - config["random_score"]) / (
        config["expert_score"] - config["random_score"]
    )
    assert evaluation["normalized_return"] == pytest.approx(expected)
    stamp = (folder / "eval.json").stat().st_mtime_ns
    assert run(CARTPOLE, algo, 4, 1, TINY, tmp_path) == record
    assert (folder / "eval.json").stat().st_mtime_ns == stamp


def _untimed(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("wall_s", "cpu_s")}


def test_same_seed_same_record(tmp_path):
    first = run(CARTPOLE, "gail", 1, 3, TINY, tmp_path / "a")
    second = run(CARTPOLE, "gail", 1, 3, TINY, tmp_path / "b")
    assert _untimed(first) == _untimed(second)


def test_an_interrupted_run_resumes_to_the_same_record(tmp_path, monkeypatch, iterations_run):
    straight = run(CARTPOLE, "gail", 1, 0, TINY, tmp_path / "straight", checkpoint_every=1)
    iterate = ImitationLoop.iterate

    def killed_during_the_second_iteration(learner):
        if learner.iteration == 1:
            raise KeyboardInterrupt
        return iterate(learner)

    monkeypatch.setattr(ImitationLoop, "iterate", killed_during_the_second_iteration)
    with pytest.raises(KeyboardInterrupt):
        run(CARTPOLE, "gail", 1, 0, TINY, tmp_path / "killed", checkpoint_every=1)
    monkeypatch.undo()
    ran = iterations_run(ImitationLoop)
    resumed = run(CARTPOLE, "gail", 1, 0, TINY, tmp_path / "killed", checkpoint_every=1)
    assert ran == [1]  # from the checkpoint of the first iteration, not from the start
    assert _untimed(resumed) == _untimed(straight)


def test_a_run_refuses_a_folder_started_with_another_config(tmp_path):
    run(CARTPOLE, "bc", 1, 0, TINY, tmp_path)
    folder = tmp_path / "tiny" / "cartpole" / "bc" / "n1" / "s0"
    (folder / "eval.json").unlink()
    other = Profile("tiny", "", {"classic": TINY.budgets["classic"] | {"bc_steps": 31}})
    with pytest.raises(UserInputError, match="made with another config \\(settings.steps differ"):
        run(CARTPOLE, "bc", 1, 0, other, tmp_path)


def test_a_setting_added_after_a_run_at_its_default_leaves_the_run_as_it_was(tmp_path):
    done = run(CARTPOLE, "bc", 1, 0, TINY, tmp_path)
    config_file = tmp_path / "tiny" / "cartpole" / "bc" / "n1" / "s0" / "config.json"
    config = json.loads(config_file.read_text())
    del config["settings"]["batch_size"]  # at its default: as if the run predated the setting
    config_file.write_text(json.dumps(config))
    assert run(CARTPOLE, "bc", 1, 0, TINY, tmp_path) == done
    del config["settings"]["steps"]  # the profile's, not the default: the run is another one
    config_file.write_text(json.dumps(config))
    with pytest.raises(UserInputError, match="another config \\(settings.steps differ"):
        run(CARTPOLE, "bc", 1, 0, TINY, tmp_path)


def test_a_record_resumed_by_other_code_names_every_commit_and_is_not_stale(tmp_path):
    folder = tmp_path / "run"
    config = {"seed": 0, "code_version": "first"}
    for sitting in ("first", "first", "second", "first"):
        store.start_record(folder, config | {"code_version": sitting})
    recorded = store.read_json(folder / "config.json")
    assert recorded["code_version"] == "first"
    assert recorded["code_versions"] == ["first", "second", "first"]
    assert store.config_changes(folder, config | {"code_version": "third"}) == []


def _budget(iterations: int) -> Profile:
    return Profile("tiny", "", {"classic": TINY.budgets["classic"] | {"iterations": iterations}})


def test_a_finished_run_given_more_iterations_trains_on_to_the_longer_runs_record(
    tmp_path, iterations_run
):
    longer = run(CARTPOLE, "gail", 1, 0, _budget(3), tmp_path / "straight", checkpoint_every=1)
    run(CARTPOLE, "gail", 1, 0, TINY, tmp_path / "grown", checkpoint_every=1)
    ran = iterations_run(ImitationLoop)
    grown = run(CARTPOLE, "gail", 1, 0, _budget(3), tmp_path / "grown", checkpoint_every=1)
    assert ran == [2]
    assert _untimed(grown) == _untimed(longer)
    folder = tmp_path / "grown" / "tiny" / "cartpole" / "gail" / "n1" / "s0"
    assert len(list(csv.DictReader((folder / "metrics.csv").open()))) == 3
    assert json.loads((folder / "config.json").read_text())["settings"]["loop"]["iterations"] == 3
    # Fewer iterations than a run was trained for cannot be had from its checkpoint.
    with pytest.raises(UserInputError, match="settings.loop.iterations differ"):
        run(CARTPOLE, "gail", 1, 0, TINY, tmp_path / "grown")


def test_profiles_load_and_bad_ones_get_one_line(tmp_path, monkeypatch, capsys):
    assert load_profile("paper").budget(CARTPOLE).iterations == CARTPOLE.iterations
    assert load_profile("quick").budget(get_task("hopper")).pairs_per_iteration == 20_000
    assert load_profile("standard").targets[0].at_least == 0.9
    # FEM and GTAL as the authors computed them where constant inputs make it count (decisions.md)
    standard, paper = load_profile("standard"), load_profile("paper")
    for algo in ("fem", "gtal"):
        floors = {t: standard.config(algo, get_task(t)).std_floor for t in ("ant", "hopper")}
        assert floors == {"ant": 1e-6, "hopper": 1e-8}
        assert paper.config(algo, get_task("hopper")).shift_from_zero
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", tmp_path)
    (tmp_path / "broken.toml").write_text("[budget.classic\n")
    with pytest.raises(UserInputError, match="broken.toml is not valid TOML"):
        load_profile("broken")
    (tmp_path / "typo.toml").write_text("[budget.classic]\niteration = 3\n")
    with pytest.raises(UserInputError, match="budget.classic.iteration = 3"):
        load_profile("typo")
    (tmp_path / "copied.toml").write_text('name = "standard"\n')
    with pytest.raises(UserInputError, match="name = 'standard', but the file is copied.toml"):
        load_profile("copied")
    (tmp_path / "misspelt.toml").write_text('besides = "standard"\n')
    with pytest.raises(UserInputError, match="'besides' is not a profile key"):
        load_profile("misspelt")
    for text, expected in [("budget = 5\n", "budgets as"), ("grid = [1]\n", "the grid as")]:
        (tmp_path / "shape.toml").write_text(text)
        with pytest.raises(UserInputError, match=f"shape.toml: write {expected}"):
            load_profile("shape")
    grid = '[[grid]]\ntasks = ["cartpole"]\nalgorithms = ["gail"]\n'
    target = '[[target]]\nname = "t"\n'
    for text, expected in [
        ("target = 1\n", "write targets as \\[\\[target\\]\\] blocks"),
        (target, "needs a name and exactly one of at_least, within_paper"),
        (target + "at_least = 0.9\nwithin_paper = 0.1\n", "exactly one of"),
        ("[[target]]\nat_least = 0.9\n", "target '\\(unnamed\\)': a target needs a name"),
        (target + 'at_least = "high"\n', "at_least = 'high'; give a number"),
        (target + "at_least = nan\n", "at_least = nan; give a number"),
        (target + "at_least = 1\nseed = 1\n", "'seed' is not one of name"),
        (target + 'at_least = 1\ntasks = ["pong"]\n', "target 't' tasks = \\['pong'\\]"),
        (grid + target + "at_least = 1\ntasks = []\n", "names no cell \\(an empty tasks"),
        (grid + target + "within_paper = -0.1\n", "within_paper = -0.1; give how far below"),
        (grid + target + 'at_least = 1\ntasks = ["cartpole"]\n', "names cartpole/n1/bc, which no"),
        (grid + (target + 'at_least = 1\ntasks = ["cartpole"]\nalgorithms = ["gail"]\n') * 2,
         "two targets are named 't'"),
    ]:  # fmt: skip
        (tmp_path / "target.toml").write_text(text)
        with pytest.raises(UserInputError, match=expected):
            load_profile("target")
    (tmp_path / "target.toml").write_text(
        grid.replace("cartpole", "cartpole\", \"acrobot") + "seeds = 3\n" + target
        + 'at_least = 0.9\nalgorithms = ["gail"]\nsizes = [4, 4, 1]\ntasks = ["acrobot"]\n'
    )  # fmt: skip
    (checked,) = load_profile("target").targets
    assert checked.cells == (("acrobot", 4, "gail", (0, 1, 2)), ("acrobot", 1, "gail", (0, 1, 2)))
    assert checked.at_least == 0.9 and checked.bound == "at least 0.9"
    assert (
        main(["run", "--task", "cartpole", "--algo", "bc", "--n-traj", "1", "--profile", "x"]) == 2
    )
    assert capsys.readouterr().err.strip().startswith("error: unknown profile 'x'; known profiles")


def test_a_learners_task_table_sets_its_settings_on_that_task_only(tmp_path, monkeypatch):
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", tmp_path)
    (tmp_path / "per_task.toml").write_text(
        "[learners.gail_ppo]\ndisc_updates = 2\nclip = 0.1\n"
        "[learners.gail_ppo.tasks.reacher]\ndisc_updates = 8\nppo.clip = 0.3\n"
        '[[grid]]\ntasks = ["reacher", "hopper"]\nalgorithms = ["gail_ppo"]\n'
    )
    profile = load_profile("per_task")
    reacher, hopper = (profile.config("gail_ppo", get_task(t)) for t in ("reacher", "hopper"))
    assert (reacher.disc_updates, reacher.ppo.clip) == (8, 0.3)
    assert (hopper.disc_updates, hopper.ppo.clip) == (2, 0.1)
    (tmp_path / "bad_task.toml").write_text("[learners.gail_ppo.tasks.reachr]\ndisc_updates = 8\n")
    with pytest.raises(UserInputError, match="one table per task"):
        load_profile("bad_task")
    # A task's table is checked even where the grid does not run the learner on that task.
    (tmp_path / "typo.toml").write_text("[learners.gail_ppo.tasks.ant]\ndisc_update = 8\n")
    with pytest.raises(UserInputError, match="'disc_update' is not a setting of GAILPPOConfig"):
        load_profile("typo")


def test_unknown_algorithm_and_too_many_trajectories_get_one_line(tmp_path, capsys):
    out = ["--runs", str(tmp_path)]
    assert main(["run", "--task", "cartpole", "--algo", "nonesuch", "--n-traj", "1", *out]) == 2
    assert "unknown algorithm 'nonesuch'" in capsys.readouterr().err
    assert main(["run", "--task", "cartpole", "--algo", "bc", "--n-traj", "11", *out]) == 2
    assert "asked for 11 expert trajectories" in capsys.readouterr().err
    big = ["--n-traj", "1", "--seed", "2001"]
    assert main(["run", "--task", "cartpole", "--algo", "gail", *big, *out]) == 2
    assert "seed 2001: a run's seed goes up to 2000" in capsys.readouterr().err


def test_time_to_expert_reports_the_first_evaluation_past_the_threshold(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", tmp_path)
    (tmp_path / "tiny.toml").write_text(
        "[budget.classic]\niterations = 2\npairs_per_iteration = 500\n"
    )
    argv = ["bench", "time-to-expert", "--task", "cartpole", "--n-traj", "1", "--profile", "tiny"]
    assert main(argv + ["--eval-every", "1", "--threshold", "-100"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert captured.err.count("normalised") == len(result["curve"]) == 2  # shown as it goes
    first_steps = result["curve"][0][0]
    assert result["env_steps_to_-100"] == first_steps and 500 <= first_steps < result["env_steps"]
    assert result["final_normalized_return"] == result["curve"][-1][1]
    assert set(result["time_split_s"]) >= {"simulation_s", "inference_s", "policy_s"}


def test_a_run_whose_losses_stop_being_finite_fails_and_is_not_done(tmp_path, capsys):
    from benchmark.training import TrainingDiverged

    profile = tmp_path / "wild.toml"
    profile.write_text(
        "[learners.bc]\nlr = 1e30\n[budget.classic]\nbc_steps = 30\nbc_validate_every = 10\n"
    )
    with pytest.raises(TrainingDiverged, match="not finite"):
        run(CARTPOLE, "bc", 4, 0, load_profile(str(profile)), tmp_path)
    assert not (tmp_path / "wild" / "cartpole" / "bc" / "n4" / "s0" / "eval.json").exists()
    # From the command line: one line, no traceback
    args = ["--task", "cartpole", "--algo", "bc", "--n-traj", "4", "--profile", str(profile)]
    assert main(["run", *args, "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err  # the progress bar's, then the error
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: iteration")


def test_overhead_bench_splits_the_loop_and_refuses_classic_control(capsys):
    from algorithms.rollout import Sampler
    from benchmark.bench import _TimedEnvs

    # The stopwatch around the environments changes nothing in what is sampled.
    samples = []
    for timed in (False, True):
        with Sampler("Hopper-v5", num_envs=4, seed=3, num_threads=1) as sampler:
            if timed:
                sampler.envs = _TimedEnvs(sampler.envs)
            actor = make_policy(11, sampler.action_space).actor(np.random.default_rng(0))
            samples.append(sampler.collect(actor, min_steps=300))
    np.testing.assert_array_equal(samples[0].obs, samples[1].obs)
    np.testing.assert_array_equal(samples[0].actions, samples[1].actions)

    assert main(["bench", "overhead", "--task", "hopper", "--rounds", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    split = result["loop_split_us_per_recorded_step"]
    assert sum(split.values()) == pytest.approx(result["loop_us_per_recorded_step"], abs=0.5)
    assert 0 <= result["unrecorded_fraction"] < 1
    assert result["per_recorded_step_over_bare"] >= result["loop_over_bare"] > 0
    assert main(["bench", "overhead", "--task", "cartpole"]) == 2
    assert "measures MuJoCo tasks; cartpole is not one" in capsys.readouterr().err


def test_a_profile_learns_from_the_datasets_it_names(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", tmp_path)
    budget = "[budget.reacher]\nbc_steps = 11\nbc_validate_every = 5\n"
    (tmp_path / "paper_experts.toml").write_text(f'datasets = "results/datasets-suite"\n{budget}')
    args = ["run", "--task", "reacher", "--algo", "bc", "--n-traj", "4", "--profile"]
    assert main([*args, "paper_experts", "--runs", str(tmp_path / "runs")]) == 0
    config = json.loads((tmp_path / "runs/paper_experts/reacher/bc/n4/s0/config.json").read_text())
    card = json.loads((RESULTS_DIR / "datasets-suite/reacher/card.json").read_text())
    assert config["dataset_sha256"] == card["sha256"]
    assert config["expert_score"] == card["expert_score"]
    # A command's --datasets overrides the profile's.
    assert (
        main(
            [
                *args,
                "paper_experts",
                "--runs",
                str(tmp_path / "own"),
                "--datasets",
                str(RESULTS_DIR / "datasets"),
            ]
        )
        == 0
    )
    config = json.loads((tmp_path / "own/paper_experts/reacher/bc/n4/s0/config.json").read_text())
    assert config["dataset_sha256"] != card["sha256"]
    (tmp_path / "nowhere.toml").write_text('datasets = "results/no-such-folder"\n')
    with pytest.raises(UserInputError, match="'results/no-such-folder' is not a folder"):
        load_profile("nowhere")


def test_bench_rollout_times_the_simulator_the_sampler_and_gymnasium(capsys):
    argv = ["bench", "rollout", "--task", "hopper", "--num-envs", "2", "--steps", "400"]
    assert main([*argv, "--rounds", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["task"] == "Hopper-v5" and result["rounds"] == 1
    rates = ("raw_steps_per_s_per_core", "sampler_steps_per_s", "gymnasium_steps_per_s")
    assert all(result[name] > 0 for name in rates)
    assert result["fraction_of_limit"] == pytest.approx(
        result["sampler_steps_per_s"] / (result["cores"] * result["raw_steps_per_s_per_core"]),
        rel=0.01,
    )
    assert main(["bench", "rollout", "--task", "cartpole"]) == 2
