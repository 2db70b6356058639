"""The paper's own experts, read from the authors' files, acting on today's environments.

Ho and Ermon published the TRPO experts their datasets were sampled from (openai/imitation,
`expert_policies/modern/*.h5`, MIT licence). `python -m benchmark expert import-2016 --task T
--h5 FILE` reads the snapshot the paper's pipeline names (`SOURCES`) and writes it as a suite
expert, `results/experts/<task>/expert.pt` with its card, so that `python -m benchmark dataset
make --task T` samples demonstrations from the very policies the paper learned from. These are
the committed experts of Reacher, Hopper, Walker2d, HalfCheetah and Ant; the suite's own experts
of those tasks are kept in `results/experts-suite/` (docs/experts.md).

Each expert acts as the authors' code made it act:
- its network: Hopper, Walker2d and HalfCheetah one hidden layer of 50 leaky-ReLU units (slope
  0.01), Ant and Reacher two of 64 tanh units; a Gaussian with a state-independent std;
- its standardiser: (x - mean) / (std + 1e-6), unclipped, with the statistics of its own training;
- its observation in the v1 layout, which v5's reaches by inserting zeros where v1 observed a value
  that never moves (Ant-v1: the world body's 6 contact forces; Reacher-v1: the height of fingertip
  minus target).
Humanoid's file (`log_humanoid_1.h5`, 1,500 iterations) could not be read here, so it has none.
"""

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from torch import nn

from algorithms.errors import UserInputError
from algorithms.rollout import env_spaces
from benchmark import store
from benchmark.provenance import code_version, versions
from benchmark.tasks import Task

REPOSITORY = "openai/imitation"
COMMIT = "8a2ed905e2ac54bda0f71e5ee364e90568e6d031"
LICENCE = "MIT, Copyright (c) 2016 Jonathan Ho and Stefano Ermon"
ALGORITHM = "paper-2016"

# task: (file in the repository, snapshot, [(v1 column, zeros inserted there)]), as the paper's
# pipelines (pipelines/im_pipeline.yaml, im_regtest_pipeline.yaml) name them.
SOURCES = {
    "hopper": ("expert_policies/modern/log_Hopper-v0_3.h5", "iter0000500", []),
    "walker": ("expert_policies/modern/walker_eb5b2e_1.h5", "iter0000480", []),
    "halfcheetah": ("expert_policies/modern/log_HalfCheetah-v0_2.h5", "iter0000500", []),
    "ant": ("expert_policies/modern/log_Ant-v1_0.h5", "iter0000500", [(27, 6)]),
    "reacher": ("expert_policies/modern/log_Reacher-v1_4.h5", "iter0000500", [(10, 1)]),
}
NONLINEARITIES = {"tanh": np.tanh, "lrelu": lambda x: np.where(x > 0, x, 0.01 * x)}
STD_EPS = 1e-6


class PaperExpert(nn.Module):
    """A Gaussian policy with the authors' network, standardiser and observation layout."""

    def __init__(
        self, v1_obs_dim: int, act_dim: int, hidden: list[int], nonlinearity: str, inserts: list
    ):
        super().__init__()
        if nonlinearity not in NONLINEARITIES:
            raise UserInputError(
                f"nonlinearity {nonlinearity!r}; expected one of {', '.join(NONLINEARITIES)}"
            )
        self.nonlinearity, self.inserts = nonlinearity, [tuple(i) for i in inserts]
        self.register_buffer("obs_mean", torch.zeros(v1_obs_dim, dtype=torch.float64))
        self.register_buffer("obs_std", torch.ones(v1_obs_dim, dtype=torch.float64))
        sizes = [v1_obs_dim, *hidden, act_dim]
        self.layers = nn.ModuleList(
            nn.Linear(a, b, dtype=torch.float64) for a, b in pairwise(sizes)
        )
        self.log_std = nn.Parameter(torch.zeros(act_dim, dtype=torch.float64))

    @property
    def act_dim(self) -> int:
        return self.log_std.numel()

    def config(self) -> dict:
        hidden = [layer.out_features for layer in self.layers[:-1]]
        return {
            "v1_obs_dim": self.layers[0].in_features,
            "act_dim": self.layers[-1].out_features,
            "hidden": hidden,
            "nonlinearity": self.nonlinearity,
            "inserts": [list(i) for i in self.inserts],
        }

    def to_v1(self, obs: np.ndarray) -> np.ndarray:
        """v5's observation rows in v1's layout."""
        for column, count in self.inserts:
            obs = np.insert(obs, [column] * count, 0.0, axis=-1)
        return obs

    def actor(self, rng: np.random.Generator | None = None):
        """Raw observations (v5) to actions; `rng=None` gives the mean."""
        mean, std = self.obs_mean.numpy(), self.obs_std.numpy() + STD_EPS
        weights = [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in self.layers]
        act_std = self.log_std.detach().exp().numpy()
        nonlin = NONLINEARITIES[self.nonlinearity]

        def act(obs: np.ndarray) -> np.ndarray:
            h = (self.to_v1(np.asarray(obs, dtype=np.float64)) - mean) / std
            for w, b in weights[:-1]:
                h = nonlin(h @ w + b)
            action = h @ weights[-1][0] + weights[-1][1]
            if rng is not None:
                action = action + act_std * rng.standard_normal(action.shape)
            return action.astype(np.float32)

        return act


