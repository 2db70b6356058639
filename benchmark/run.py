"""One run end to end: load the dataset, train, evaluate, write the record.

A record is a folder `results/runs/<profile>/<task>/<algo>/n<N>/s<S>/`:
  config.json   every hyperparameter, the seed, the code version, the dataset's sha256
  metrics.csv   one row per iteration (BC: per validation)
  eval.json     50 deterministic episodes of the final policy, and their normalised mean;
                written last, so it marks the run as done (a done run is never rerun)
  checkpoints/  the learner's state every few iterations (ignored by git); a run started again
                continues from there and ends with the same record as an uninterrupted run
"""

import csv
import io
import json
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from algorithms import bc, fem, gail, gtal
from algorithms.errors import UserInputError
from algorithms.imitation import ImitationLoop, LoopConfig
from algorithms.policies import make_policy
from algorithms.rollout import env_spaces
from algorithms.trpo import TRPOConfig
from benchmark import tracking
from benchmark.datasets import DATASETS_DIR, load_dataset
from benchmark.experts import atomic_torch_save, atomic_write_bytes, evaluate
from benchmark.profiles import ALGOS, Profile
from benchmark.provenance import code_version, versions
from benchmark.tasks import Task

RUNS_DIR = Path("results/runs")
EVAL_EPISODES = 50


def run_dir(results_dir: Path, profile: str, task: Task, algo: str, n_traj: int, seed: int):
    return results_dir / profile / task.name / algo / f"n{n_traj}" / f"s{seed}"


def _write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1).encode())


def _write_metrics(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, text.getvalue().encode())


def config_changes(folder: Path, config: dict) -> list[str]:
    """The keys in which the run folder's config differs from `config`. Package versions and the
    code version are provenance: they may differ between machines without changing the run."""
    if not (folder / "config.json").exists():
        return []
    before = json.loads((folder / "config.json").read_text())
    return [
        k for k in config if k not in ("code_version", "versions") and before.get(k) != config[k]
    ]


def make_config(task: Task, algo: str, n_traj: int, seed: int, profile: Profile, dataset) -> dict:
    """Everything that determines the run, and its provenance."""
    budget = profile.budget(task)
    config = {
        "task": task.name,
        "env_id": task.env_id,
        "algo": algo,
        "n_traj": n_traj,
        "seed": seed,
        "profile": profile.name,
        "expert_pairs": len(dataset.expert_pairs(n_traj)),
        "dataset_sha256": dataset.card["sha256"],
        "expert_score": dataset.expert_score,
        "random_score": dataset.random_score,
        "code_version": code_version(),
        "versions": versions(),
    }
    if algo == "bc":
        return config | {
            "bc": asdict(
                bc.BCConfig(steps=budget.bc_steps, validate_every=budget.bc_validate_every)
            )
        }
    loop = LoopConfig(iterations=budget.iterations, pairs_per_iteration=budget.pairs_per_iteration)
    config |= {"loop": asdict(loop)}
    if algo == "gail":
        config |= {"gail": asdict(gail.GAILConfig())}
    return config


def _make_learner(task: Task, algo: str, config: dict, expert, seed: int, num_threads):
    loop = LoopConfig(**config["loop"] | {"trpo": TRPOConfig(**config["loop"]["trpo"])})
    make_reward = {
        "fem": fem.FEMReward,
        "gtal": gtal.GTALReward,
        "gail": lambda *args: gail.GAILReward(*args, cfg=gail.GAILConfig(**config["gail"])),
    }[algo]
    return ImitationLoop(
        task.env_id,
        task.time_limit,
        task.ends_on_success,
        expert,
        make_reward,
        loop,
        seed,
        num_threads,
    )


@contextmanager
def single_threaded():
    """One thread for torch and BLAS: a thread count changes the order of floating-point sums,
    so without this the same seed would give another record on a machine with more cores.
    (Sweeps run one process per core, so a single run loses nothing by it.)"""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)


