"""One run end to end: load the dataset, train the learner, evaluate, write the record.

The record's layout and its files belong to `benchmark.store`; the training loop, with its
checkpoints and resume, to `benchmark.training`; the learner to `algorithms.registry`.
"""

from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from algorithms.errors import UserInputError
from benchmark import store, tracking
from benchmark.datasets import load_dataset
from benchmark.experts import evaluate, load_expert
from benchmark.profiles import Profile
from benchmark.provenance import code_version, versions
from benchmark.tasks import Task
from benchmark.training import single_threaded, train

RUNS_DIR = store.RUNS_DIR
EVAL_EPISODES = 50


def make_config(task: Task, algo: str, n_traj: int, seed: int, profile: Profile, dataset) -> dict:
    """Everything that determines the run, and its provenance (an interactive learner's also
    names the expert policy it queried, by its file's digest)."""
    config = {
        "task": task.name,
        "env_id": task.env_id,
        "algo": algo,
        "learner": profile.learner(algo).name,
        "label": profile.label(algo),
        "n_traj": n_traj,
        "seed": seed,
        "profile": profile.name,
        "expert_pairs": len(dataset.expert_pairs(n_traj)),
        "dataset_sha256": dataset.card["sha256"],
        "expert_score": dataset.expert_score,
        "random_score": dataset.random_score,
        "settings": asdict(profile.config(algo, task)),
        "code_version": code_version(),
        "versions": versions(),
    }
    if profile.learner(algo).needs_expert_policy:
        config["expert_policy_sha256"] = store.file_sha256(dataset.expert_path())
    return config


def setting_defaults(profile: Profile, algo: str, task: Task) -> dict:
    """The defaults of the settings in `make_config`'s config, shaped as it
    (`store.config_changes`)."""
    return {"settings": asdict(type(profile.config(algo, task))())}


# `derived_seed(seed, iteration)` plus an environment's index must stay within EnvPool's 32-bit
# seeds: seed x 1,000,003 + 10,000 iterations and environments < 2^31.
MAX_SEED = 2_000


def run(
    task: Task,
    algo: str,
    n_traj: int,
    seed: int,
    profile: Profile,
    runs_dir: Path = RUNS_DIR,
    datasets_dir: Path | None = None,
    checkpoint_every: int = 10,
    show_progress: bool = True,
    num_threads: int | None = None,
) -> dict:
    """Train and evaluate one run, or return the record of a run already done.

    `num_threads`: the simulator's threads (default one per core; a sweep gives each run one).
    Progress goes to a bar (`show_progress`) and always to `progress.json` in the record folder,
    which sweeps and `make status` read. W&B files go to the records' W&B folder
    (`tracking.folder_for`).
    """
    if algo not in profile.algorithms:
        raise UserInputError(f"unknown algorithm {algo!r}; known: {', '.join(profile.algorithms)}")
    if seed > MAX_SEED:
        raise UserInputError(
            f"seed {seed}: a run's seed goes up to {MAX_SEED}; choose a smaller one"
        )
    folder = store.record_dir(runs_dir, profile.name, task.name, algo, n_traj, seed)
    dataset = load_dataset(task, datasets_dir or profile.datasets_dir)
    config = make_config(task, algo, n_traj, seed, profile, dataset)
    verdict, changed = store.compare_config(folder, config, setting_defaults(profile, algo, task))
    if verdict == "other":
        raise UserInputError(
            f"{store.shown(folder)} was made with another config ({', '.join(changed)} differ); "
            "delete the folder to run it afresh"
        )
    if verdict == "grows":
        store.reopen_record(folder)
    if store.state(folder)[0] == "done":
        return store.read_json(folder / "eval.json")
    store.start_record(folder, config)
    tracker = tracking.start_run(config, tracking.folder_for(runs_dir))
    label = f"{algo} {task.name} n{n_traj} s{seed}"
    watcher = _RunWatcher(folder, label, show_progress, tracker, dataset)
    try:
        with single_threaded():
            trainer = make_trainer(task, algo, dataset, n_traj, seed, profile, num_threads)
            history, cpu_s = train(
                trainer, store.checkpoint_path(folder), checkpoint_every, watcher
            )
            policy = trainer.final_policy()
            result = evaluate(policy, task, EVAL_EPISODES, seed=10_000 + seed, deterministic=True)
        result = {"task": task.name, "algo": algo, "n_traj": n_traj, "seed": seed} | result
        result["normalized_return"] = dataset.normalize(result["mean_return"])
        result["env_steps"] = history[-1].get("env_steps", 0)
        result["wall_s"] = history[-1].get("wall_s", 0.0)
        result["cpu_s"] = cpu_s
        store.finish_record(folder, history, policy.state_dict(), result)
        tracker.summary({k: v for k, v in result.items() if k != "returns"})
        tracker.log_policy(folder / "policy.pt")
    finally:
        # An unfinished W&B run keeps its id busy in this process (a sweep worker runs many).
        tracker.finish()
        watcher.close()
    return result


def make_trainer(
    task: Task, algo: str, dataset, n_traj: int, seed: int, profile: Profile, num_threads=None
):
    """The learner's trainer for one run on the dataset's first `n_traj` trajectories; an
    interactive learner (DAgger) also gets the expert policy the dataset was sampled from."""
    learner = profile.learner(algo)
    extra = (
        {"expert_policy": load_expert(task, path=dataset.expert_path())}
        if learner.needs_expert_policy
        else {}
    )
    expert = dataset.expert_pairs(n_traj)
    return learner.make(task, expert, profile.config(algo, task), seed, num_threads, **extra)


class _RunWatcher:
    """A run's progress: a bar, `progress.json` (for sweeps and `make status`), W&B, and
    metrics.csv at every checkpoint."""

    def __init__(self, folder: Path, label: str, show: bool, tracker, dataset):
        self.folder, self.tracker, self.dataset = folder, tracker, dataset
        self.bar = tqdm(desc=label, disable=not show, unit="it")

    def start(self, done: int, total: int) -> None:
        self.bar.reset(total)
        self.bar.update(done)
        self.total = total

    def step(self, done: int, metrics: dict) -> None:
        if "charts/true_return" in metrics:
            metrics["charts/normalized_return"] = self.dataset.normalize(
                metrics["charts/true_return"]
            )
        # The W&B x-axis: env steps where the learner samples, else its optimiser step (BC).
        self.tracker.log(metrics, step=metrics.get("env_steps", metrics.get("step", done)))
        self.bar.update(done - self.bar.n)
        normalized = metrics.get("charts/normalized_return")
        if normalized is not None:
            self.bar.set_postfix(norm=f"{normalized:.2f}", steps=metrics.get("env_steps", 0))
        store.write_progress(self.folder, done, self.total, metrics)

    def checkpoint(self, history: list[dict]) -> None:
        store.write_csv(store.metrics_path(self.folder), history)

    def close(self) -> None:
        self.bar.close()
