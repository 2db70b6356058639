"""Tables, statistics and figures from hand-written run records with known answers."""

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from algorithms.errors import UserInputError
from benchmark import store
from benchmark.__main__ import main
from benchmark.profiles import Target
from benchmark.records import load_reference, load_runs
from benchmark.report import _apart, build_tables, cost_table
from benchmark.statistics import (
    comparison_table,
    interquartile_mean,
    probability_of_improvement,
    statistics_table,
)

PROFILE = "synthetic"
EXPERT = {"cartpole": 500.0, "hopper": 3500.0, "reacher": -4.0}
RANDOM = {"cartpole": 20.0, "hopper": 10.0, "reacher": -44.0}
T_975_DF2 = 4.302652729911275  # Student t quantile 0.975, 2 degrees of freedom


def write_run(root, task, algo, n_traj, seed, returns, done=True, iterations=3, profile=PROFILE):
    """A run record in the format of benchmark.run: config.json, metrics.csv, eval.json."""
    folder = root / profile / task / algo / f"n{n_traj}" / f"s{seed}"
    folder.mkdir(parents=True)
    expert, random = EXPERT[task], RANDOM[task]
    config = {
        "task": task,
        "env_id": task.title() + "-v5",
        "algo": algo,
        "n_traj": n_traj,
        "seed": seed,
        "profile": profile,
        "expert_pairs": 50 * n_traj,
        "dataset_sha256": f"sha-{task}",
        "expert_score": expert,
        "random_score": random,
        "code_version": "test",
        "versions": {"python": "3.11"},
    }
    config |= {"bc": {"steps": 101}} if algo == "bc" else {"loop": {"iterations": iterations}}
    (folder / "config.json").write_text(json.dumps(config))
    if algo == "bc":
        metrics = pd.DataFrame(
            {
                "step": [0, 100],
                "wall_s": [0.5, 2.0],
                "losses/nll": [1.0, 0.5],
                "losses/validation_score": [-1.0, -0.4],
                "losses/best_validation_score": [-1.0, -0.4],
            }
        )
        env_steps, wall_s = 0, 2.0
    else:
        steps = 1000 * np.arange(1, iterations + 1)
        true_return = np.linspace(random, np.mean(returns), iterations)
        metrics = pd.DataFrame(
            {
                "iteration": np.arange(1, iterations + 1),
                "env_steps": steps,
                "wall_s": 10.0 * np.arange(1, iterations + 1),
                "charts/true_return": true_return,
                "time/simulation_s": 1.0,
                "losses/kl": 0.01,
                "charts/normalized_return": (true_return - random) / (expert - random),
            }
        )
        env_steps, wall_s = int(steps[-1]), 10.0 * iterations
    metrics.to_csv(folder / "metrics.csv", index=False)
    if not done:
        (folder / "checkpoints").mkdir()
        return folder
    returns = [float(r) for r in returns]
    mean = float(np.mean(returns))
    (folder / "eval.json").write_text(
        json.dumps(
            {
                "task": task,
                "algo": algo,
                "n_traj": n_traj,
                "seed": seed,
                "episodes": len(returns),
                "mean_return": mean,
                "std_return": float(np.std(returns)),
                "returns": returns,
                "normalized_return": (mean - random) / (expert - random),
                "env_steps": env_steps,
                "wall_s": wall_s,
            }
        )
    )
    return folder


