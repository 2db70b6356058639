"""Every analysis of benchmark/analyses/ on its committed inputs (the reference records, the
committed experts and datasets) or a tiny budget: what it prints, not the numbers a future expert
or dataset will change."""

import importlib
import json
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from benchmark import analyses, records, store
from benchmark.__main__ import main
from benchmark.analyses import _common
from benchmark.analyses._common import run_dataset
from benchmark.datasets import load_dataset
from benchmark.tasks import get_task

REFERENCE = str(store.REFERENCE_DIR / "runs")


def learned_pairs(run: str, n_traj: int) -> int:
    """How many pairs the reference run `run` (profile standard, the analyses' default) learned
    from, in the dataset its record names (which need not be today's default)."""
    task = get_task(run.split("/")[0])
    folder = store.REFERENCE_DIR / "runs" / "standard" / run
    return len(run_dataset(SimpleNamespace(datasets=None), folder, task).expert_pairs(n_traj))


NUMBER = r"-?\d+\.\d+"


def analyse(capsys, name: str, *args: str) -> list[str]:
    assert main(["analyse", name, *args]) == 0
    return capsys.readouterr().out.strip().splitlines()


def recorded(run: str) -> dict:
    return json.loads((store.REFERENCE_DIR / "runs" / "standard" / run / "eval.json").read_text())


def test_every_analysis_has_a_docstring_a_main_and_a_test():
    source = open(__file__).read()
    for name in analyses.names():
        assert analyses.summary(name), name
        assert callable(importlib.import_module(f"benchmark.analyses.{name}").main), name
        assert re.search(rf'analyse\(\s*capsys,\s*"{name}"', source), f"{name} has no test here"


