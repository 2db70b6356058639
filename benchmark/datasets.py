"""Expert datasets and random baselines: sampled once from the committed experts, then checked.

`results/datasets/<task>/` holds `trajectories.npz` (whole episodes of the expert's stochastic
policy, as many as the task's largest dataset size; size N is the first N; for a task whose whole
episodes would not fit in the repository, only the pairs the subsampling keeps) and `card.json`:
provenance, every trajectory's return and length, the subsampling offsets, the random baseline
and a sha256 of the arrays. Loading recomputes the hash and checks the card against the task, so
a changed file, a dataset of another task or a truncated one stops with one line saying so.
"""

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from algorithms.data import Pairs, Trajectories, pairs_per_episode, subsample, subsample_offsets
from algorithms.errors import UserInputError
from algorithms.policies import GaussianPolicy
from algorithms.rollout import Sampler, env_spaces
from benchmark import store
from benchmark.experts import load_expert
from benchmark.paper_experts import PaperExpert
from benchmark.provenance import code_version, versions
from benchmark.tasks import Task

DATASETS_DIR = store.RESULTS_DIR / "datasets"
EXPERTS_DIR = store.RESULTS_DIR / "experts"
ARRAYS = ("obs", "actions", "rewards", "lengths", "terminated", "final_obs")
PAIR_ARRAYS = ("obs", "actions", "lengths", "terminated")
"""A file of subsampled pairs (`Task.whole_episodes` False): the kept pairs, episode after
episode, and each episode's length and ending, from which the pairs per episode follow."""
RANDOM_EPISODES = 50


def content_sha256(arrays: dict[str, np.ndarray]) -> str:
    """Hash of the arrays' names, dtypes, shapes and bytes (independent of the file container)."""
    digest = hashlib.sha256()
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def random_actor(action_space, rng: np.random.Generator):
    """Uniformly random actions for a batch of observations."""
    if hasattr(action_space, "n"):
        return lambda obs: rng.integers(action_space.n, size=len(obs))
    low, high = action_space.low, action_space.high
    return lambda obs: rng.uniform(low, high, (len(obs), *low.shape)).astype(np.float32)


def random_baseline(task: Task, episodes: int = RANDOM_EPISODES, seed: int = 0) -> dict:
    """The random score of the normalisation: returns of uniformly random actions."""
    with Sampler(task.env_id, num_envs=min(episodes, 16), seed=seed) as sampler:
        actor = random_actor(sampler.action_space, np.random.default_rng(seed))
        returns = sampler.collect(actor, min_episodes=episodes).episode_returns
    return {
        "episodes": episodes,
        "seed": seed,
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "returns": returns.tolist(),
    }


def make_dataset(
    task: Task,
    experts_dir: Path = EXPERTS_DIR,
    datasets_dir: Path = DATASETS_DIR,
    seed: int = 0,
    log_std: float | None = None,
    subsample_every: int | None = None,
) -> dict:
    """Sample the task's expert dataset and random baseline from its committed expert.

    `log_std`: sample with the expert's log-std set to this value on every action dimension (a
    probe of what the demonstrations' noise does to a learner; the card records it).
    `subsample_every`: keep every k-th pair instead of the task's (the paper's) rate, a probe of
    what more pairs from the same trajectories do; the card records it, and loading follows it."""
    expert = load_expert(task, experts_dir)
    if log_std is not None:
        if not isinstance(expert, GaussianPolicy | PaperExpert):
            raise UserInputError(
                f"{task.name}'s expert has no state-independent log-std to set; "
                "--expert-log-std applies to Gaussian experts only"
            )
        with torch.no_grad():
            expert.log_std.fill_(log_std)
    count = task.largest_dataset
    with Sampler(task.env_id, num_envs=min(count, 16), seed=seed) as sampler:
        trajectories = sampler.collect(
            expert.actor(np.random.default_rng(seed)), min_episodes=count
        )
    expert_card = json.loads((experts_dir / task.name / "card.json").read_text())
    source = {
        "source": "expert",
        "path": store.shown(experts_dir / task.name / "expert.pt"),
        "sha256": store.file_sha256(experts_dir / task.name / "expert.pt"),
        "algorithm": expert_card["algorithm"],
        "code_version": expert_card.get("code_version"),
        "env_steps": expert_card["env_steps"],
        "policy": "stochastic",
    } | ({} if log_std is None else {"log_std_set": log_std})
    return write_dataset(task, trajectories, source, seed, datasets_dir, subsample_every)