def read_h5(task: Task, h5_path: Path) -> tuple[PaperExpert, dict]:
    """The task's expert snapshot from the authors' file, and what the card says of its source."""
    import h5py  # the `minari` extra installs it; only this import needs it

    if task.name not in SOURCES:
        raise UserInputError(
            f"the paper published no readable expert for {task.name}; "
            f"import-2016 knows {', '.join(SOURCES)}"
        )
    file, snapshot, inserts = SOURCES[task.name]
    try:
        with h5py.File(h5_path, "r") as h5:
            args = json.loads(h5.attrs["args"])
            group = h5[f"snapshots/{snapshot}/GaussianPolicy"]
            arrays = {}

            def keep(name, item):
                if isinstance(item, h5py.Dataset):
                    arrays[name] = item[()]

            group.visititems(keep)
            log = h5["log"][()]
    except (OSError, KeyError) as err:
        raise UserInputError(
            f"{h5_path} is not the authors' {Path(file).name} with snapshot {snapshot} ({err}); "
            f"take it from {REPOSITORY} at {file}"
        ) from None
    spec = json.loads(args["policy_hidden_spec"])
    hidden = [layer["n"] for layer in spec if layer["type"] == "fc"]
    nonlinearity = next(layer["func"] for layer in spec if layer["type"] == "nonlin")
    weights = sorted(k for k in arrays if k.endswith("AffineLayer/W"))
    # hidden/.../layer_0, layer_2, ..., then out/: the sort puts "hidden" before "out".
    linear = [(arrays[w], arrays[w[:-1] + "b"]) for w in weights]
    act_dim = linear[-1][0].shape[1]
    expert = PaperExpert(linear[0][0].shape[0], act_dim, hidden, nonlinearity, inserts)
    norm = "obsnorm/Standardizer/"
    mean = arrays[norm + "mean_1_D"][0]
    std = np.sqrt(np.maximum(arrays[norm + "meansq_1_D"][0] - mean**2, 0.0))
    with torch.no_grad():
        expert.obs_mean.copy_(torch.as_tensor(mean))
        expert.obs_std.copy_(torch.as_tensor(std))
        for layer, (w, b) in zip(expert.layers, linear, strict=True):
            layer.weight.copy_(torch.as_tensor(w.T))
            layer.bias.copy_(torch.as_tensor(b[0]))
        expert.log_std.copy_(torch.as_tensor(arrays["logstdevs_1_Da"][0]))
    iteration = int(snapshot.removeprefix("iter"))
    source = {
        "repository": REPOSITORY,
        "commit": COMMIT,
        "file": file,
        "snapshot": snapshot,
        "sha256": store.file_sha256(h5_path),
        "licence": LICENCE,
        "trained_on": args["env_name"],
        "training_args": args,
        "training_return_at_snapshot": float(log["ret"][log["iter"] == iteration][0]),
    }
    # The log's "nsa" counts the pairs sampled so far.
    return expert, source | {"env_steps": int(log["nsa"][log["iter"] == iteration][0])}


def import_expert(task: Task, h5_path: Path, out_dir: Path) -> dict:
    """Write the authors' expert of `task` as a suite expert in `out_dir`, with its card."""
    from benchmark.experts import evaluate

    expert, source = read_h5(task, h5_path)
    obs_dim, action_space = env_spaces(task.env_id)
    v1_dim = obs_dim + sum(count for _, count in expert.inserts)
    if expert.layers[0].in_features != v1_dim or expert.log_std.numel() != action_space.shape[0]:
        raise UserInputError(
            f"{h5_path}'s expert observes {expert.layers[0].in_features} values and acts on "
            f"{expert.log_std.numel()}; {task.env_id} in v1's layout has {v1_dim} and "
            f"{action_space.shape[0]}: is it another task's file?"
        )
    env_steps = source.pop("env_steps")
    card = {
        "task": task.name,
        "env_id": task.env_id,
        "algorithm": ALGORITHM,
        "source": source,
        "env_steps": env_steps,
        "policy": {
            "family": "gaussian, state-independent std",
            "hidden": expert.config()["hidden"],
            "nonlinearity": expert.nonlinearity,
            "log_std": [round(x, 4) for x in expert.log_std.tolist()],
            "mean_log_std": round(expert.log_std.mean().item(), 4),
            "v1_inserts": expert.config()["inserts"],
        },
        "deterministic": evaluate(expert, task, 50, seed=1, deterministic=True),
        "stochastic": evaluate(expert, task, 50, seed=2, deterministic=False),
        "code_version": code_version(),
        "versions": versions(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = {"algorithm": ALGORITHM, "config": expert.config(), "state_dict": expert.state_dict()}
    store.save_torch(saved, out_dir / "expert.pt")
    store.write_json(out_dir / "card.json", card)
    return card


def from_saved(saved: dict) -> PaperExpert:
    """The expert in an `expert.pt` that `import_expert` wrote."""
    expert = PaperExpert(**saved["config"])
    expert.load_state_dict(saved["state_dict"])
    return expert
