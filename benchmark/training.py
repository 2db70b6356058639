"""The one training loop of the harness: any trainer (a learner's, a TRPO expert's) iterated to
its end, checkpointed every few iterations and resumed from its last checkpoint.

A trainer has `iteration`, `iterations`, `iterate() -> metrics`, `state_dict()` and
`load_state_dict()`, and derives every random draw of an iteration from its seed and its state,
so a resumed training ends exactly like an uninterrupted one.
"""

import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import torch
from threadpoolctl import threadpool_limits

from algorithms.errors import UserInputError
from benchmark import store


class TrainingDiverged(RuntimeError):
    """A loss or return stopped being finite: the run fails rather than record a NaN result."""


class Watcher(Protocol):
    """What the loop reports to: a bar, a record's progress file, W&B."""

    def start(self, done: int, total: int) -> None: ...

    def step(self, done: int, metrics: dict) -> None:
        """May add entries to `metrics` before they are kept."""

    def checkpoint(self, history: list[dict]) -> None: ...


def train(trainer, checkpoint: Path, every: int, watcher: Watcher) -> tuple[list[dict], float]:
    """Run `trainer` to its last iteration, checkpointing once `every` iterations have passed
    since the last checkpoint and at the end; returns (metrics of every iteration, CPU seconds
    of this process over the whole training, earlier sessions included)."""
    history, cpu_before = [], 0.0
    if checkpoint.exists():
        history, cpu_before = load_checkpoint(trainer, checkpoint)
    saved = trainer.iteration
    start = time.process_time()  # CPU time of this process, all its threads
    watcher.start(trainer.iteration, trainer.iterations)
    while trainer.iteration < trainer.iterations:
        metrics = trainer.iterate()
        broken = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
        if broken:
            raise TrainingDiverged(
                f"iteration {trainer.iteration}: {', '.join(broken)} not finite (last checkpoint "
                "kept; check the dataset and the settings)"
            )
        watcher.step(trainer.iteration, metrics)
        history.append(metrics)
        if trainer.iteration - saved >= every or trainer.iteration >= trainer.iterations:
            save_checkpoint(trainer, checkpoint, history, cpu_before + time.process_time() - start)
            saved = trainer.iteration
            watcher.checkpoint(history)
    return history, cpu_before + time.process_time() - start


def _apart(trainer, state: dict) -> tuple[dict, str, Path | None]:
    """(the dict holding the entry kept apart, its key, its file name) for a trainer with a
    `state_apart` (SAC's replay buffer: gigabytes, never committed), else (state, "", None)."""
    keys, name = getattr(trainer, "state_apart", ((), None))
    holder = state
    for key in keys[:-1]:
        holder = holder[key]
    return holder, (keys[-1] if keys else ""), name


def save_checkpoint(trainer, checkpoint: Path, history: list[dict], cpu_s: float) -> None:
    """The trainer's state, history and CPU time; an entry kept apart goes to its own file
    first, both stamped with the iteration, so that a save torn between the two is detected."""
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    state = trainer.state_dict()
    holder, key, name = _apart(trainer, state)
    if name:
        part = {"iteration": trainer.iteration, "state": holder.pop(key)}
        store.save_torch(part, checkpoint.with_name(name))
    whole = {"learner": state, "history": history, "cpu_s": cpu_s}
    store.save_torch(whole | {"iteration": trainer.iteration}, checkpoint)


def load_checkpoint(trainer, checkpoint: Path) -> tuple[list[dict], float]:
    """Restore the trainer; returns (history, CPU seconds so far). An entry kept apart whose file
    is missing is left out (the trainer must cope, as SAC refills its buffer)."""
    state = store.load_torch(checkpoint)
    holder, key, name = _apart(trainer, state["learner"])
    part_path = checkpoint.with_name(name) if name else None
    if part_path and part_path.exists():
        part = store.load_torch(part_path)
        if part["iteration"] != state.get("iteration"):
            raise UserInputError(
                f"{store.shown(part_path)} is of iteration {part['iteration']} but "
                f"{store.shown(checkpoint)} of {state.get('iteration')} (interrupted while "
                f"saving); delete {store.shown(part_path)} to go on without it"
            )
        holder[key] = part["state"]
    trainer.load_state_dict(state["learner"])
    return state["history"], state["cpu_s"]


@contextmanager
def single_threaded():
    """One thread for torch and BLAS: a thread count changes the order of floating-point sums,
    so without this the same seed would give another result on a machine with more cores.
    (Sweeps run one process per core, so a single run loses nothing by it.)"""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(before)