def halves(a, b, episodes=50):
    """Returns of a 50-episode evaluation: half a, half b (mean (a + b) / 2)."""
    return [a] * (episodes // 2) + [b] * (episodes // 2)


@pytest.fixture
def records(tmp_path):
    """cartpole n1: GAIL 3 seeds, BC 3 seeds (+ an unfinished seed); hopper n4/n25: one seed
    each; reacher n4: FEM (no paper value)."""
    root = tmp_path / "runs"
    for seed, (a, b) in enumerate([(100, 200), (300, 300), (400, 500)]):  # means 150, 300, 450
        write_run(root, "cartpole", "gail", 1, seed, halves(a, b))
        write_run(root, "cartpole", "bc", 1, seed, halves(a - 90, b - 90))  # means 60, 210, 360
    write_run(root, "cartpole", "gail", 1, 3, halves(0, 0), done=False)  # no eval.json yet
    write_run(root, "hopper", "gail", 4, 0, halves(3400, 3600))
    write_run(root, "hopper", "bc", 4, 0, halves(500, 700))
    write_run(root, "hopper", "bc", 25, 0, halves(3000, 3000))
    write_run(root, "reacher", "fem", 4, 0, halves(-10, -6))
    return root


def test_runs_are_read_from_finished_records_only(records):
    runs = load_runs(PROFILE, records)
    assert len(runs) == 10
    cartpole_gail = runs[(runs.task == "cartpole") & (runs.algorithm == "gail")]
    assert sorted(cartpole_gail.seed) == [0, 1, 2]
    assert list(runs.task.unique()) == ["cartpole", "reacher", "hopper"]  # registry order
    assert runs.loc[0, "normalized_return"] == pytest.approx((60 - 20) / 480)


def test_done_records_of_one_profile_or_of_every_profile(records):
    write_run(records, "hopper", "airl", 4, 0, [3500.0], profile="other")
    mine = list(store.done_records(records, PROFILE))
    assert len(mine) == 10 and all(folder.parts[-5] == PROFILE for folder in mine)
    every = list(store.done_records(records))
    assert every == sorted([*mine, records / "other" / "hopper" / "airl" / "n4" / "s0"])


def test_comparison_pools_seeds_and_normalises(records):
    table = comparison_table(load_runs(PROFILE, records), load_reference())
    gail = table[(table.task == "cartpole") & (table.algorithm == "gail")].iloc[0]
    assert gail.seeds == 3 and gail.episodes == 150
    assert gail.mean_return == pytest.approx(300.0)
    pooled = halves(100, 200) + halves(300, 300) + halves(400, 500)
    assert gail.std_return == pytest.approx(np.std(pooled))  # population std of all episodes
    assert gail.normalized_return == pytest.approx((300 - 20) / 480)
    half = T_975_DF2 * (150 / 480) / math.sqrt(3)  # seeds' normalised returns: sd 150 / 480
    assert gail.normalized_ci_low == pytest.approx(280 / 480 - half)
    assert gail.normalized_ci_high == pytest.approx(280 / 480 + half)
    hopper = table[(table.task == "hopper") & (table.algorithm == "gail")].iloc[0]
    assert hopper.seeds == 1 and math.isnan(hopper.normalized_ci_low)
    assert hopper.normalized_return == pytest.approx((3500 - 10) / 3490)


def test_paper_columns_use_paper_expert_and_our_random(records):
    table = comparison_table(load_runs(PROFILE, records), load_reference()).set_index(
        ["task", "algorithm", "n_traj"]
    )
    # reference_results.tsv: hopper gail n4 3614.22 (std 7.17), hopper expert 3571.38.
    hopper = table.loc[("hopper", "gail", 4)]
    assert hopper.paper_mean_return == 3614.22 and hopper.paper_std_return == 7.17
    assert hopper.paper_expert_return == 3571.38
    assert hopper.paper_normalized_return == pytest.approx((3614.22 - 10) / (3571.38 - 10))
    assert hopper.difference == pytest.approx((3500 - 10) / 3490 - (3614.22 - 10) / (3571.38 - 10))
    # cartpole bc n1 72.02, cartpole expert 200.00 (CartPole-v0), our random 20.
    cartpole = table.loc[("cartpole", "bc", 1)]
    assert cartpole.paper_normalized_return == pytest.approx((72.02 - 20) / (200 - 20))
    assert math.isnan(table.loc[("reacher", "fem", 4)].paper_normalized_return)  # not in paper


def test_reference_uses_weight_zero_gail_rows():
    reference = load_reference()
    row = reference[
        (reference.task == "reacher") & (reference.algorithm == "gail") & (reference.n_traj == 4)
    ]
    assert row["mean"].item() == -67.23
    assert {"expert", "bc", "fem", "gtal", "gail"} <= set(reference.algorithm)


def test_vectorised_statistics_match_rliable():
    from rliable import metrics

    rng = np.random.default_rng(0)
    for shape in [(1, 1), (3, 5), (7, 9), (5, 33)]:
        x = rng.integers(0, 4, size=shape).astype(float)  # with ties
        y = rng.integers(0, 4, size=(shape[0] + 1, shape[1])).astype(float)
        assert interquartile_mean(x) == pytest.approx(metrics.aggregate_iqm(x))
        assert probability_of_improvement(x, y) == pytest.approx(
            metrics.probability_of_improvement(x, y)
        )


def test_iqm_of_equal_scores_is_that_score_with_a_collapsed_interval(tmp_path):
    root = tmp_path / "runs"
    for task, n_traj in [("cartpole", 1), ("cartpole", 10), ("hopper", 4), ("hopper", 25)]:
        score = RANDOM[task] + 0.75 * (EXPERT[task] - RANDOM[task])  # normalised 0.75
        for seed in range(3):
            write_run(root, task, "gail", n_traj, seed, [score] * 50)
    stats = statistics_table(load_runs(PROFILE, root), reps=200)
    iqm = stats[stats.statistic == "iqm"].set_index("regime")
    for regime, cells in [
        ("smallest", "cartpole/n1 hopper/n4"),
        ("largest", "cartpole/n10 hopper/n25"),
        ("all", None),
    ]:
        row = iqm.loc[regime]
        assert row.estimate == pytest.approx(0.75)
        assert row.ci_low == pytest.approx(0.75) and row.ci_high == pytest.approx(0.75)
        assert row.max_seeds == 3
        if cells:
            assert row.cell_list == cells


def test_a_profiles_variant_keeps_its_learners_group(tmp_path):
    root = tmp_path / "runs"
    span = EXPERT["hopper"] - RANDOM["hopper"]
    for algo, learner, score in [
        ("bc", "bc", 0.2),
        ("gail", "gail", 0.9),
        ("airl_r1", "airl", 0.5),
        ("dagger_long", "dagger", 1.0),
    ]:
        folder = write_run(root, "hopper", algo, 4, 0, [RANDOM["hopper"] + score * span])
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | {"learner": learner}))
    stats = statistics_table(load_runs(PROFILE, root), reps=50)
    poi = stats[(stats.statistic == "probability_of_improvement") & (stats.regime == "all")]
    # AIRL's variant is one of today's challengers; DAgger's queries the expert, so it stays out.
    assert set(zip(poi.algorithm, poi.versus, strict=True)) == {
        ("gail", "bc"),
        ("gail", "airl_r1"),
        ("airl_r1", "bc"),
    }