def test_the_help_lists_every_analysis(capsys):
    assert main(["analyse", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in analyses.names())


def test_batch_returns(capsys):
    lines = analyse(
        capsys,
        "batch_returns",
        "walker/fem/n18",
        "walker/fem/n11",
        "--at",
        "200",
        "300",
        "--span-from",
        "40",
        "--runs",
        REFERENCE,
    )
    assert len(lines) == 2
    assert re.fullmatch(
        rf"walker/fem/n18/s0: at 200: {NUMBER}, at 300: {NUMBER}, from 40 on: {NUMBER} to {NUMBER}",
        lines[0],
    )
    late = [
        "analyse",
        "batch_returns",
        "walker/fem/n18",
        "--at",
        "200",
        "9999",
        "--runs",
        REFERENCE,
    ]
    assert main(late) == 2
    assert "--at 9999 is outside them" in capsys.readouterr().err


def test_feature_gap(capsys):
    lines = analyse(capsys, "feature_gap", "hopper/fem/n4", "hopper/gtal/n4", "--runs", REFERENCE)
    number = r"-?\d[\d.e+-]*"
    fem = re.fullmatch(
        rf"hopper/fem/n4/s0: feature gap first ({number}), median ({number}), last ({number}) "
        r"over (\d+) iterations",
        lines[0],
    )
    gaps = records.load_metrics(store.REFERENCE_DIR / "runs/standard/hopper/fem/n4/s0")
    gaps = gaps["losses/feature_gap"]
    assert int(fem[4]) == len(gaps)
    expected = (gaps.iloc[0], gaps.median(), gaps.iloc[-1])
    assert [float(v) for v in fem.groups()[:3]] == pytest.approx(expected, rel=1e-2)
    assert lines[1].startswith("hopper/gtal/n4/s0: largest shortfall first")
    assert main(["analyse", "feature_gap", "hopper/gail/n4", "--runs", REFERENCE]) == 2
    assert "records no feature gap" in capsys.readouterr().err


def test_discriminator(capsys):
    lines = analyse(
        capsys, "discriminator", "--task", "humanoid", "--at", "60", "180", "--runs", REFERENCE
    )
    assert [line.split(":")[0] for line in lines] == [
        f"humanoid/gail/n{n}/s0" for n in (80, 160, 240)
    ]
    accuracy = re.search(rf"lowest ({NUMBER}), median ({NUMBER})", lines[0])
    assert 0 <= float(accuracy[1]) <= float(accuracy[2]) <= 1
    metrics = _common.metrics(store.REFERENCE_DIR / "runs/standard/humanoid/gail/n80/s0")
    loss = metrics.loc[11:, "losses/discriminator_loss"].median()  # after iteration 10
    median = float(re.search(rf"loss median ({NUMBER})", lines[0])[1])
    assert median == pytest.approx(loss, abs=1e-6)
    assert re.search(rf"\(at 60: {NUMBER}, at 180: {NUMBER}\)$", lines[0])


def test_eval_returns_reads_the_record(capsys):
    (line,) = analyse(capsys, "eval_returns", "mountaincar/gail/n1/s1", "--runs", REFERENCE)
    mean = float(re.search(rf"mean ({NUMBER})", line)[1])
    assert mean == pytest.approx(recorded("mountaincar/gail/n1/s1")["mean_return"], abs=0.05)
    assert line.startswith("mountaincar/gail/n1/s1: 50 episodes")


def test_expert_episodes(capsys):
    lines = analyse(capsys, "expert_episodes", "--task", "ant", "--below", "3000")
    assert re.fullmatch(
        r"ant dataset: \d+ trajectories, \d+ last the time limit \(1000 steps\); "
        r"lowest returns -?\d+, -?\d+",
        lines[0],
    )
    assert re.fullmatch(
        rf"ant expert card, stochastic: 50 episodes, mean {NUMBER}, \d+ below 3000", lines[1]
    )


def test_observation_range(capsys):
    (line,) = analyse(capsys, "observation_range", "--task", "cartpole", "--column", "0")
    low, high = map(float, re.search(rf"lowest ({NUMBER}), highest ({NUMBER})$", line).groups())
    assert -2.4 <= low <= high <= 2.4  # the track's edges


def test_bc_validation(capsys):
    (line,) = analyse(
        capsys, "bc_validation", "--task", "hopper", "--sizes", "4", "--runs", REFERENCE
    )
    assert re.fullmatch(
        rf"hopper/bc/n4/s0: best validation score {NUMBER} at step \d+ \(last {NUMBER} at step "
        rf"20000\); expert actions' variance, summed {NUMBER}",
        line,
    )


def test_reevaluate_agrees_exactly_on_classic_control(capsys):
    (line,) = analyse(capsys, "reevaluate", "cartpole/bc/n1", "--stochastic", "--runs", REFERENCE)
    new, old = re.search(rf"new ({NUMBER}), recorded ({NUMBER})", line).groups()
    assert new == old == f"{recorded('cartpole/bc/n1/s0')['mean_return']:.2f}"
    assert re.search(rf"; stochastic {NUMBER} \({NUMBER}\)$", line)


def test_standstill(capsys):
    (line,) = analyse(capsys, "standstill", "hopper/gail/n4", "--runs", REFERENCE)
    match = re.fullmatch(
        rf"hopper/gail/n4/s0: \d+ steps, return ({NUMBER}), moved {NUMBER} along x; "
        rf"terms: forward ({NUMBER}), ctrl ({NUMBER}), survive ({NUMBER})",
        line,
    )
    total, *terms = (float(value) for value in match.groups())
    assert total == pytest.approx(sum(terms), abs=0.2)  # Hopper-v5's return is these three
    assert float(match.group(3)) < 0  # the control cost


def test_state_gap(capsys):
    from benchmark.analyses.state_gap import gaps

    expert = np.array([[0.0, 1.0], [2.0, 1.0]])  # column 1 constant: its gap in raw units
    assert gaps(expert, np.array([[3.0, 4.0], [5.0, 4.0]])).tolist() == [3.0, 3.0]
    lines = analyse(capsys, "state_gap", "hopper/gail/n4", "--episodes", "2", "--runs", REFERENCE)
    header, columns = lines[0], lines[1:]
    pairs = learned_pairs("hopper/gail/n4/s0", 4)
    assert re.fullmatch(
        rf"hopper/gail/n4/s0: [\d,]+ policy steps against {pairs} expert pairs; largest gaps "
        r"\(policy - expert, in expert std\):",
        header,
    )
    assert len(columns) == 5
    side = rf"({NUMBER}) \+- ({NUMBER})"
    row = rf"  column \d+: expert {side}, policy {side}, gap ([-+]\d+\.\d+)"
    shown = []
    for line in columns:
        found = re.fullmatch(row, line)
        assert found, line
        e_mean, e_std, p_mean, _, gap = map(float, found.groups())
        assert gap == pytest.approx((p_mean - e_mean) / e_std, abs=0.02 + 0.01 * abs(gap))
        shown.append(abs(gap))
    assert shown == sorted(shown, reverse=True)


def test_constant_inputs(capsys):
    (line,) = analyse(
        capsys, "constant_inputs", "hopper/bc/n4", "--episodes", "2", "--runs", REFERENCE
    )
    assert re.fullmatch(
        rf"hopper/bc/n4/s0: \d+ of 11 observation columns constant; normalised {NUMBER} as it is, "
        rf"{NUMBER} with them held",
        line,
    )


def test_bc_snapshots_retrains_at_the_profiles_budget(capsys):
    lines = analyse(
        capsys,
        "bc_snapshots",
        "--task",
        "cartpole",
        "--seeds",
        "0",
        "--profile",
        "smoke",
        "--episodes",
        "2",
    )
    assert lines[0].startswith("cartpole, BC with 1 trajectories")
    assert re.fullmatch(
        rf"seed 0: \d+ pairs to train, \d+ to validate; best snapshot at step \d+: {NUMBER} "
        rf"\({NUMBER}\); last: {NUMBER} \({NUMBER}\)",
        lines[1],
    )


def test_trpo_budget(capsys, tmp_path):
    (line,) = analyse(
        capsys,
        "trpo_budget",
        "--task",
        "cartpole",
        "--iterations",
        "2",
        "--pairs",
        "500",
        "--out",
        str(tmp_path),
    )
    assert re.fullmatch(
        rf"cartpole: TRPO on the task's reward, 2 iterations of 500 pairs: [\d,]+ env steps, last "
        rf"batch return {NUMBER} \(normalised {NUMBER}\)",
        line,
    )


def test_a_run_that_is_not_there_is_one_line(capsys, tmp_path):
    assert main(["analyse", "eval_returns", "hopper/gail/n4", "--runs", str(tmp_path)]) == 2
    assert "no finished run at" in capsys.readouterr().err
    assert main(["analyse", "eval_returns", "hopper/gail", "--runs", REFERENCE]) == 2
    assert "write it as task/algo/nN" in capsys.readouterr().err


def test_seed_spread(capsys):
    (line,) = analyse(capsys, "seed_spread", "--profile", "standard", "--runs", REFERENCE)
    assert re.fullmatch(
        rf"profile standard: \d+ cells with 3-\d seeds; .* median {NUMBER}, 90th percentile "
        rf"{NUMBER}, largest {NUMBER} \(\w+/\w+/n\d+\)",
        line,
    )
    (line,) = analyse(capsys, "seed_spread", "--profile", "quick", "--runs", REFERENCE)
    assert line == "profile quick: no cell has more than one seed"
    *cells, _ = analyse(
        capsys, "seed_spread", "--profile", "spread", "--runs", REFERENCE, "--cells"
    )
    assert "hopper/gail/n4: 1.05 / 0.99 / 1.05 (mean 1.03, std 0.036)" in cells


TINY = """name = "tiny"
description = "two rounds of AIRL, GAIL (PPO), GTAL and FEM on CartPole"
[budget.classic]
iterations = 2
pairs_per_iteration = 500
[[grid]]
tasks = ["cartpole"]
algorithms = ["airl", "gail_ppo", "gtal", "fem"]
sizes = [1]
"""


def tiny_runs(capsys, tmp_path, algos: tuple[str, ...]) -> list[str]:
    """Two-iteration CartPole runs of `algos` with their checkpoints; the options that name them."""
    profile = tmp_path / "tiny.toml"
    profile.write_text(TINY)
    runs = tmp_path / "runs"
    for algo in algos:
        cmd = ["run", "--task", "cartpole", "--algo", algo, "--n-traj", "1", "--profile"]
        assert main([*cmd, str(profile), "--runs", str(runs)]) == 0
    capsys.readouterr()
    return ["--profile", str(profile), "--runs", str(runs)]


def test_airl_logit(capsys, tmp_path):
    from benchmark.analyses.airl_logit import separation

    assert separation(np.array([1.0, 2, 3]), np.array([4.0, 5, 6])) == 1.0
    assert separation(np.array([1.0, 2]), np.array([1.0, 2])) == 0.5
    args = tiny_runs(capsys, tmp_path, ("airl", "gail_ppo"))
    (line,) = analyse(capsys, "airl_logit", "cartpole/airl/n1", "--pairs", "300", *args)
    side = rf"f ({NUMBER}), -log pi ({NUMBER}), logit ({NUMBER}), right \d+%"
    found = re.fullmatch(
        rf"cartpole/airl/n1/s0 at iteration 2: expert pairs \((\d+)\): {side}; policy pairs "
        rf"\((\d+)\): {side}; separated by the logit \d+%, by -log pi alone \d+%, by f alone \d+%",
        line,
    )
    assert found, line
    expert_pairs = len(load_dataset(get_task("cartpole")).expert_pairs(1))
    assert int(found[1]) == expert_pairs and int(found[5]) >= 300
    for f, minus_log_pi, logit in (found.groups()[1:4], found.groups()[5:8]):
        assert float(logit) == pytest.approx(float(f) + float(minus_log_pi), abs=0.011)
    # A learner without AIRL's discriminator, or a record without its checkpoint: one line.
    assert main(["analyse", "airl_logit", "cartpole/gail_ppo/n1", *args]) == 2
    assert "not an AIRL run" in capsys.readouterr().err
    (tmp_path / "runs/tiny/cartpole/airl/n1/s0/checkpoints/state.pt").unlink()
    assert main(["analyse", "airl_logit", "cartpole/airl/n1", *args]) == 2
    assert "needs the run's last checkpoint" in capsys.readouterr().err


def test_gtal_adversary(capsys, tmp_path):
    args = tiny_runs(capsys, tmp_path, ("gtal", "fem"))
    (line,) = analyse(capsys, "gtal_adversary", "cartpole/gtal/n1", "--pairs", "300", *args)
    found = re.fullmatch(
        rf"cartpole/gtal/n1/s0 at iteration 2: cost on ([+-])(.+), shift ({NUMBER}); the "
        rf"policy's shortfall there ({NUMBER}); learned reward a step: expert ({NUMBER}), policy "
        rf"({NUMBER}) \(-?\d+%\); task reward a step: expert ({NUMBER}), policy ({NUMBER}) "
        rf"\(\d+%\); the policy's episodes \d+ steps on average",
        line,
    )
    assert found, line
    # A coordinate of CartPole's phi (its state block one-hot by action), picked where the last
    # batch fell furthest short of the expert; a fresh sample of the policy falls short there too.
    assert found[2] == "1" or found[2].endswith(("if action 0", "if action 1")), line
    assert float(found[4]) < 0
    # CartPole pays 1 a step to the expert and to any policy.
    assert float(found[7]) == float(found[8]) == 1.0
    # A learner without GTAL's cost, or a record without its checkpoint: one line.
    assert main(["analyse", "gtal_adversary", "cartpole/fem/n1", *args]) == 2
    assert "not a GTAL run" in capsys.readouterr().err
    (tmp_path / "runs/tiny/cartpole/gtal/n1/s0/checkpoints/state.pt").unlink()
    assert main(["analyse", "gtal_adversary", "cartpole/gtal/n1", *args]) == 2
    assert "needs the run's last checkpoint" in capsys.readouterr().err


def test_action_drift(capsys, tmp_path):
    from benchmark.analyses.action_drift import by_window, squared_error

    box = SimpleNamespace(low=-3.0, high=3.0)
    # Clipped as the simulator executes them: row 2's 4 counts as 3.
    actions, reference = np.array([[1.0, 1.0], [2.0, 2.0]]), np.array([[0.0, 2.0], [0.0, 4.0]])
    assert squared_error(actions, reference, box).tolist() == [2.0, 5.0]
    errors, lengths = np.array([1.0, 3.0, 5.0, 2.0, 4.0]), np.array([3, 2])
    assert by_window(errors, lengths, 2) == [(0, 2.5, 2), (2, 5.0, 1)]
    lines = analyse(capsys, "action_drift", "hopper/bc/n4", "--episodes", "2", "--runs", REFERENCE)
    assert lines[0] == (
        "hopper/bc/n4/s0: squared error to the expert's mean action, summed over 3 dimensions"
    )
    noise, constant = map(
        float,
        re.fullmatch(
            rf"  the expert's own noise: ({NUMBER}); the best constant action: ({NUMBER})", lines[1]
        ).groups(),
    )
    pairs = learned_pairs("hopper/bc/n4/s0", 4)
    fit = float(re.fullmatch(rf"  on the {pairs} pairs it learned from: ({NUMBER})", lines[2])[1])
    assert 0 < noise < constant and fit < constant  # BC beats a constant action on its own pairs
    assert re.fullmatch(rf"  on 2 fresh expert episodes \([\d,]+ steps\): {NUMBER}", lines[3])
    own = re.fullmatch(
        rf"  on 2 of its own episodes \(([\d,]+) steps; (\d) ended early(: at steps [\d, ]+)?\): "
        rf"{NUMBER}",
        lines[4],
    )
    assert own and lines[5].startswith("    steps 0-99: ")
    for k, line in enumerate(lines[5:]):
        assert re.fullmatch(
            rf"    steps {100 * k}-{100 * k + 99}: {NUMBER} \([12] running\)"
            rf"(; on the expert's {NUMBER})?",
            line,
        )
    # A record that learned from another dataset than the one named is refused in one line.
    record = tmp_path / "standard" / "hopper" / "bc" / "n4" / "s0"
    shutil.copytree(store.REFERENCE_DIR / "runs/standard/hopper/bc/n4/s0", record)
    config = json.loads((record / "config.json").read_text())
    (record / "config.json").write_text(json.dumps(config | {"dataset_sha256": "0" * 64}))
    args = ["analyse", "action_drift", "hopper/bc/n4", "--runs", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "learned from a hopper dataset found in none of results/datasets, " in err


def test_ppo_budget(capsys):
    from benchmark.analyses.ppo_budget import trainer

    loop = trainer(get_task("cartpole"), "modern", "gail_ppo", 4, 1, seed=0)
    metrics = loop.iterate()
    # The environment's reward (CartPole's 1 a step) in place of the discriminator's, never fit.
    assert metrics["charts/learned_reward"] == 1.0
    assert "losses/discriminator_loss" not in metrics
    (line,) = analyse(capsys, "ppo_budget", "--task", "cartpole", "--rounds", "2")
    found = re.fullmatch(
        rf"cartpole: PPO on the task's reward with gail_ppo's settings in profile modern, 2 "
        rf"rounds: ([\d,]+) env steps, last batch return {NUMBER} \(normalised {NUMBER}\), final "
        rf"policy {NUMBER} \(normalised {NUMBER}\)",
        line,
    )
    assert found and int(found[1].replace(",", "")) >= 2 * 4_096


def test_time_split(capsys):
    (line,) = analyse(capsys, "time_split", "hopper/gail/n4/s0", "--runs", REFERENCE)
    evaluation = recorded("hopper/gail/n4/s0")
    cpu = float(re.search(rf"CPU ({NUMBER})", line)[1])
    assert cpu == pytest.approx(evaluation["cpu_s"] / evaluation["env_steps"] * 1e6, abs=0.05)
    assert re.search(rf"wall-clock simulation {NUMBER}, inference {NUMBER}, policy", line)
    (offline,) = analyse(capsys, "time_split", "hopper/bc/n4/s0", "--runs", REFERENCE)
    assert offline.endswith("no env steps (BC learns offline)")