def run(
    task: Task,
    algo: str,
    n_traj: int,
    seed: int,
    profile: Profile,
    results_dir: Path = RUNS_DIR,
    datasets_dir: Path = DATASETS_DIR,
    checkpoint_every: int = 10,
    show_progress: bool = True,
    num_threads: int | None = None,
    wandb_dir: Path | None = None,
) -> dict:
    """Train and evaluate one run, or return the record of a run already done.

    `num_threads`: the simulator's threads (default one per core; a sweep gives each run one).
    Progress goes to a bar (`show_progress`) and always to `progress.json` in the record folder,
    which sweeps and `make status` read. W&B files go to `wandb_dir` (default: `wandb/` beside
    the runs folder; see `benchmark.tracking`).
    """
    if algo not in ALGOS:
        raise UserInputError(f"unknown algorithm {algo!r}; known: {', '.join(ALGOS)}")
    folder = run_dir(results_dir, profile.name, task, algo, n_traj, seed)
    dataset = load_dataset(task, datasets_dir)
    expert = dataset.expert_pairs(n_traj)
    config = make_config(task, algo, n_traj, seed, profile, dataset)
    changed = config_changes(folder, config)
    if changed:
        raise UserInputError(
            f"{folder} was made with another config ({', '.join(changed)} differ); "
            "delete the folder to run it afresh"
        )
    if (folder / "eval.json").exists():
        return json.loads((folder / "eval.json").read_text())
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "config.json", config)
    tracker = tracking.start_run(config, wandb_dir or results_dir.parent / "wandb")
    progress = _Progress(folder, f"{algo} {task.name} n{n_traj} s{seed}", show_progress, tracker)
    try:
        with single_threaded():
            if algo == "bc":
                policy, history, cpu_s = _train_bc(task, expert, config, seed, progress)
            else:
                policy, history, cpu_s = _train_loop(
                    task,
                    algo,
                    expert,
                    config,
                    seed,
                    folder,
                    dataset,
                    checkpoint_every,
                    progress,
                    num_threads,
                )
            _write_metrics(folder / "metrics.csv", history)
            result = evaluate(policy, task, EVAL_EPISODES, seed=10_000 + seed, deterministic=True)
        result = {"task": task.name, "algo": algo, "n_traj": n_traj, "seed": seed} | result
        result["normalized_return"] = dataset.normalize(result["mean_return"])
        result["env_steps"] = history[-1].get("env_steps", 0)
        result["wall_s"] = history[-1].get("wall_s", 0.0)
        result["cpu_s"] = cpu_s
        atomic_torch_save(policy.state_dict(), folder / "policy.pt")
        tracker.summary({k: v for k, v in result.items() if k != "returns"})
        tracker.log_policy(folder / "policy.pt")
        _write_json(folder / "eval.json", result)
    finally:
        # An unfinished W&B run keeps its id busy in this process (a sweep worker runs many).
        tracker.finish()
        progress.close()
    return result


class _Progress:
    """A run's progress: a bar, `progress.json` (for sweeps and `make status`) and W&B."""

    def __init__(self, folder: Path, label: str, show: bool, tracker):
        self.path, self.label, self.tracker = folder / "progress.json", label, tracker
        self.bar = tqdm(desc=label, disable=not show, unit="it")

    def start(self, done: int, total: int) -> None:
        self.bar.reset(total)
        self.bar.update(done)
        self.total = total

    def step(self, done: int, metrics: dict, step: int) -> None:
        """`done` of `total` units (iterations or BC steps); `step` is the W&B x-axis."""
        self.tracker.log(metrics, step=step)
        self.bar.update(done - self.bar.n)
        normalized = metrics.get("charts/normalized_return")
        if normalized is not None:
            self.bar.set_postfix(norm=f"{normalized:.2f}", steps=metrics.get("env_steps", 0))
        _write_json(self.path, {"done": done, "total": self.total, "metrics": metrics})

    def close(self) -> None:
        self.bar.close()


def _train_bc(task: Task, expert, config: dict, seed: int, progress: _Progress):
    obs_dim, action_space = env_spaces(task.env_id)
    torch.manual_seed(seed)
    policy = make_policy(obs_dim, action_space)
    cfg = bc.BCConfig(**config["bc"])
    progress.start(0, cfg.steps)

    def on_validation(row: dict) -> None:
        progress.step(row["step"] + 1, row, step=row["step"])

    start = time.process_time()
    policy, history = bc.train(policy, expert, cfg, np.random.default_rng(seed), on_validation)
    return policy, history, time.process_time() - start


def _train_loop(
    task, algo, expert, config, seed, folder, dataset, checkpoint_every, progress, num_threads
):
    learner = _make_learner(task, algo, config, expert, seed, num_threads)
    checkpoint = folder / "checkpoints" / "state.pt"
    history: list[dict] = []
    cpu_before, start = 0.0, time.process_time()  # CPU time of this process, all its threads
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        learner.load_state_dict(state["learner"])
        history, cpu_before = state["history"], state["cpu_s"]
    iterations = config["loop"]["iterations"]
    progress.start(learner.iteration, iterations)
    while learner.iteration < iterations:
        metrics = learner.iterate()
        metrics["charts/normalized_return"] = dataset.normalize(metrics["charts/true_return"])
        history.append(metrics)
        progress.step(learner.iteration, metrics, step=learner.env_steps)
        if learner.iteration % checkpoint_every == 0 or learner.iteration == iterations:
            checkpoint.parent.mkdir(exist_ok=True)
            cpu_s = cpu_before + time.process_time() - start
            state = {"learner": learner.state_dict(), "history": history, "cpu_s": cpu_s}
            atomic_torch_save(state, checkpoint)
            _write_metrics(folder / "metrics.csv", history)
    return learner.policy, history, cpu_before + time.process_time() - start