def test_iqm_and_bootstrap_interval_with_spread(tmp_path):
    root = tmp_path / "runs"
    # Normalised returns 0..7 over 2 cells x 4 seeds: IQM = mean(2, 3, 4, 5) = 3.5.
    for task, n_traj, values in [("cartpole", 1, [0, 2, 4, 6]), ("hopper", 4, [1, 3, 5, 7])]:
        for seed, value in enumerate(values):
            score = RANDOM[task] + value * (EXPERT[task] - RANDOM[task])
            write_run(root, task, "gail", n_traj, seed, [score] * 50)
    stats = statistics_table(load_runs(PROFILE, root), reps=300)
    row = stats[(stats.statistic == "iqm") & (stats.regime == "all")].iloc[0]
    assert row.estimate == pytest.approx(3.5)
    assert 0 <= row.ci_low < 3.5 < row.ci_high <= 7


def test_bootstrap_intervals_are_the_same_for_the_same_seed(records):
    # rliable draws from numpy's global RNG: whatever drew from it before must not move the
    # intervals, and the caller's global RNG must come back as it was.
    runs = load_runs(PROFILE, records)
    np.random.seed(1)
    first = statistics_table(runs, reps=200)
    after = np.random.random(3)
    np.random.seed(2)
    again = statistics_table(runs, reps=200)
    pd.testing.assert_frame_equal(first, again)
    np.random.seed(1)
    np.testing.assert_array_equal(after, np.random.random(3))


def test_probability_of_improvement_over_cells_both_have(records):
    stats = statistics_table(load_runs(PROFILE, records), reps=200)
    poi = stats[stats.statistic == "probability_of_improvement"].set_index(["regime", "versus"])
    row = poi.loc[("smallest", "bc")]
    assert row.cell_list == "cartpole/n1 hopper/n4"
    # cartpole: GAIL seed means 150, 300, 450 vs BC's 60, 210, 360: 6 of 9 pairs; hopper: 1.
    assert row.estimate == pytest.approx((6 / 9 + 1) / 2)
    assert row.ci_low <= row.estimate <= row.ci_high
    assert "fem" not in set(stats.versus)  # FEM has no cell in common with GAIL


