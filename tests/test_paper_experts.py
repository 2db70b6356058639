"""The paper's own experts: read from the authors' files, acting as their code made them act."""

import json
from itertools import pairwise

import h5py
import numpy as np
import pytest

from algorithms.errors import UserInputError
from benchmark.__main__ import main
from benchmark.experts import evaluate, load_expert
from benchmark.paper_experts import SOURCES, read_h5
from benchmark.store import RESULTS_DIR
from benchmark.tasks import get_task

EXPERTS = RESULTS_DIR / "experts"


def write_authors_file(path, obs_dim, act_dim, hidden, func, snapshot, rng):
    """A file in the layout of openai/imitation's expert_policies/modern/*.h5."""
    spec = []
    for n in hidden:
        spec += [{"type": "fc", "n": n}, {"type": "nonlin", "func": func}]
    weights, sizes = {}, [obs_dim, *hidden, act_dim]
    for i, (a, b) in enumerate(pairwise(sizes)):
        name = "out" if i == len(hidden) else f"hidden/FeedforwardNet/layer_{2 * i}"
        weights[name] = (rng.normal(size=(a, b)), rng.normal(size=(1, b)))
    mean, std = rng.normal(size=obs_dim), rng.uniform(0.5, 2.0, obs_dim)
    std[-1] = 0.0  # a column that never moved in the expert's own training
    with h5py.File(path, "w") as h5:
        h5.attrs["args"] = json.dumps({"policy_hidden_spec": json.dumps(spec), "env_name": "X"})
        group = h5.create_group(f"snapshots/{snapshot}/GaussianPolicy")
        for name, (w, b) in weights.items():
            group[f"{name}/AffineLayer/W"], group[f"{name}/AffineLayer/b"] = w, b
        group["logstdevs_1_Da"] = np.full((1, act_dim), -1.5)
        group["obsnorm/Standardizer/mean_1_D"] = mean[None]
        group["obsnorm/Standardizer/meansq_1_D"] = (std**2 + mean**2)[None]
        group["obsnorm/Standardizer/count"] = 1e6
        iters = np.arange(501)
        log = np.zeros(501, dtype=[("iter", "<i4"), ("ret", "<f4"), ("nsa", "<i4")])
        log["iter"], log["ret"], log["nsa"] = iters, iters * 2.0, (iters + 1) * 50_000
        h5["log"] = log
    return weights, mean, std


