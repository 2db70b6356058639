"""Minari interop (the optional `minari` extra): export the suite's datasets, import Minari's.

Minari stores an episode as T+1 observations (the last one is the observation after the final
action), T actions, rewards and termination/truncation flags: the suite's `Trajectories` with
`final_obs` appended. Minari's MuJoCo datasets are recorded on the same v5 tasks, so an imported
one is used like a dataset sampled from a committed expert, with a card that names its source.
"""

from pathlib import Path

import numpy as np

from algorithms.data import Trajectories
from algorithms.errors import UserInputError
from benchmark.datasets import DATASETS_DIR, ExpertDataset, write_dataset
from benchmark.tasks import Task


def _minari():
    try:
        import minari
    except ImportError:
        raise UserInputError(
            "Minari is not installed; install the extra with `pip install -e '.[minari]'`"
        ) from None
    return minari


def export_to_minari(dataset: ExpertDataset, dataset_id: str):
    """Write `dataset` as a local Minari dataset (under MINARI_DATASETS_PATH or ~/.minari)."""
    from minari.data_collector import EpisodeBuffer

    minari = _minari()
    traj = dataset.trajectories
    if traj is None:
        raise UserInputError(
            f"{dataset.task.name}'s dataset keeps only its subsampled pairs, and a Minari dataset "
            "needs whole episodes; export a task whose dataset stores them"
        )
    episodes = []
    for e, (start, length) in enumerate(zip(traj.starts, traj.lengths, strict=True)):
        rows = slice(start, start + length)
        terminations = np.zeros(length, bool)
        terminations[-1] = traj.terminated[e]
        episodes.append(
            EpisodeBuffer(
                id=e,
                observations=np.concatenate([traj.obs[rows], traj.final_obs[e : e + 1]]),
                actions=traj.actions[rows],
                rewards=traj.rewards[rows],
                terminations=terminations,
                truncations=~terminations & (np.arange(length) == length - 1),
            )
        )
    return minari.create_dataset_from_buffers(
        dataset_id,
        episodes,
        env=dataset.task.env_id,
        eval_env=dataset.task.env_id,
        algorithm_name=f"{dataset.card['expert'].get('algorithm', 'unknown')} expert",
        ref_min_score=dataset.random_score,
        ref_max_score=dataset.expert_score,
        description=f"GAIL benchmark suite: expert dataset of {dataset.task.name}",
        author="GAIL benchmark suite",
        code_permalink=f"git commit {dataset.card['code_version']}",
    )


def import_from_minari(
    dataset_id: str, task: Task, datasets_dir: Path = DATASETS_DIR, seed: int = 0
) -> dict:
    """Write the first episodes of a local Minari dataset as `task`'s expert dataset."""
    minari = _minari()
    try:
        source = minari.load_dataset(dataset_id)
    except (FileNotFoundError, ValueError) as err:
        raise UserInputError(f"cannot load Minari dataset {dataset_id!r}: {err}") from None
    env_id = source.spec.env_spec.id if source.spec.env_spec else None
    if env_id != task.env_id:
        raise UserInputError(
            f"Minari dataset {dataset_id!r} was recorded on {env_id}, not on {task.env_id}; "
            f"import it as the task that runs {env_id}"
        )
    count = task.largest_dataset
    if source.total_episodes < count:
        raise UserInputError(
            f"Minari dataset {dataset_id!r} has {source.total_episodes} episodes, "
            f"{task.name} needs {count}"
        )
    episodes = list(source.iterate_episodes(range(count)))
    trajectories = Trajectories(
        obs=np.concatenate([ep.observations[:-1] for ep in episodes]).astype(np.float32),
        actions=np.concatenate([ep.actions for ep in episodes]),
        rewards=np.concatenate([ep.rewards for ep in episodes]).astype(np.float64),
        lengths=np.array([len(ep) for ep in episodes], np.int64),
        terminated=np.array([bool(ep.terminations[-1]) for ep in episodes]),
        final_obs=np.stack([ep.observations[-1] for ep in episodes]).astype(np.float32),
    )
    origin = {"source": "minari", "dataset_id": dataset_id, "policy": "as recorded"}
    return write_dataset(task, trajectories, origin, seed, datasets_dir)
