import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from algorithms.errors import UserInputError
from benchmark.__main__ import main
from benchmark.datasets import (
    ARRAYS,
    PAIR_ARRAYS,
    content_sha256,
    load_dataset,
    make_dataset,
    write_dataset,
)
from benchmark.experts import TRPOExpertConfig, load_expert, save_expert, train_expert
from benchmark.store import RESULTS_DIR
from benchmark.tasks import get_task

CARTPOLE = get_task("cartpole")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A weak CartPole expert (2 TRPO iterations) and its dataset, in a scratch results folder."""
    root = tmp_path_factory.mktemp("results")
    experts, datasets = root / "experts", root / "datasets"
    recipe = TRPOExpertConfig(iterations=2, pairs_per_iteration=1_000, num_envs=4)
    policy, history = train_expert(CARTPOLE, recipe, experts / "cartpole")
    save_expert(policy, history, CARTPOLE, recipe, experts / "cartpole")
    card = make_dataset(CARTPOLE, experts, datasets, seed=5)
    return experts, datasets, card


def copy_of(made, tmp_path):
    shutil.copytree(made[1], tmp_path / "datasets")
    return tmp_path / "datasets"


def test_card_describes_the_data(made):
    _, datasets, card = made
    dataset = load_dataset(CARTPOLE, datasets)
    traj = dataset.trajectories
    assert card["num_trajectories"] == traj.num_episodes == CARTPOLE.largest_dataset
    np.testing.assert_allclose(card["returns"], traj.episode_returns)
    assert card["lengths"] == traj.lengths.tolist()
    assert card["expert_score"] == pytest.approx(traj.episode_returns.mean())
    assert card["random"]["episodes"] == len(card["random"]["returns"]) == 50
    assert set(card["versions"]) >= {"gymnasium", "mujoco", "envpool"}
    assert dataset.normalize(dataset.expert_score) == pytest.approx(1.0)
    assert dataset.normalize(dataset.random_score) == pytest.approx(0.0)


def test_same_seed_same_dataset_other_seed_other_dataset(made, tmp_path):
    experts, _, card = made
    again = make_dataset(CARTPOLE, experts, tmp_path / "again", seed=5)
    other = make_dataset(CARTPOLE, experts, tmp_path / "other", seed=6)
    assert again["sha256"] == card["sha256"] and again["random"] == card["random"]
    assert other["sha256"] != card["sha256"]


def test_a_probe_dataset_samples_the_expert_with_the_log_std_it_is_given(made, tmp_path):
    reacher = get_task("reacher")
    suite_experts = RESULTS_DIR / "experts-suite"  # a GaussianPolicy of the learners' family
    card = make_dataset(reacher, suite_experts, tmp_path, log_std=-1.0)
    assert card["expert"]["log_std_set"] == -1.0
    pairs = load_dataset(reacher, tmp_path).expert_pairs(reacher.largest_dataset)
    expert = load_expert(reacher, suite_experts)
    with torch.no_grad():
        mean = expert.dist_params(torch.as_tensor(pairs.obs))[:, : pairs.actions.shape[1]]
    # The committed expert's own noise is far smaller (log-std about -3.2).
    noise = (pairs.actions - mean.numpy()).std()
    assert noise == pytest.approx(np.exp(-1.0), rel=0.1)
    with pytest.raises(UserInputError, match="cartpole's expert has no state-independent log-std"):
        make_dataset(CARTPOLE, made[0], tmp_path, log_std=-1.0)


def test_nested_sizes_use_the_same_pairs(made):
    dataset = load_dataset(CARTPOLE, made[1])
    small, large = dataset.expert_pairs(4), dataset.expert_pairs(10)
    np.testing.assert_array_equal(small.obs, large.obs[: len(small)])
    np.testing.assert_array_equal(small.actions, large.actions[: len(small)])
    # Every 10th pair from each trajectory's offset.
    every, offsets = 10, np.array(made[2]["subsampling"]["offsets"][:4])
    lengths = np.array(made[2]["lengths"][:4])
    assert len(small) == sum(len(range(o, n, every)) for o, n in zip(offsets, lengths, strict=True))
    with pytest.raises(UserInputError, match="asked for 11 expert trajectories"):
        dataset.expert_pairs(11)


def test_changed_data_is_refused(made, tmp_path):
    datasets = copy_of(made, tmp_path)
    path = datasets / "cartpole" / "trajectories.npz"
    with np.load(path) as data:
        arrays = {name: data[name] for name in ARRAYS}
    arrays["obs"][3, 1] += 1e-3
    np.savez_compressed(path, **arrays)
    with pytest.raises(UserInputError, match="changed since its card was written"):
        load_dataset(CARTPOLE, datasets)


def test_corrupt_file_and_card_are_refused(made, tmp_path):
    datasets = copy_of(made, tmp_path)
    card_path, data_path = (
        datasets / "cartpole" / name for name in ("card.json", "trajectories.npz")
    )
    card = json.loads(card_path.read_text())
    del card["subsampling"]
    card_path.write_text(json.dumps(card))
    with pytest.raises(UserInputError, match="card.json has no subsampling"):
        load_dataset(CARTPOLE, datasets)
    # Bytes damaged inside the compressed stream, the zip's directory intact
    whole = bytearray(data_path.read_bytes())
    whole[200:260] = bytes(60)
    data_path.write_bytes(bytes(whole))
    with pytest.raises(UserInputError, match="not a readable dataset"):
        load_dataset(CARTPOLE, datasets)
    data_path.write_bytes(b"not a zip file")
    with pytest.raises(UserInputError, match="not a readable dataset"):
        load_dataset(CARTPOLE, datasets)
    card_path.write_text("[]")
    with pytest.raises(UserInputError, match="not a dataset card"):
        load_dataset(CARTPOLE, datasets)
    card_path.write_text("{")
    with pytest.raises(UserInputError, match="not valid JSON"):
        load_dataset(CARTPOLE, datasets)


def test_missing_array_and_wrong_shapes_are_refused(made, tmp_path):
    datasets = copy_of(made, tmp_path)
    path = datasets / "cartpole" / "trajectories.npz"
    with np.load(path) as data:
        arrays = {name: data[name] for name in ARRAYS}
    np.savez_compressed(path, **{k: v for k, v in arrays.items() if k != "final_obs"})
    with pytest.raises(UserInputError, match="not a readable dataset"):
        load_dataset(CARTPOLE, datasets)
    np.savez_compressed(path, **arrays | {"actions": arrays["actions"][:-1]})
    with pytest.raises(UserInputError, match="actions has shape"):
        load_dataset(CARTPOLE, datasets)


def test_dataset_of_another_task_is_refused(made, tmp_path):
    datasets = copy_of(made, tmp_path)
    shutil.copytree(datasets / "cartpole", datasets / "acrobot")
    with pytest.raises(UserInputError, match="holds a dataset of cartpole"):
        load_dataset(get_task("acrobot"), datasets)


def test_too_few_trajectories_are_refused_even_with_a_matching_hash(made, tmp_path):
    datasets = copy_of(made, tmp_path)
    dataset = load_dataset(CARTPOLE, datasets)
    whole = dataset.trajectories
    rows = whole.lengths[:3].sum()  # the first three episodes: their rows, and their own entries
    per_row = ("obs", "actions", "rewards")
    short = {n: getattr(whole, n)[: rows if n in per_row else 3] for n in ARRAYS}
    np.savez_compressed(datasets / "cartpole" / "trajectories.npz", **short)
    card = dataset.card | {"sha256": content_sha256(short)}
    (datasets / "cartpole" / "card.json").write_text(json.dumps(card))
    with pytest.raises(UserInputError, match="CartPole-v1 needs 10 of 4"):
        load_dataset(CARTPOLE, datasets)


def test_non_finite_values_are_refused_even_with_a_matching_hash(made, tmp_path):
    datasets = copy_of(made, tmp_path)
    dataset = load_dataset(CARTPOLE, datasets)
    arrays = {n: getattr(dataset.trajectories, n).copy() for n in ARRAYS}
    arrays["obs"][3, 1] = np.nan
    np.savez_compressed(datasets / "cartpole" / "trajectories.npz", **arrays)
    card = dataset.card | {"sha256": content_sha256(arrays)}
    (datasets / "cartpole" / "card.json").write_text(json.dumps(card))
    with pytest.raises(UserInputError, match="obs hold non-finite values"):
        load_dataset(CARTPOLE, datasets)


def test_a_file_of_subsampled_pairs_gives_learners_the_same_pairs(made, tmp_path):
    """Humanoid's dataset keeps only the pairs the subsampling selects (whole episodes: 350 MB)."""
    pairs_only = replace(CARTPOLE, whole_episodes=False)
    whole = load_dataset(CARTPOLE, made[1])
    card = write_dataset(pairs_only, whole.trajectories, whole.card["expert"], 5, tmp_path)
    dataset = load_dataset(pairs_only, tmp_path)
    assert dataset.trajectories is None and card["stored"] == "subsampled pairs"
    assert card["returns"] == whole.card["returns"] and card["random"] == whole.card["random"]
    for n in (1, 4, 10):
        np.testing.assert_array_equal(dataset.expert_pairs(n).obs, whole.expert_pairs(n).obs)
        np.testing.assert_array_equal(
            dataset.expert_pairs(n).actions, whole.expert_pairs(n).actions
        )
    from benchmark.minari_io import export_to_minari

    with pytest.raises(UserInputError, match="keeps only its subsampled pairs"):
        export_to_minari(dataset, "gailbench/cartpole/pairs-v0")

    # One pair lost, with a card rewritten to match the file: the lengths give it away.
    path = tmp_path / "cartpole" / "trajectories.npz"
    with np.load(path) as data:
        arrays = {name: data[name] for name in PAIR_ARRAYS}
    arrays |= {"obs": arrays["obs"][:-1], "actions": arrays["actions"][:-1]}
    np.savez_compressed(path, **arrays)
    card["sha256"] = content_sha256(arrays)
    (tmp_path / "cartpole" / "card.json").write_text(json.dumps(card))
    with pytest.raises(UserInputError, match="the episodes' lengths and subsampling give"):
        load_dataset(pairs_only, tmp_path)


