"""Profiles' grids, the plan, and sweeps through a real process pool and a real Ray instance."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from algorithms.errors import UserInputError
from benchmark import profiles
from benchmark.__main__ import main
from benchmark.profiles import RunSpec, load_profile
from benchmark.store import RECORD_FILES, state
from benchmark.sweep import adopt, check_inputs, done_elsewhere, format_plan, plan, sweep
from benchmark.tasks import PAPER_TASKS, TASKS

ROOT = Path(__file__).resolve().parent.parent
RATES = {"loop_s_per_step": 1e-4, "eval_s_per_step": 2e-5, "bc_s_per_step": 1e-3}


@pytest.fixture
def throughput(tmp_path) -> Path:
    path = tmp_path / "throughput.json"
    path.write_text(json.dumps({"tasks": {name: RATES for name in TASKS}}))
    return path


def _write_profile(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_the_smoke_grid_is_the_union_of_its_blocks():
    runs = load_profile("smoke").runs()
    expected = [RunSpec("cartpole", a, 1, 0) for a in ("bc", "fem", "gtal", "gail")]
    expected += [RunSpec("hopper", "bc", 4, 0), RunSpec("hopper", "gail", 4, 0)]
    assert runs == expected
    assert load_profile("smoke").only(["hopper"]).runs() == expected[-2:]
    assert load_profile("smoke").only(algorithms=["gail"]).runs() == expected[3::2]
    assert load_profile("smoke").only(["hopper"], ["gtal"]).runs() == []
    with pytest.raises(UserInputError, match="unknown task 'pong'; known tasks: cartpole"):
        load_profile("smoke").only(["pong"])
    with pytest.raises(UserInputError, match="unknown algorithm 'nonesuch'; known algorithms: bc"):
        load_profile("smoke").only(algorithms=["nonesuch"])


def test_the_paper_grid_is_every_cell_with_the_papers_runs_per_cell():
    runs = load_profile("paper").runs()
    paper = [TASKS[name] for name in PAPER_TASKS]
    expected = sum(len(t.dataset_sizes) * 4 * t.runs_per_cell for t in paper)
    # and the paper's Reacher sweep of three causal-entropy weights
    expected += 3 * len(TASKS["reacher"].dataset_sizes) * TASKS["reacher"].runs_per_cell
    assert len(runs) == len(set(runs)) == expected
    assert {r.algo for r in runs if r.task == "reacher"} >= {"gail_ent1e-1", "gail"}
    assert {r.seed for r in runs if r.task == "acrobot"} == set(range(7))
    assert {r.n_traj for r in runs if r.task == "humanoid"} == {80, 160, 240}


def test_size_keywords_and_seed_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", tmp_path)
    _write_profile(
        tmp_path,
        "g",
        '[[grid]]\ntasks = ["hopper", "reacher"]\nalgorithms = ["gail"]\nsizes = "extremes"\n'
        "seeds = 2\n"
        '[[grid]]\ntasks = ["hopper"]\nalgorithms = ["gail"]\nsizes = [11]\nseeds = 1\n',
    )
    runs = load_profile("g").runs()
    assert [(r.task, r.n_traj, r.seed) for r in runs] == [
        ("reacher", 4, 0), ("reacher", 4, 1), ("reacher", 18, 0), ("reacher", 18, 1),
        ("hopper", 4, 0), ("hopper", 4, 1), ("hopper", 11, 0), ("hopper", 25, 0),
        ("hopper", 25, 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "grid, message",
    [
        ('tasks = ["pong"]', "grid tasks = \\['pong'\\]; expected a list of tasks among"),
        ('algorithms = ["nonesuch"]', "grid algorithms = \\['nonesuch'\\]; expected a list among"),
        ('sizes = "most"', "grid sizes = 'most'; expected a list of trajectory counts or one of"),
        ('tasks = ["cartpole"]\nsizes = [11]', "expected trajectory counts from 1 to 10"),
        ("seeds = 0", "grid seeds = 0; expected a positive count"),
        ("seed = 3", "grid key 'seed' is not one of tasks, algorithms, sizes, seeds"),
    ],
)
def test_a_bad_grid_gets_one_line(tmp_path, monkeypatch, grid, message):
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", tmp_path)
    _write_profile(tmp_path, "bad", f"[[grid]]\n{grid}\n")
    with pytest.raises(UserInputError, match=message):
        load_profile("bad")


def test_the_plan_counts_steps_and_cpu_time_from_the_measured_rates(throughput):
    profile = load_profile("smoke")
    planned = {p.spec: p for p in plan(profile, throughput)}
    gail = planned[RunSpec("cartpole", "gail", 1, 0)]
    assert gail.env_steps == 3 * (1_000 + 16 * 500 // 4)
    assert gail.cpu_s == pytest.approx(gail.env_steps * 1e-4 + 50 * 500 * 2e-5)
    bc = planned[RunSpec("hopper", "bc", 4, 0)]
    assert bc.env_steps == 0 and bc.cpu_s == pytest.approx(51 * 1e-3 + 50 * 1000 * 2e-5)


def test_the_plan_counts_whole_rounds_where_no_episode_ends_early(throughput):
    # HalfCheetah's episodes all last 1,000 steps: 20,000 pairs on 16 environments take two
    # rounds, 32,000 steps, as the batch profile's record measured.
    (planned,) = plan(load_profile("batch"), throughput)
    record = ROOT / "results/reference/runs/batch/halfcheetah/gail/n4/s0/eval.json"
    assert planned.env_steps == json.loads(record.read_text())["env_steps"] == 800 * 32_000


def test_the_plan_takes_each_learners_workload_from_the_registry(tmp_path, throughput):
    # DAgger samples its rounds and refits on the aggregate; PPO learners sample their rounds.
    profile = _write_profile(
        tmp_path,
        "today",
        "[budget.mujoco]\niterations = 7\npairs_per_iteration = 2_000\nbc_steps = 101\n"
        '[[grid]]\ntasks = ["hopper"]\nalgorithms = ["dagger", "gail_ppo"]\nsizes = [4]\n',
    )
    planned = {p.spec.algo: p for p in plan(load_profile(str(profile)), throughput)}
    eval_s = 50 * 1000 * 2e-5
    dagger_steps = 10 * (2_000 + 8 * 1000 // 4)  # 10 rounds on 8 environments
    assert planned["dagger"].env_steps == dagger_steps
    refits = 101 + 10 * 2_000  # BC phase, then 2,000 Adam steps a round
    assert planned["dagger"].cpu_s == pytest.approx(dagger_steps * 1e-4 + refits * 1e-3 + eval_s)
    assert planned["gail_ppo"].env_steps == 7 * (2_000 + 8 * 1000 // 4)
    # Neither runs the shared loop, so neither takes FEM's, GTAL's and GAIL's rate from records;
    # GAIL (PPO) takes its own records' rate, DAgger (supervised steps too) none.
    rates = json.loads(throughput.read_text())
    rates["tasks"]["hopper"] = RATES | {"records_loop_s_per_step": 1e-6}
    throughput.write_text(json.dumps(rates))
    again = {p.spec.algo: p for p in plan(load_profile(str(profile)), throughput)}
    assert {a: p.cpu_s for a, p in again.items()} == {a: p.cpu_s for a, p in planned.items()}
    rates["tasks"]["hopper"] |= {
        "records_gail_ppo_s_per_step": 3e-4,
        "records_dagger_s_per_step": 1,
    }
    throughput.write_text(json.dumps(rates))
    again = {p.spec.algo: p for p in plan(load_profile(str(profile)), throughput)}
    ppo = planned["gail_ppo"]
    assert again["gail_ppo"].cpu_s == pytest.approx(ppo.cpu_s + ppo.env_steps * (3e-4 - 1e-4))
    assert again["dagger"].cpu_s == planned["dagger"].cpu_s


def test_ppo_learners_rates_come_from_their_own_records(tmp_path, throughput):
    profile = _write_profile(
        tmp_path,
        "tiny_modern",
        "[budget.classic]\niterations = 2\npairs_per_iteration = 500\nbc_steps = 11\n"
        '[[grid]]\ntasks = ["cartpole"]\nalgorithms = ["gail_ppo", "airl", "dagger"]\n'
        "sizes = [1]\nseeds = 2\n",
    )
    runs = tmp_path / "runs"
    assert (
        main(["reproduce", "--profile", str(profile), "--runs", str(runs), "--workers", "1"]) == 0
    )
    assert main(["bench", "throughput", "--from-records", str(runs), "--out", str(throughput)]) == 0
    measured = json.loads(throughput.read_text())["tasks"]["cartpole"]
    for algo in ("gail_ppo", "airl"):
        evals = [json.loads(e.read_text()) for e in runs.glob(f"*/cartpole/{algo}/n1/s*/eval.json")]
        pooled = sum(e["cpu_s"] for e in evals) / sum(e["env_steps"] for e in evals)
        assert measured[f"records_{algo}_s_per_step"] == pytest.approx(pooled, rel=1e-3)
        assert measured[f"records_{algo}_runs"] == len(evals) == 2
    # DAgger's cost holds its refits too, which its records' total cannot split off.
    assert set(measured) == set(RATES) | {
        f"records_{algo}_{kind}" for algo in ("gail_ppo", "airl") for kind in ("s_per_step", "runs")
    }


def test_a_dry_run_prints_the_plan_and_runs_nothing(tmp_path, throughput, monkeypatch, capsys):
    monkeypatch.setattr("benchmark.sweep.THROUGHPUT_FILE", throughput)
    runs = tmp_path / "runs"
    assert main(["reproduce", "--profile", "smoke", "--dry-run", "--runs", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "profile smoke: " + load_profile("smoke").description
    assert out[2].split()[:2] == ["cartpole/bc/n1/s0", "pending"]
    assert out[-1].startswith("profile smoke: 6 runs, 6 to do: ")
    assert "CPU-hours, about" in out[-1] and not runs.exists()


def test_bad_input_stops_the_sweep_before_any_run(tmp_path, throughput, monkeypatch, capsys):
    monkeypatch.setattr("benchmark.sweep.THROUGHPUT_FILE", tmp_path / "missing.json")
    argv = ["reproduce", "--profile", "smoke", "--runs", str(tmp_path / "runs")]
    assert main(argv) == 2
    assert "missing.json is missing; measure this machine with" in capsys.readouterr().err
    for broken in ['{"tasks": {"hopper": {"loop_s_per_step": "fast"}}}', "<<<<<<< HEAD\n{"]:
        cut = tmp_path / "cut.json"
        cut.write_text(broken)
        monkeypatch.setattr("benchmark.sweep.THROUGHPUT_FILE", cut)
        assert main(argv) == 2
        assert "cut.json is not a throughput file" in capsys.readouterr().err
    monkeypatch.setattr("benchmark.sweep.THROUGHPUT_FILE", throughput)
    assert main(argv + ["--datasets", str(tmp_path / "none")]) == 2
    assert "no dataset" in capsys.readouterr().err.lower()
    assert main(argv + ["--executor", "slurm"]) == 2
    assert "unknown executor 'slurm'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def _records(runs: Path) -> dict[str, dict]:
    """Every done run's evaluation and metrics, less the wall-clock columns."""
    records = {}
    for eval_file in sorted(runs.rglob("eval.json")):
        result = json.loads(eval_file.read_text())
        result.pop("wall_s"), result.pop("cpu_s")
        with open(eval_file.parent / "metrics.csv") as f:
            rows = [
                {k: v for k, v in row.items() if not (k == "wall_s" or k.startswith("time/"))}
                for row in csv.DictReader(f)
            ]
        records[str(eval_file.parent.relative_to(runs))] = {"eval": result, "metrics": rows}
    return records