def test_probability_of_improvement_is_one_when_gail_dominates(tmp_path):
    root = tmp_path / "runs"
    for task, n_traj in [("cartpole", 1), ("hopper", 4), ("hopper", 25)]:
        for seed in range(3):
            span = EXPERT[task] - RANDOM[task]
            write_run(root, task, "gail", n_traj, seed, [RANDOM[task] + (0.8 + seed / 10) * span])
            write_run(root, task, "bc", n_traj, seed, [RANDOM[task] + (0.1 + seed / 10) * span])
    stats = statistics_table(load_runs(PROFILE, root), reps=200)
    poi = stats[stats.statistic == "probability_of_improvement"]
    assert list(poi.regime) == ["smallest", "largest", "all"]
    for row in poi.itertuples():
        assert (row.versus, row.estimate, row.ci_low, row.ci_high) == ("bc", 1.0, 1.0, 1.0)


def test_a_single_dataset_per_task(records):
    folder = write_run(records, "hopper", "fem", 4, 0, halves(3000, 3000))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"random_score": 11.0}))
    with pytest.raises(UserInputError, match="hopper.*disagree on random_score"):
        load_runs(PROFILE, records)


def test_cost_counts_measured_cpu_time_and_wall_time_where_none_was_measured(tmp_path):
    root = tmp_path / "runs"
    write_run(root, "hopper", "gail", 4, 0, [3500.0] * 50)  # an older record: wall 30 s only
    measured = write_run(root, "hopper", "gail", 4, 1, [3500.0] * 50) / "eval.json"
    measured.write_text(json.dumps(json.loads(measured.read_text()) | {"cpu_s": 41.5}))
    cost = cost_table(load_runs(PROFILE, root), PROFILE)
    assert cost.loc[0, "wall_s"] == 60.0 and cost.loc[0, "cpu_s"] == 30.0 + 41.5


def test_build_tables_writes_files_and_costs(records, tmp_path):
    out = tmp_path / "tables"
    tables = build_tables(PROFILE, records, out, reps=200)
    for name in [
        "comparison.csv",
        "comparison.md",
        "comparison.tex",
        "statistics.csv",
        "statistics.md",
        "cost.csv",
        "cost.md",
    ]:
        assert (out / PROFILE / name).stat().st_size > 0
    assert not list((out / PROFILE).glob(".*tmp"))
    markdown = (out / PROFILE / "comparison.md").read_text()
    assert "| cartpole | 1 | 500.00 | 20.00 | 210.00 ± " in markdown
    assert "GAIL (paper)" in markdown
    csv = pd.read_csv(out / PROFILE / "comparison.csv")
    assert len(csv) == 6 and {"normalized_ci_low", "paper_normalized_return"} <= set(csv.columns)
    cost = tables["cost"]

    def row(task, algorithm):
        (index,) = cost.index[(cost.task == task) & (cost.algorithm == algorithm)]
        return cost.loc[index]

    assert row("cartpole", "gail").env_steps == 9000  # 3 finished seeds x 3000
    assert row("cartpole", "gail").wall_s == pytest.approx(90.0)
    total = row("total", "all")
    assert total.seeds == 10 and total.env_steps == 9000 + 3000 + 3000
    assert total.cpu_s == total.wall_s == pytest.approx(3 * 30 + 3 * 2 + 30 + 2 + 2 + 30)