def test_a_probe_dataset_keeps_the_pairs_at_the_rate_it_is_given(made, tmp_path, capsys):
    experts, datasets, card = made
    args = ["dataset", "make", "--task", "cartpole", "--seed", "5", "--experts", str(experts)]
    assert main([*args, "--subsample-every", "1", "--datasets", str(tmp_path)]) == 0
    every_pair = load_dataset(CARTPOLE, tmp_path)
    assert every_pair.card["subsampling"]["every"] == 1
    assert every_pair.card["returns"] == card["returns"]  # the same episodes, all of their pairs
    assert len(every_pair.expert_pairs(10)) == sum(card["lengths"][:10])
    assert len(every_pair.expert_pairs(10)) > len(load_dataset(CARTPOLE, datasets).expert_pairs(10))
    assert main([*args, "--subsample-every", "0", "--datasets", str(tmp_path)]) == 2
    assert "0 is below 1" in capsys.readouterr().err


def test_cli_reports_a_missing_dataset_in_one_line(tmp_path, capsys):
    assert main(["dataset", "check", "--task", "hopper", "--datasets", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no dataset for hopper" in err[0] and "dataset make" in err[0]


def test_minari_round_trip_keeps_every_array(made, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    from benchmark.minari_io import export_to_minari, import_from_minari

    original = load_dataset(CARTPOLE, made[1])
    exported = export_to_minari(original, "gailbench/cartpole/expert-v0")
    assert exported.total_episodes == 10 and exported.total_steps == original.card["num_pairs"]
    card = import_from_minari("gailbench/cartpole/expert-v0", CARTPOLE, tmp_path / "imported")
    assert card["sha256"] == original.card["sha256"]
    assert card["expert"] == {
        "source": "minari",
        "dataset_id": "gailbench/cartpole/expert-v0",
        "policy": "as recorded",
    }
    imported = load_dataset(CARTPOLE, tmp_path / "imported")
    for name in ARRAYS:
        np.testing.assert_array_equal(
            getattr(imported.trajectories, name), getattr(original.trajectories, name)
        )
    with pytest.raises(UserInputError, match="recorded on CartPole-v1, not on Acrobot-v1"):
        import_from_minari("gailbench/cartpole/expert-v0", get_task("acrobot"), tmp_path / "x")
    with pytest.raises(UserInputError, match="cannot load Minari dataset"):
        import_from_minari("gailbench/cartpole/missing-v0", CARTPOLE, tmp_path / "x")


def test_the_minari_commands_round_trip_a_committed_dataset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    minari_id = ["--id", "gailbench/cartpole/expert-v0"]
    shutil.copytree(RESULTS_DIR / "datasets" / "cartpole", tmp_path / "mine" / "cartpole")
    mine = ["--datasets", str(tmp_path / "mine")]
    assert main(["dataset", "export-minari", "--task", "cartpole", *minari_id, *mine]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["episodes"] == 10
    imported = ["--datasets", str(tmp_path / "imported")]
    assert main(["dataset", "import-minari", "--task", "cartpole", *minari_id, *imported]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    committed = load_dataset(CARTPOLE).card
    assert summary["num_pairs"] == committed["num_pairs"]
    assert load_dataset(CARTPOLE, tmp_path / "imported").card["sha256"] == committed["sha256"]


# Issue 3's targets for the expert score (the mean return of the dataset's trajectories).
TARGETS = {
    "cartpole": 475,
    "acrobot": -90,
    "mountaincar": -115,
    "reacher": -6,
    "halfcheetah": 4500,
    "hopper": 3000,
    "walker": 4000,
    "ant": 3500,
    "humanoid": 5000,
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_committed_dataset_verifies_and_its_expert_meets_the_target(name):
    task = get_task(name)
    dataset = load_dataset(task, Path(__file__).parents[1] / "results" / "datasets")
    assert dataset.expert_score >= TARGETS[name]
    assert dataset.expert_score > dataset.random_score


def test_a_dataset_names_its_expert_and_refuses_another(tmp_path):
    ant = get_task("ant")
    dataset = load_dataset(ant, RESULTS_DIR / "datasets")
    assert dataset.expert_path() == RESULTS_DIR / "experts" / "ant" / "expert.pt"
    shutil.copytree(RESULTS_DIR / "datasets" / "ant", tmp_path / "ant")
    card = json.loads((tmp_path / "ant" / "card.json").read_text())
    card["expert"]["sha256"] = "0" * 64  # as if the expert file had been replaced since
    (tmp_path / "ant" / "card.json").write_text(json.dumps(card))
    with pytest.raises(UserInputError, match="is not the expert ant's dataset was sampled from"):
        load_dataset(ant, tmp_path).expert_path()