def test_a_local_sweep_runs_everything_once_and_a_failed_run_stops_nothing(
    tmp_path, throughput, monkeypatch, capsys
):
    runs = tmp_path / "runs"
    broken = runs / "smoke/cartpole/fem/n1/s0/checkpoints/state.pt"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a checkpoint")  # as if the disk had been corrupted
    profile = load_profile("smoke")
    result = sweep(profile, "local", 2, runs, throughput_file=throughput, show_progress=False)
    assert set(result.failed) == {RunSpec("cartpole", "fem", 1, 0)}
    assert len(result.done) == 5 and result.skipped == []
    assert (broken.parent.parent / "error.txt").exists()
    assert state(broken.parent.parent)[0] == "failed"
    capsys.readouterr()
    assert main(["status", "--profile", "smoke", "--runs", str(runs)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "profile smoke: " + profile.description and len(shown) == 2 + 6 + 1
    assert shown[3].split()[:3] == ["cartpole/fem/n1/s0", "failed", "0%"]
    assert shown[-1] == "profile smoke: 5 done, 0 started, 1 failed, 0 pending"
    # A record made with another config than the profile gives now is shown as such.
    bc_config = runs / "smoke/cartpole/bc/n1/s0/config.json"
    made = bc_config.read_text()
    bc_config.write_text(json.dumps(json.loads(made) | {"expert_pairs": 7}))
    assert main(["status", "--profile", "smoke", "--runs", str(runs)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[2].split()[0] == "cartpole/bc/n1/s0"
    assert shown[2].endswith("  another config: expert_pairs")
    assert "another config" not in "".join(shown[3:-1])
    assert shown[-1].endswith("; 1 made with another config than the profile gives now")
    bc_config.write_text(made)
    reference = tmp_path / "reference"
    with pytest.raises(UserInputError, match="cartpole: 1 of 4 runs of profile smoke are not done"):
        adopt(profile, ["cartpole"], runs, reference)
    # Every run that started tracked itself with W&B, offline, beside the runs folder.
    assert len(list((tmp_path / "wandb" / "wandb").glob("offline-run-*"))) == 6

    broken.unlink()
    again = sweep(profile, "local", 2, runs, throughput_file=throughput, show_progress=False)
    assert again.done == [RunSpec("cartpole", "fem", 1, 0)] and len(again.skipped) == 5
    assert not (broken.parent.parent / "error.txt").exists()
    assert all(state(p.parent)[0] == "done" for p in runs.rglob("config.json"))

    # The plan's loop rates can come from these records: the loop runs' median CPU per env step
    # (CartPole's FEM, GTAL and GAIL; Hopper's GAIL), never BC's.
    rates = tmp_path / "rates.json"
    rates.write_text(throughput.read_text())
    assert main(["bench", "throughput", "--from-records", str(runs), "--out", str(rates)]) == 0
    measured = json.loads(rates.read_text())["tasks"]
    loop_records = {
        task: [json.loads(e.read_text()) for e in runs.glob(f"smoke/{task}/[fg]*/n*/s*/eval.json")]
        for task in ("cartpole", "hopper")
    }
    for task, evals in loop_records.items():
        pooled = sum(e["cpu_s"] for e in evals) / sum(e["env_steps"] for e in evals)
        rate = measured[task]["records_loop_s_per_step"]
        assert rate == pytest.approx(pooled, rel=1e-3)
        assert measured[task] == RATES | {
            "records_loop_s_per_step": rate,
            "records_loop_runs": {"cartpole": 3, "hopper": 1}[task],
        }
    assert measured["walker"] == RATES
    # With several folders a task's rates come from the first that holds its runs.
    newer = tmp_path / "newer"
    shutil.copytree(runs / "smoke/hopper", newer / "smoke/hopper")
    (hopper_eval,) = newer.glob("smoke/hopper/[fg]*/n*/s*/eval.json")
    slower = json.loads(hopper_eval.read_text())
    hopper_eval.write_text(json.dumps(slower | {"cpu_s": 2 * slower["cpu_s"]}))
    assert (
        main(["bench", "throughput", "--from-records", str(newer), str(runs), "--out", str(rates)])
        == 0
    )
    both = json.loads(rates.read_text())["tasks"]
    assert both["hopper"]["records_loop_s_per_step"] == pytest.approx(
        2 * measured["hopper"]["records_loop_s_per_step"], rel=1e-3
    )
    assert both["cartpole"] == measured["cartpole"]
    # ... per learner: a folder with another learner's runs of the task leaves the loop's rate
    # to the next folder.
    other = tmp_path / "other"
    shutil.copytree(newer / "smoke/hopper", other / "smoke/hopper")
    (other_config,) = other.glob("smoke/hopper/[fg]*/n*/s*/config.json")
    other_config.write_text(json.dumps(json.loads(other_config.read_text()) | {"learner": "airl"}))
    command = ["bench", "throughput", "--from-records", str(other), str(runs), "--out", str(rates)]
    assert main(command) == 0
    mixed = json.loads(rates.read_text())["tasks"]["hopper"]
    assert mixed["records_loop_s_per_step"] == measured["hopper"]["records_loop_s_per_step"]
    assert mixed["records_airl_s_per_step"] == both["hopper"]["records_loop_s_per_step"]
    # The plan takes it for the loop learners: GAIL's estimate moves by exactly the difference.
    cartpole_gail = RunSpec("cartpole", "gail", 1, 0)
    before = {p.spec: p for p in plan(profile, throughput)}
    after = {p.spec: p for p in plan(profile, rates)}
    saved = after[cartpole_gail].env_steps * (
        RATES["loop_s_per_step"] - measured["cartpole"]["records_loop_s_per_step"]
    )
    assert after[cartpole_gail].cpu_s == pytest.approx(before[cartpole_gail].cpu_s - saved)
    # A plain measurement afterwards keeps the records' figures beside its own.
    assert main(["bench", "throughput", "--task", "cartpole", "--out", str(rates)]) == 0
    again = json.loads(rates.read_text())["tasks"]["cartpole"]
    assert again["records_loop_s_per_step"] == measured["cartpole"]["records_loop_s_per_step"]
    assert again["loop_s_per_step"] != RATES["loop_s_per_step"]

    # A done run made from another dataset (or with settings the profile no longer gives) is not
    # what the profile makes now: adopting it would mix two configs in the reference.
    config = runs / "smoke/cartpole/gail/n1/s0/config.json"
    made = config.read_text()
    recorded = json.loads(made)["dataset_sha256"]
    config.write_text(made.replace(recorded, "0" * 64))
    with pytest.raises(UserInputError, match="cartpole: 1 done runs were made with another config"):
        adopt(profile, ["cartpole"], runs, reference)
    config.write_text(made)

    # The finished task becomes the reference's whole: its earlier records (here one of a size
    # no longer in the profile) go, the run folders' checkpoints never come.
    stale = reference / "runs/smoke/cartpole/gail/n9/s0"
    stale.mkdir(parents=True)
    (stale / "eval.json").write_text("{}")
    assert adopt(profile, ["cartpole"], runs, reference) == [reference / "runs/smoke/cartpole"]
    adopted = sorted(p.relative_to(reference / "runs") for p in reference.rglob("*") if p.is_file())
    expected = sorted(
        p.relative_to(runs) for p in (runs / "smoke/cartpole").rglob("*") if p.name in RECORD_FILES
    )
    assert adopted == expected and len(adopted) == 4 * len(RECORD_FILES)
    assert [p.name for p in (reference / "runs/smoke").iterdir()] == ["cartpole"]

    # A profile edited after its runs were made (CartPole loop budgets: FEM, GTAL, GAIL): the
    # sweep refuses before running anything...
    classic_budget = profile.budgets["classic"]

    def classic(**budget):
        return replace(profile, budgets=profile.budgets | {"classic": classic_budget | budget})

    with pytest.raises(UserInputError, match="3 run folders under .*smoke were made with another"):
        sweep(classic(iterations=2), "local", 2, runs, throughput_file=throughput)
    with pytest.raises(UserInputError, match="3 run folders .* another config .*pairs_per_iter"):
        sweep(classic(pairs_per_iteration=1_500), "local", 2, runs, throughput_file=throughput)
    # ...except where it only gives them more iterations: those train on from their checkpoints.
    bigger = classic(iterations=4)
    planned = plan(bigger, throughput)
    text = format_plan(bigger, planned, runs, 2, check_inputs(bigger, runs_dir=runs)).splitlines()
    # Its dry run counts what they have left: a quarter of their new budget.
    assert text[-1].startswith("profile smoke: 6 runs, 3 to do")
    gail = next(p for p in planned if p.spec == RunSpec("cartpole", "gail", 1, 0))
    assert next(line for line in text if line.startswith("cartpole/gail/")).split()[1:] == [
        "grows",
        f"{round(gail.env_steps / 4):,}",
        f"{gail.cpu_s / 4 / 3600:.2f}",
    ]
    grown = sweep(bigger, "local", 2, runs, throughput_file=throughput)
    assert sorted(s.algo for s in grown.done) == ["fem", "gail", "gtal"] and not grown.failed
    gail = runs / "smoke/cartpole/gail/n1/s0"
    assert len(list(csv.DictReader((gail / "metrics.csv").open()))) == 4


def test_inputs_check_grows_runs_given_more_iterations_and_refuses_others(tmp_path):
    from benchmark.run import run

    profile = load_profile("smoke").only(["cartpole"], ["gail"])
    [spec] = profile.runs()
    runs = tmp_path / "runs"
    run(TASKS[spec.task], spec.algo, spec.n_traj, spec.seed, profile, runs, show_progress=False)

    def classic(iterations: int):
        classic = profile.budgets["classic"] | {"iterations": iterations}
        return replace(profile, budgets=profile.budgets | {"classic": classic})

    assert check_inputs(profile, runs_dir=runs) == {}
    assert check_inputs(classic(4), runs_dir=runs) == {spec: 0.75}
    with pytest.raises(UserInputError, match="1 run folders .* another config .*iterations"):
        check_inputs(classic(2), runs_dir=runs)


def _processes() -> list[tuple[int, str, int, int, bytes]]:
    """(pid, state, parent, process group, command line) of every process, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # it ended while we read it
        found.append((int(stat.parent.name), fields[0], int(fields[1]), int(fields[2]), command))
    return found


def _pool_workers() -> list[int]:
    """This process's children started by multiprocessing's spawn: the process pool's workers."""
    return [p[0] for p in _processes() if p[2] == os.getpid() and b"spawn_main" in p[4]]


def test_a_run_whose_worker_is_killed_fails_with_the_cause_and_resumes(tmp_path, throughput):
    profile = load_profile(
        str(
            _write_profile(
                tmp_path,
                "died",
                "[budget.classic]\niterations = 25\npairs_per_iteration = 1_000\n"
                '[[grid]]\ntasks = ["cartpole"]\nalgorithms = ["gail"]\nsizes = "smallest"\n'
                "seeds = 1\n",
            )
        )
    )
    runs = tmp_path / "runs"
    folder = runs / "died/cartpole/gail/n1/s0"
    killed = []

    def kill_the_worker_mid_run():
        deadline = time.monotonic() + 120
        while state(folder)[1] == 0 and state(folder)[0] not in ("done", "failed"):
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        killed.extend(_pool_workers())
        for pid in killed:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker_mid_run, daemon=True)
    killer.start()
    result = sweep(profile, "local", 1, runs, throughput_file=throughput, show_progress=False)
    killer.join(timeout=10)
    assert len(killed) == 1, "the run ended before its worker could be killed"
    assert list(result.failed) == [RunSpec("cartpole", "gail", 1, 0)] and not result.done
    assert state(folder)[0] == "failed"
    assert "worker process died" in (folder / "error.txt").read_text()

    again = sweep(profile, "local", 1, runs, throughput_file=throughput, show_progress=False)
    assert again.done == [RunSpec("cartpole", "gail", 1, 0)] and state(folder)[0] == "done"


def test_a_run_another_profile_did_with_the_same_config_is_copied_not_trained(tmp_path, throughput):
    first = load_profile("smoke").only(["cartpole"])
    runs = tmp_path / "runs"
    sweep(first, "local", 2, runs, throughput_file=throughput, show_progress=False)
    second = replace(first, name="smoke_again")
    classic = second.budgets["classic"]
    shorter = replace(second, budgets=second.budgets | {"classic": classic | {"iterations": 2}})
    # Fewer loop iterations leave only BC's config the same.
    assert [spec.algo for spec in done_elsewhere(shorter, runs)] == ["bc"]
    copies = done_elsewhere(second, runs)
    assert sorted(spec.algo for spec in copies) == ["bc", "fem", "gail", "gtal"]
    text = format_plan(second, plan(second, throughput), runs, 2, {}, copies).splitlines()
    assert text[-1].startswith("profile smoke_again: 4 runs, 0 to do: 0 env steps")
    assert len(text[2:-1]) == 4 and all(line.split()[1] == "copies" for line in text[2:-1])

    result = sweep(second, "local", 2, runs, throughput_file=throughput, show_progress=False)
    assert not result.done and not result.failed and len(result.skipped) == 4
    for algo in ("bc", "fem", "gtal", "gail"):
        theirs, ours = (runs / name / f"cartpole/{algo}/n1/s0" for name in ("smoke", "smoke_again"))
        for name in ("eval.json", "metrics.csv", "policy.pt"):
            assert (ours / name).read_bytes() == (theirs / name).read_bytes()
        config = json.loads((ours / "config.json").read_text())
        assert config["profile"] == "smoke_again"
        assert config["copied_from"] == f"smoke/cartpole/{algo}/n1/s0"
    # A copied loop run keeps its checkpoint, so that more iterations grow it.
    assert (runs / "smoke_again/cartpole/gail/n1/s0/checkpoints/state.pt").exists()


def test_a_ray_sweep_gives_the_same_records_as_the_process_pool(tmp_path, throughput):
    profile = load_profile("smoke")
    pool_runs, ray_runs = tmp_path / "pool", tmp_path / "ray"
    sweep(profile, "local", 2, pool_runs, throughput_file=throughput, show_progress=False)
    result = sweep(profile, "ray", 2, ray_runs, throughput_file=throughput, show_progress=False)
    assert len(result.done) == 6 and not result.failed
    assert _records(ray_runs) == _records(pool_runs)


@pytest.mark.slow
def test_a_sweep_killed_with_sigkill_resumes_to_the_same_records(tmp_path):
    profile = _write_profile(
        tmp_path,
        "killed",
        "[budget.classic]\niterations = 25\npairs_per_iteration = 1_000\n"
        '[[grid]]\ntasks = ["cartpole"]\nalgorithms = ["gail"]\nsizes = "smallest"\nseeds = 2\n',
    )
    argv = [sys.executable, "-m", "benchmark", "reproduce", "--profile", str(profile)]
    env = os.environ | {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path)}

    def start(runs: Path):
        return subprocess.Popen(
            [*argv, "--runs", str(runs)], cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    killed = tmp_path / "killed_runs"
    sweep_process = start(killed)
    checkpoint = killed / "killed/cartpole/gail/n1/s0/checkpoints/state.pt"
    while not checkpoint.exists():
        assert sweep_process.poll() is None, "the sweep ended before its first checkpoint"
        time.sleep(0.05)
    os.kill(sweep_process.pid, signal.SIGKILL)  # the driver only: its workers must die with it
    sweep_process.wait()
    assert not (killed / "killed/cartpole/gail/n1/s0/eval.json").exists()
    group = sweep_process.pid  # start_new_session: the driver leads its own process group

    def orphans() -> list[int]:
        return [p[0] for p in _processes() if p[3] == group and p[1] != "Z"]

    deadline = time.monotonic() + 60
    while orphans() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not orphans(), "the killed sweep's workers outlived it"
    assert start(killed).wait() == 0

    uninterrupted = tmp_path / "uninterrupted_runs"
    assert start(uninterrupted).wait() == 0
    assert _records(killed) == _records(uninterrupted)
    assert len(_records(killed)) == 2