def test_an_authors_file_acts_as_their_code_computes(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "ant.h5"
    file, snapshot, inserts = SOURCES["ant"]
    weights, mean, std = write_authors_file(path, 111, 8, [64, 64], "tanh", snapshot, rng)
    expert, source = read_h5(get_task("ant"), path)
    assert source["env_steps"] == 501 * 50_000 and source["training_return_at_snapshot"] == 1000
    obs = rng.normal(size=(3, 105))
    # By hand: v1's layout has the world body's 6 contact forces (zeros) at column 27.
    v1 = np.concatenate([obs[:, :27], np.zeros((3, 6)), obs[:, 27:]], 1)
    h = (v1 - mean) / (std + 1e-6)
    for name in ("hidden/FeedforwardNet/layer_0", "hidden/FeedforwardNet/layer_2"):
        h = np.tanh(h @ weights[name][0] + weights[name][1])
    mean_action = h @ weights["out"][0] + weights["out"][1]
    np.testing.assert_allclose(expert.actor(None)(obs), mean_action, rtol=1e-5, atol=1e-5)
    noise = np.random.default_rng(7).standard_normal((3, 8)) * np.exp(-1.5)
    sampled = expert.actor(np.random.default_rng(7))(obs)
    np.testing.assert_allclose(sampled, mean_action + noise, rtol=1e-5, atol=1e-5)


def test_leaky_relu_experts_use_the_authors_slope(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "hopper.h5"
    weights, mean, std = write_authors_file(path, 11, 3, [50], "lrelu", SOURCES["hopper"][1], rng)
    expert, _ = read_h5(get_task("hopper"), path)
    obs = rng.normal(size=(4, 11))
    z = (obs - mean) / (std + 1e-6) @ weights["hidden/FeedforwardNet/layer_0"][0]
    z += weights["hidden/FeedforwardNet/layer_0"][1]
    h = np.where(z > 0, z, 0.01 * z)
    expected = h @ weights["out"][0] + weights["out"][1]
    np.testing.assert_allclose(expert.actor(None)(obs), expected, rtol=1e-5, atol=1e-5)


def test_an_imported_file_is_a_suite_expert_that_acts_as_read(tmp_path, capsys):
    rng = np.random.default_rng(3)
    path = tmp_path / "hopper.h5"
    write_authors_file(path, 11, 3, [50], "lrelu", SOURCES["hopper"][1], rng)
    argv = ["expert", "import-2016", "--task", "hopper", "--h5", str(path)]
    assert main([*argv, "--experts", str(tmp_path / "experts")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    card = json.loads((tmp_path / "experts" / "hopper" / "card.json").read_text())
    assert summary["algorithm"] == card["algorithm"] == "paper-2016"
    assert (
        card["policy"]["log_std"] == [-1.5] * 3 and card["source"]["file"] == SOURCES["hopper"][0]
    )
    assert summary["deterministic_mean_return"] == card["deterministic"]["mean_return"]
    read, _ = read_h5(get_task("hopper"), path)
    imported = load_expert(get_task("hopper"), tmp_path / "experts")
    obs = rng.normal(size=(5, 11))
    np.testing.assert_array_equal(imported.actor(None)(obs), read.actor(None)(obs))


def test_another_tasks_file_or_no_file_is_one_clear_error(tmp_path, capsys):
    rng = np.random.default_rng(2)
    path = tmp_path / "hopper.h5"
    write_authors_file(path, 11, 3, [50], "lrelu", SOURCES["ant"][1], rng)
    args = ["expert", "import-2016", "--task", "ant", "--h5", str(path)]
    assert main([*args, "--experts", str(tmp_path)]) == 2
    assert "is it another task's file?" in capsys.readouterr().err
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(UserInputError, match="is not the authors' log_Ant-v1_0.h5"):
        read_h5(get_task("ant"), tmp_path / "junk.h5")
    assert main(["expert", "import-2016", "--task", "ant", "--h5", str(tmp_path / "no.h5")]) == 2
    assert "no file at" in capsys.readouterr().err
    with pytest.raises(UserInputError, match="no readable expert for humanoid"):
        read_h5(get_task("humanoid"), path)


task_action_dims = {"hopper": 3, "ant": 8}


@pytest.mark.parametrize("task_name", ["hopper", "ant"])
def test_the_committed_paper_experts_walk_on_v5(task_name):
    # The authors' experts, trained on v0/v1 with MuJoCo 1.31, still reach their paper's scores
    # on v5 (Hopper 3,571, Ant 4,228): proof that the layout and arithmetic above are theirs.
    task = get_task(task_name)
    card = json.loads((EXPERTS / task_name / "card.json").read_text())
    assert card["algorithm"] == "paper-2016" and card["source"]["file"] == SOURCES[task_name][0]
    expert = load_expert(task, EXPERTS)
    assert expert.act_dim == task_action_dims[task_name]
    result = evaluate(expert, task, episodes=2, seed=1, deterministic=True)
    assert min(result["returns"]) > 3_000


def test_training_a_task_whose_expert_is_the_papers_refuses_to_replace_it(tmp_path, capsys):
    # `make experts` must never overwrite the authors' expert with the suite's own recipe.
    # A copy of the committed card: were the guard broken, training would not touch the real one.
    (tmp_path / "hopper").mkdir()
    (tmp_path / "hopper" / "card.json").write_bytes((EXPERTS / "hopper" / "card.json").read_bytes())
    assert main(["expert", "train", "--task", "hopper", "--experts", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds the paper's own expert of hopper" in err
    assert "--experts results/experts-suite" in err