def test_figures_are_written(records, tmp_path):
    from benchmark.plots import build_figures

    paths = build_figures(PROFILE, records, tmp_path / "figures")
    names = {p.name for p in paths}
    for stem in ["figure1", "learning_curves_env_steps", "learning_curves_wall_clock"]:
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.parametrize("command", ["tables", "figures"])
def test_cli_error_for_a_profile_without_runs(tmp_path, capsys, command):
    (tmp_path / "empty" / "hopper" / "gail" / "n4" / "s0").mkdir(parents=True)  # unfinished
    code = main([command, "--profile", "empty", "--runs", str(tmp_path), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "make reproduce PROFILE=empty" in err and "'empty'" in err


def test_cli_prints_the_paths_written(records, tmp_path, capsys):
    assert (
        main(["tables", "--profile", PROFILE, "--runs", str(records), "--out", str(tmp_path / "t")])
        == 0
    )
    printed = capsys.readouterr().out.split()
    assert len(printed) == 8 and all(p.startswith(str(tmp_path / "t" / PROFILE)) for p in printed)


def test_algorithm_order_and_labels_come_from_records_and_registry(records, tmp_path):
    from benchmark.records import algorithm_labels

    # Unregistered: zeta (labelled, first in table order: cartpole before hopper), then alpha.
    for task, n_traj, algo, label in [("hopper", 4, "alpha", None), ("cartpole", 1, "zeta", "Z")]:
        folder = write_run(records, task, algo, n_traj, 0, halves(300, 300))
        config = json.loads((folder / "config.json").read_text())
        config |= {"label": label} if label else {}
        (folder / "config.json").write_text(json.dumps(config))
    runs = load_runs(PROFILE, records)
    labels = {"bc": "BC", "fem": "FEM", "gail": "GAIL", "zeta": "Z", "alpha": "alpha"}
    assert list(algorithm_labels(runs).items()) == list(labels.items())
    build_tables(PROFILE, records, tmp_path / "tables", reps=50)
    markdown = (tmp_path / "tables" / PROFILE / "comparison.md").read_text()
    assert "| Task | Dataset size | Expert | Random | BC | FEM | GAIL | Z | alpha |" in markdown


def test_a_profile_beside_another_shows_both_and_keeps_interactive_learners_apart(
    tmp_path, monkeypatch
):
    from benchmark import profiles
    from benchmark.plots import build_figures
    from benchmark.records import load_shown_runs

    protocols, root = tmp_path / "protocols", tmp_path / "runs"
    protocols.mkdir()
    monkeypatch.setattr(profiles, "PROTOCOLS_DIR", protocols)
    (protocols / f"{PROFILE}.toml").write_text('[[grid]]\ntasks = ["hopper"]\n')
    today = '[[grid]]\ntasks = ["hopper"]\nalgorithms = ["gail_ppo", "airl", "dagger"]\n'
    (protocols / "today.toml").write_text(f'beside = "{PROFILE}"\n{today}')
    span = EXPERT["hopper"] - RANDOM["hopper"]
    for algo, profile, score in [
        ("bc", PROFILE, 0.2),
        ("gail", PROFILE, 0.9),
        ("gail_ppo", "today", 0.95),
        ("airl", "today", 0.5),
        ("dagger", "today", 1.0),
    ]:
        write_run(root, "hopper", algo, 4, 0, [RANDOM["hopper"] + score * span], profile=profile)
    write_run(root, "cartpole", "gail", 1, 0, [500.0])  # not one of today's tasks

    runs = load_shown_runs("today", root, beside=PROFILE)
    assert set(runs.task) == {"hopper"}
    assert dict(zip(runs.algorithm, runs.profile, strict=True)) == {
        "bc": PROFILE,
        "gail": PROFILE,
        "gail_ppo": "today",
        "airl": "today",
        "dagger": "today",
    }
    stats = statistics_table(runs, reps=50, profile="today")
    assert set(stats.profile) == {"today"}
    assert "dagger" in set(stats[stats.statistic == "iqm"].algorithm)
    poi = stats[(stats.statistic == "probability_of_improvement") & (stats.regime == "all")]
    pairs = {(r.algorithm, r.versus): r.estimate for r in poi.itertuples()}
    assert pairs == {
        ("gail", "bc"): 1.0,
        ("gail", "gail_ppo"): 0.0,
        ("gail", "airl"): 1.0,
        ("gail_ppo", "bc"): 1.0,
        ("gail_ppo", "airl"): 1.0,
        ("airl", "bc"): 1.0,
    }
    tables = build_tables("today", root, tmp_path / "tables", reps=50, beside=PROFILE)
    page = (tmp_path / "tables" / "today" / "statistics.md").read_text()
    assert "GAIL (PPO) vs BC" in page and "DAgger (interactive)" in page
    assert build_figures("today", root, tmp_path / "figures", PROFILE)
    # Figure 1 dots the interactive learner's line, in its panel and in the legend.
    from benchmark.plots import figure1
    from benchmark.records import algorithm_labels

    fig = figure1(
        comparison_table(runs, load_reference()), "today", algorithm_labels(runs), {"dagger"}
    )
    legend = {h.get_label(): h.get_linestyle() for h in fig.legends[0].legend_handles}
    assert legend["DAgger (interactive)"] == ":" and legend["GAIL (PPO)"] == "-"
    drawn = {line.get_linestyle() for line in fig.axes[0].get_lines() if line.get_marker() == "o"}
    assert ":" in drawn
    # The cost is today's runs' alone: those beside are the other profile's cost.
    cost = tables["cost"]
    assert set(cost.profile) == {"today"}
    assert set(cost.algorithm) == {"gail_ppo", "airl", "dagger", "all"}
    assert cost.loc[cost.algorithm == "all", "wall_s"].item() == 3 * 30.0

    # A profile given by the path of its file keeps the profile beside it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "today.toml").write_text((protocols / "today.toml").read_text())
    (protocols / "today.toml").unlink()
    args = ["--profile", str(elsewhere / "today.toml"), "--runs", str(root)]
    assert main(["tables", *args, "--out", str(tmp_path / "by_path")]) == 0
    page = (tmp_path / "by_path" / "today" / "comparison.md").read_text()
    assert "| BC | GAIL | GAIL (PPO) | AIRL |" in page
    # The paper's values get a column for the learners it ran only.
    assert "| GAIL (paper) | GAIL (PPO) | AIRL | DAgger (interactive) |" in page

    # A learner of the same name in both would merge two learners' cells.
    write_run(root, "hopper", "gail", 11, 0, [RANDOM["hopper"]], profile="today")
    with pytest.raises(UserInputError, match="beside synthetic, and both run gail; give one"):
        load_shown_runs("today", root, beside=PROFILE)
    shutil.rmtree(root / "today" / "hopper" / "gail")

    # A record made from another dataset cannot stand beside today's.
    config = root / PROFILE / "hopper" / "gail" / "n4" / "s0" / "config.json"
    config.write_text(config.read_text().replace("sha-hopper", "sha-old"))
    with pytest.raises(UserInputError, match="beside synthetic, whose hopper runs .* another"):
        load_shown_runs("today", root, beside=PROFILE)
    (protocols / "later.toml").write_text(f'beside = "nonesuch"\n{today}')
    with pytest.raises(UserInputError, match="beside = 'nonesuch' is not another profile"):
        profiles.load_profile("later")


def test_targets_judge_each_cell_once_its_seeds_are_done(records, tmp_path):
    gail = Target(
        "GAIL at the expert",
        (
            ("cartpole", 1, "gail", (0, 1, 2)),
            ("cartpole", 10, "gail", (0, 1, 2)),
            ("hopper", 4, "gail", (0, 1)),
        ),
        at_least=0.9,
    )
    near = Target(
        "near the paper",
        (
            ("hopper", 4, "bc", (0,)),
            ("hopper", 4, "fem", (0,)),
            ("reacher", 4, "fem", (0,)),
            ("reacher", 11, "fem", (0,)),
        ),
        within_paper=0.1,
    )
    write_run(records, "hopper", "fem", 4, 0, [3500.0], profile="beside")  # another profile's
    write_run(records, "hopper", "gail", 4, 7, [RANDOM["hopper"]])  # a seed the grid has not
    tables = build_tables(PROFILE, records, tmp_path, reps=20, targets=(gail, near))
    judged = tables["targets"].set_index(["task", "n_traj", "algorithm"])
    cartpole = judged.loc[("cartpole", 1, "gail")]
    assert cartpole.normalized_return == pytest.approx((300 - 20) / 480)  # seeds 150, 300, 450
    assert (cartpole.seeds, cartpole.needs, cartpole.verdict) == (3, 0.9, "not met")
    assert judged.loc[("cartpole", 10, "gail"), "verdict"] == "not run"
    hopper = judged.loc[("hopper", 4, "gail")]  # (3500 - 10) / 3490 = 1, from 1 of 2 seeds
    assert (hopper.normalized_return, hopper.verdict) == (pytest.approx(1.0), "partial")
    # Hopper's BC with 4: (600 - 10) / 3490 = 0.17 against the paper's 0.01 with our random score
    paper = tables["comparison"].set_index(["task", "n_traj", "algorithm"])
    hopper_bc = judged.loc[("hopper", 4, "bc")]
    paper_bc = paper.loc[("hopper", 4, "bc"), "paper_normalized_return"]
    assert hopper_bc.needs == pytest.approx(paper_bc - 0.1)
    assert hopper_bc.normalized_return == pytest.approx(590 / 3490) and hopper_bc.verdict == "met"
    assert judged.loc[("hopper", 4, "fem"), "verdict"] == "not run"  # not the other profile's
    assert judged.loc[("reacher", 4, "fem"), "verdict"] == "no paper value"  # the paper ran none
    assert judged.loc[("reacher", 11, "fem"), "verdict"] == "no paper value"  # nor will it
    assert (
        tables["comparison"]
        .set_index(["task", "n_traj", "algorithm"])
        .loc[("hopper", 4, "gail"), "seeds"]
        == 2
    )  # the comparison shows seed 7; the target judges the grid's seeds alone
    page = (tmp_path / PROFILE / "targets.md").read_text()
    assert "## GAIL at the expert: met in 0 of 3 cells, 1 partial, 1 not run\n" in page
    assert "## near the paper: met in 1 of 4 cells, 1 not run, 2 no paper value\n" in page
    assert "| cartpole | 1 | GAIL | 3 of 3 | 0.583 | 0.900 | not met |" in page
    assert "| hopper | 4 | GAIL | 1 of 2 | 1.000 | 0.900 | partial |" in page
    assert "Each cell at least 0.9.\n" in page and "paper's value minus 0.1.\n" in page
    assert "## Quality targets" in (tmp_path / PROFILE / "results.md").read_text()
    # A cell with a record made with another config than the profile gives now is not judged.
    older = frozenset({("cartpole", 1, "gail", 2), ("hopper", 4, "bc", 3)})
    tables = build_tables(
        PROFILE, records, tmp_path, reps=20, targets=(gail, near), other_config=older
    )
    judged = tables["targets"].set_index(["task", "n_traj", "algorithm"])
    assert judged.loc[("cartpole", 1, "gail"), "verdict"] == "another config"
    assert judged.loc[("hopper", 4, "bc"), "verdict"] == "met"  # seed 3 is not the grid's
    page = (tmp_path / PROFILE / "targets.md").read_text()
    assert (
        "## GAIL at the expert: met in 0 of 3 cells, 1 partial, 1 not run, 1 another config\n"
        in page
    )
    assert "| cartpole | 1 | GAIL | 3 of 3 | 0.583 | 0.900 | another config |" in page
    comparison = (tmp_path / PROFILE / "comparison.md").read_text()  # marked there, and noted;
    # FEM ran on Reacher alone here, where the paper has none: no column of the paper's FEM.
    assert (
        "| cartpole | 1 | 3 | 0.40 [-0.38, 1.17] | 0.29 | — | 0.58 [-0.19, 1.36] † |" in comparison
    )
    assert "| hopper | 4 | 1–2 | 0.17 † |" in comparison
    assert "- †: 2 of these records were made with another config" in comparison
    latex = (tmp_path / PROFILE / "comparison.tex").read_text()
    assert r"& 0.58 [-0.19, 1.36] \dag{} & 1.00 \\" in latex
    assert r"& 0.17 \dag{} & 0.01 &" in latex and r"\dag{}: made with another config" in latex
    counted = pd.read_csv(tmp_path / PROFILE / "comparison.csv")
    counted = counted.set_index(["task", "n_traj", "algorithm"])["other_config"]
    assert counted.to_dict() == {
        **dict.fromkeys(counted.index, 0),
        ("cartpole", 1, "gail"): 1,
        ("hopper", 4, "bc"): 1,
    }
    # Tables made again without targets leave none behind, in their files or on the page.
    assert "targets" not in build_tables(PROFILE, records, tmp_path, reps=20)
    assert not (tmp_path / PROFILE / "targets.md").exists()
    assert "## Quality targets" not in (tmp_path / PROFILE / "results.md").read_text()


def test_a_value_is_shown_with_the_digits_that_tell_it_from_its_bound():
    assert _apart(0.8996, 0.9) == ("0.8996", "0.9000")
    assert _apart(0.894, 0.9) == ("0.894", "0.900")
    assert _apart(0.9, 0.9) == ("0.900000", "0.900000")