def write_dataset(
    task: Task,
    trajectories: Trajectories,
    source: dict,
    seed: int,
    datasets_dir: Path,
    subsample_every: int | None = None,
) -> dict:
    """Write trajectories as the task's dataset, with its card and a fresh random baseline."""
    returns = trajectories.episode_returns
    every = subsample_every or task.subsample_every
    offsets = subsample_offsets(trajectories.num_episodes, every, seed)
    if task.whole_episodes:
        arrays = {name: getattr(trajectories, name) for name in ARRAYS}
    else:
        pairs = subsample(trajectories, every, offsets)
        arrays = {"obs": pairs.obs, "actions": pairs.actions} | {
            name: getattr(trajectories, name) for name in ("lengths", "terminated")
        }
    card = {
        "task": task.name,
        "env_id": task.env_id,
        "num_trajectories": trajectories.num_episodes,
        "num_pairs": trajectories.num_steps,
        "stored": "whole episodes" if task.whole_episodes else "subsampled pairs",
        "obs_dim": trajectories.obs.shape[1],
        "action_shape": list(trajectories.actions.shape[1:]),
        "seed": seed,
        "expert": source,
        "expert_score": float(returns.mean()),
        "expert_score_std": float(returns.std()),
        "returns": returns.tolist(),
        "lengths": trajectories.lengths.tolist(),
        "subsampling": {"every": every, "seed": seed, "offsets": offsets.tolist()},
        "random": random_baseline(task, seed=seed),
        "sha256": content_sha256(arrays),
        "code_version": code_version(),
        "versions": versions(),
    }
    out = datasets_dir / task.name
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    store.write_bytes(out / "trajectories.npz", buffer.getvalue())
    # The card goes last: a card on disk always describes a complete data file.
    store.write_json(out / "card.json", card)
    return card


def normalize(value, expert_score, random_score):
    """(R - R_random) / (R_expert - R_random): expert 1, random 0 (Figure 1's scale); `value`
    may be an array or a pandas column."""
    return (value - random_score) / (expert_score - random_score)


@dataclass(frozen=True)
class ExpertDataset:
    task: Task
    card: dict
    pairs: Pairs
    """Every trajectory's subsampled pairs, trajectory after trajectory."""
    pairs_per_trajectory: np.ndarray
    trajectories: Trajectories | None
    """Whole episodes; None where the file keeps only the subsampled pairs."""

    @property
    def expert_score(self) -> float:
        return self.card["expert_score"]

    @property
    def random_score(self) -> float:
        return self.card["random"]["mean_return"]

    def normalize(self, mean_return: float) -> float:
        return normalize(mean_return, self.expert_score, self.random_score)

    def expert_path(self) -> Path:
        """The committed expert policy the dataset was sampled from, checked by its digest: an
        interactive learner queries this one, and analyses compare a run with it."""
        source = self.card["expert"]
        if source.get("source") != "expert":
            raise UserInputError(
                f"{self.task.name}'s dataset was not sampled from a committed expert (its source: "
                f"{source.get('source')}); use a dataset made with `dataset make`"
            )
        path = store.REPO / source["path"]
        if not path.exists() or store.file_sha256(path) != source["sha256"]:
            raise UserInputError(
                f"{store.shown(path)} is missing or is not the expert {self.task.name}'s dataset "
                "was sampled from (its sha256 differs); restore it, or remake the dataset with "
                f"`python -m benchmark dataset make --task {self.task.name}`"
            )
        return path

    def expert_pairs(self, num_trajectories: int) -> Pairs:
        """The pairs a learner trains on: the first N trajectories, subsampled as in the paper."""
        if not 1 <= num_trajectories <= len(self.pairs_per_trajectory):
            raise UserInputError(
                f"{self.task.name}: asked for {num_trajectories} expert trajectories, the dataset "
                f"holds {len(self.pairs_per_trajectory)}"
            )
        rows = self.pairs_per_trajectory[:num_trajectories].sum()
        return self.pairs.head(rows)


