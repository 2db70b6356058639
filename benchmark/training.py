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
    """Run `trainer` to its last iteration; returns (metrics of every iteration, CPU seconds of
    this process over the whole training, earlier sessions included)."""
    history, cpu_before = [], 0.0
    if checkpoint.exists():
        state = store.load_torch(checkpoint)
        trainer.load_state_dict(state["learner"])
        history, cpu_before = state["history"], state["cpu_s"]
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
        if trainer.iteration % every == 0 or trainer.iteration == trainer.iterations:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            cpu_s = cpu_before + time.process_time() - start
            state = {"learner": trainer.state_dict(), "history": history, "cpu_s": cpu_s}
            store.save_torch(state, checkpoint)
            watcher.checkpoint(history)
    return history, cpu_before + time.process_time() - start


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