def load_dataset(task: Task, datasets_dir: Path = DATASETS_DIR) -> ExpertDataset:
    """The task's dataset, checked against its card and the task; UserInputError otherwise."""
    folder = datasets_dir / task.name
    fix = f"regenerate it with `python -m benchmark dataset make --task {task.name}`"
    card_path, data_path = folder / "card.json", folder / "trajectories.npz"
    if not card_path.exists() or not data_path.exists():
        raise UserInputError(f"no dataset for {task.name} in {folder}; {fix} (or `make datasets`)")
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserInputError(f"{card_path} is not valid JSON ({err}); {fix}") from None
    if not isinstance(card, dict):
        raise UserInputError(f"{card_path} is not a dataset card (not a JSON object); {fix}")
    if card.get("task") != task.name or card.get("env_id") != task.env_id:
        raise UserInputError(
            f"{folder} holds a dataset of {card.get('task')} ({card.get('env_id')}), not of "
            f"{task.name} ({task.env_id}); {fix}"
        )
    try:
        with np.load(data_path, allow_pickle=False) as data:
            names = ARRAYS if task.whole_episodes else PAIR_ARRAYS
            arrays = {name: data[name] for name in names}
    # Damaged bytes surface as whatever the layer that meets them raises: zipfile's CRC check,
    # zlib, numpy's header parser (even a SyntaxError), a missing array's KeyError.
    except Exception as err:
        raise UserInputError(f"{data_path} is not a readable dataset ({err}); {fix}") from None
    try:
        if task.whole_episodes:
            trajectories = Trajectories(**arrays)
        else:
            trajectories, pairs = None, Pairs(obs=arrays["obs"], actions=arrays["actions"])
    except UserInputError as err:
        raise UserInputError(f"{data_path}: {err}; {fix}") from None
    if content_sha256(arrays) != card.get("sha256"):
        raise UserInputError(f"{data_path} changed since its card was written (sha256); {fix}")
    # A card and hash that agree say nothing of the values: an import or a broken expert can
    # write NaN, which a run would train on to a NaN result.
    broken = [n for n in ("obs", "actions") if not np.isfinite(arrays[n]).all()]
    if broken:
        raise UserInputError(f"{data_path}: {' and '.join(broken)} hold non-finite values; {fix}")
    obs_dim, _ = env_spaces(task.env_id)
    count = len(arrays["lengths"])
    if arrays["obs"].shape[1] != obs_dim or count < task.largest_dataset:
        raise UserInputError(
            f"{data_path}: {count} trajectories of {arrays['obs'].shape[1]} observations, "
            f"{task.env_id} needs {task.largest_dataset} of {obs_dim}; {fix}"
        )
    try:
        every, offsets = card["subsampling"]["every"], np.asarray(card["subsampling"]["offsets"])
    except (KeyError, TypeError) as err:
        raise UserInputError(f"{card_path} has no subsampling ({err!r} missing); {fix}") from None
    try:
        per_trajectory = pairs_per_episode(arrays["lengths"], every, offsets)
        if trajectories is not None:
            pairs = subsample(trajectories, every, offsets)
    except UserInputError as err:
        raise UserInputError(f"{data_path}: {err}; {fix}") from None
    if per_trajectory.sum() != len(pairs):
        raise UserInputError(
            f"{data_path}: {len(pairs)} pairs, but the episodes' lengths and subsampling give "
            f"{per_trajectory.sum()}; {fix}"
        )
    return ExpertDataset(task, card, pairs, per_trajectory, trajectories)
