"""Sweeps: every run of a profile, on a local process pool or on Ray, resumable at any moment.

A sweep expands the profile's grid (`Profile.runs`), checks every input before starting anything,
skips the runs already done (their `eval.json` exists), and runs the rest, one single-threaded
run per worker. A run that fails is reported (its traceback, or how its worker died, goes to
`error.txt` in its folder) and the others go on. A sweep killed at any moment, SIGKILL included,
loses at most each running run's work since its last checkpoint: started again, those runs
continue from their checkpoints.

Estimates of env steps and CPU time come from `results/throughput.json`, measured on this machine
by `python -m benchmark bench throughput`; a learner's from finished records of its rate group
where there are some (`--from-records`; `Learner.rate_group`).
"""

import ctypes
import json
import os
import shutil
import signal
import sys
import traceback
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from algorithms.errors import UserInputError
from benchmark import store, tracking
from benchmark.datasets import load_dataset
from benchmark.profiles import Profile, RunSpec
from benchmark.run import EVAL_EPISODES, RUNS_DIR, make_config, run, setting_defaults
from benchmark.tasks import TASKS

THROUGHPUT_FILE = store.RESULTS_DIR / "throughput.json"
EXECUTORS = ("local", "ray")
POLL_S = 2.0
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


@dataclass(frozen=True)
class Planned:
    spec: RunSpec
    env_steps: int
    """Estimated training env steps (the evaluation's 50 episodes not included)."""
    cpu_s: float
    """Estimated CPU seconds, evaluation included."""


def read_throughput(path: Path) -> dict:
    """The measured rates of `path` (`results/throughput.json`), checked: a file cut short or
    left with merge markers would otherwise end a sweep's plan in a traceback."""
    try:
        data = json.loads(path.read_text())
        if not all(isinstance(r["loop_s_per_step"], int | float) for r in data["tasks"].values()):
            raise TypeError("a rate is not a number")
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise UserInputError(
            f"{store.shown(path)} is not a throughput file ({type(err).__name__}: {err}); "
            f"restore it (`git checkout {store.shown(path)}`) or measure this machine again "
            "(`python -m benchmark bench throughput --task all`)"
        ) from None
    return data


def plan(profile: Profile, throughput_file: Path | None = None) -> list[Planned]:
    """Every run of the profile with its env steps and estimated CPU seconds on this machine."""
    throughput_file = throughput_file or THROUGHPUT_FILE
    if not throughput_file.exists():
        raise UserInputError(
            f"{throughput_file} is missing; measure this machine with "
            "`python -m benchmark bench throughput`"
        )
    rates = read_throughput(throughput_file)["tasks"]
    planned = []
    for spec in profile.runs():
        task = TASKS[spec.task]
        if spec.task not in rates:
            raise UserInputError(
                f"{throughput_file} has no figure for {spec.task}; measure it with "
                f"`python -m benchmark bench throughput --task {spec.task}`"
            )
        rate = rates[spec.task]
        learner = profile.learner(spec.algo)
        work = learner.planned_workload(profile.config(spec.algo, task))
        # At the rate of finished records of its group where there are some: the bench's fresh
        # policy resets every few steps and runs the shared loop only (docs/performance.md).
        loop_rate = rate["loop_s_per_step"]
        if learner.rate_group:
            loop_rate = rate.get(f"records_{learner.rate_group}_s_per_step", loop_rate)
        # Whole episodes: a batch overshoots its pairs by about a quarter episode per
        # environment (quick records: Hopper 25.7k pairs for 20k, CartPole 6.1k for 5k), or up
        # to whole rounds of every environment where no episode ends early (HalfCheetah: 64k
        # for 50k on 16 environments).
        per_batch = work.pairs_per_batch + work.num_envs * task.time_limit // 4
        if task.fixed_length:
            per_round = work.num_envs * task.time_limit
            per_batch = -(-work.pairs_per_batch // per_round) * per_round
        steps = work.batches * per_batch
        cpu_s = (
            steps * loop_rate
            + work.supervised_steps * rate["bc_s_per_step"]
            + EVAL_EPISODES * task.time_limit * rate["eval_s_per_step"]
        )
        planned.append(Planned(spec, steps, cpu_s))
    return planned


def check_inputs(
    profile: Profile, datasets_dir: Path | None = None, runs_dir: Path | None = None
) -> dict[RunSpec, float]:
    """Before any run starts: load every dataset the profile needs (each is verified), and
    refuse run folders made with another config (a profile edited since, another dataset),
    except runs that the profile only gives more loop iterations (`store.compare_config`): returns
    those, which train on from their checkpoints, with the share of their budget done."""
    datasets = {}
    for spec in profile.runs():
        if spec.task not in datasets:
            datasets[spec.task] = load_dataset(
                TASKS[spec.task], datasets_dir or profile.datasets_dir
            )
        datasets[spec.task].expert_pairs(spec.n_traj)  # refuses sizes the dataset lacks
    if runs_dir is None:
        return {}
    stale, growing = {}, {}
    for spec, (verdict, changed) in _verdicts(profile, profile.runs(), datasets, runs_dir).items():
        if verdict == "grows":
            config = _config(profile, spec, datasets)
            growing[spec] = store.share_trained(_folder(runs_dir, profile, spec), config, changed)
        elif verdict == "other":
            stale[spec] = changed
    if stale:
        spec, changed = next(iter(stale.items()))
        raise UserInputError(
            f"{len(stale)} run folders under {runs_dir / profile.name} were made with another "
            f"config (first: {spec.label}, {', '.join(changed)} differ); delete them to run "
            "them afresh, or restore the profile"
        )
    return growing


def _config(profile: Profile, spec: RunSpec, datasets: dict) -> dict:
    task = TASKS[spec.task]
    return make_config(task, spec.algo, spec.n_traj, spec.seed, profile, datasets[task.name])


def _verdicts(
    profile: Profile, specs: list[RunSpec], datasets: dict, runs_dir: Path
) -> dict[RunSpec, tuple[str, list[str]]]:
    """How each run's folder stands to the config the profile gives it now
    (`store.compare_config`: same, grows or other, with the keys that differ)."""
    return {
        spec: store.compare_config(
            _folder(runs_dir, profile, spec),
            _config(profile, spec, datasets),
            setting_defaults(profile, spec.algo, TASKS[spec.task]),
        )
        for spec in specs
    }


def done_elsewhere(
    profile: Profile, runs_dir: Path, datasets_dir: Path | None = None
) -> dict[RunSpec, Path]:
    """The profile's runs not started yet that another profile in `runs_dir` has done with the
    same config, provenance and the profile's name aside (a cell two profiles share, such as
    `paper2016`'s and `standard`'s GAIL on HalfCheetah): the same seed gives the same record."""
    runs_dir = Path(runs_dir)
    others = sorted(d.name for d in runs_dir.glob("*/") if d.name != profile.name)
    found, datasets = {}, {}
    for spec in profile.runs():
        if _folder(runs_dir, profile, spec).exists():
            continue
        where = [
            store.record_dir(runs_dir, other, spec.task, spec.algo, spec.n_traj, spec.seed)
            for other in others
        ]
        where = [folder for folder in where if store.state(folder)[0] == "done"]
        if not where:
            continue
        task = TASKS[spec.task]
        if task.name not in datasets:
            datasets[task.name] = load_dataset(task, datasets_dir or profile.datasets_dir)
        config = make_config(task, spec.algo, spec.n_traj, spec.seed, profile, datasets[task.name])
        defaults = setting_defaults(profile, spec.algo, task)
        same = [f for f in where if store.config_changes(f, config, defaults) == ["profile"]]
        if same:
            found[spec] = same[0]
    return found


def _folder(runs_dir: Path, profile: Profile, spec: RunSpec) -> Path:
    return store.record_dir(runs_dir, profile.name, spec.task, spec.algo, spec.n_traj, spec.seed)


def _execute(spec: RunSpec, profile: Profile, runs_dir: Path, datasets_dir: Path) -> str | None:
    """One run in a worker; returns None, or the error (also written to the run's error.txt)."""
    folder = _folder(runs_dir, profile, spec)
    try:
        task = TASKS[spec.task]
        run(
            task,
            spec.algo,
            spec.n_traj,
            spec.seed,
            profile,
            runs_dir,
            datasets_dir,
            show_progress=False,
            num_threads=1,
        )
    except Exception as err:  # a failed run must not stop the sweep
        store.write_failure(folder, traceback.format_exc())
        return f"{type(err).__name__}: {err}"
    return None


def _die_with_parent(parent: int) -> None:
    """A worker ends when the sweep does, even by SIGKILL: an orphan would go on writing into a
    run folder that the restarted sweep resumes."""
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6").prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the sweep died before the line above took effect
        os._exit(1)
    # EnvPool builds float64 Box spaces that gymnasium warns about on every creation; a spawned
    # worker does not inherit the CLI's filter.
    warnings.filterwarnings("ignore", message=".*precision lowered by casting.*")


class _LocalPool:
    """A process pool of `workers` processes; a worker that dies fails only the runs it held."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = self._new_pool()

    def _new_pool(self):
        # spawn: EnvPool and torch threads do not survive a fork
        return ProcessPoolExecutor(
            self.workers,
            mp_context=get_context("spawn"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )

    def submit(self, spec, *args):
        return self.pool.submit(_execute, spec, *args)

    def finished(self, handles: list) -> list[tuple[object, str | None]]:
        done, _ = wait(handles, timeout=POLL_S, return_when=FIRST_COMPLETED)
        if any(isinstance(h.exception(), BrokenProcessPool) for h in done):
            # Every run in flight shared the broken pool; each resumes from its checkpoint
            # when the sweep is started again.
            self.pool.shutdown(cancel_futures=True)
            self.pool = self._new_pool()
            return [(h, "a worker process died (killed, or out of memory)") for h in handles]
        return [(handle, handle.result()) for handle in done]

    def close(self):
        self.pool.shutdown(cancel_futures=True)


class _RayPool:
    """Ray tasks of one CPU each: joins RAY_ADDRESS when set, else starts a local instance."""

    def __init__(self, workers: int):
        import ray

        self.ray = ray
        # Workers on other machines see the driver's W&B settings; records need a shared disk.
        env_vars = {k: v for k, v in os.environ.items() if k.startswith("WANDB_")}
        options = dict(log_to_driver=False, runtime_env={"env_vars": env_vars})
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, **options)
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_execute)

    def submit(self, spec, *args):
        return self.remote.remote(spec, *args)

    def finished(self, handles: list) -> list[tuple[object, str | None]]:
        done, _ = self.ray.wait(handles, num_returns=1, timeout=POLL_S)
        outcomes = []
        for handle in done:
            try:
                outcomes.append((handle, self.ray.get(handle)))
            except self.ray.exceptions.RayError as err:
                outcomes.append((handle, f"the Ray task died: {type(err).__name__}"))
        return outcomes

    def close(self):
        self.ray.shutdown()


@dataclass
class SweepResult:
    done: list[RunSpec]
    failed: dict[RunSpec, str]
    skipped: list[RunSpec]
    """Runs already done before the sweep started."""


def sweep(
    profile: Profile,
    executor: str = "local",
    workers: int | None = None,
    runs_dir: Path = RUNS_DIR,
    datasets_dir: Path | None = None,
    throughput_file: Path | None = None,
    show_progress: bool = True,
) -> SweepResult:
    """Run every run of the profile not done yet; report progress (sweep bar + one per run)."""
    if executor not in EXECUTORS:
        raise UserInputError(f"unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}")
    planned = plan(profile, throughput_file)
    growing = check_inputs(profile, datasets_dir, runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)  # an unwritable folder stops here, not in a run
    for spec in growing:
        store.reopen_record(_folder(runs_dir, profile, spec))
    for spec, source in done_elsewhere(profile, runs_dir, datasets_dir).items():
        origin = source.relative_to(runs_dir).as_posix()
        store.copy_record(source, _folder(runs_dir, profile, spec), profile.name, origin)
        print(f"{spec.label}: the same config as {origin}, done there: copied", file=sys.stderr)
    runs_dir, datasets_dir = runs_dir.resolve(), (datasets_dir or profile.datasets_dir).resolve()
    workers = workers or os.cpu_count() or 1
    skipped = [
        p.spec for p in planned if store.state(_folder(runs_dir, profile, p.spec))[0] == "done"
    ]
    todo = [p for p in planned if p.spec not in set(skipped)]
    result = SweepResult(done=[], failed={}, skipped=skipped)
    if not todo:
        return result
    note = tracking.offline_unless_reachable()
    if note:
        print(note, file=sys.stderr)
    pool = (_RayPool if executor == "ray" else _LocalPool)(workers)
    display = _Display(todo, workers, show_progress)
    pending, running = list(todo), {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                item = pending.pop(0)
                running[pool.submit(item.spec, profile, runs_dir, datasets_dir)] = item
            for handle, error in pool.finished(list(running)):
                item = running.pop(handle)
                if error is None:
                    result.done.append(item.spec)
                else:
                    result.failed[item.spec] = error
                    folder = _folder(runs_dir, profile, item.spec)
                    if store.state(folder)[0] in ("started", "pending"):
                        # Its worker died (the pool broke, a Ray task was lost): it wrote none
                        store.write_failure(folder, f"{error}\n")
                    display.write(f"FAILED {item.spec.label}: {error} (see {folder}/error.txt)")
            fractions = {
                item: store.state(_folder(runs_dir, profile, item.spec))[1]
                for item in running.values()
            }
            display.update(result, fractions, len(pending))
    finally:
        display.close()
        pool.close()
    return result


class _Display:
    """The sweep's bar (share of the estimated CPU time done, with its ETA) and one bar per run."""

    def __init__(self, todo: list[Planned], workers: int, show: bool):
        self.cost = {p.spec: p.cpu_s for p in todo}
        self.bar = tqdm(
            total=round(sum(self.cost.values())),
            desc="sweep",
            unit="cpu-s",
            disable=not show,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}",
        )
        self.slots = [
            tqdm(total=1, position=i + 1, leave=False, disable=not show, bar_format="{desc}")
            for i in range(workers)
        ]

    def update(self, result: SweepResult, fractions: dict[Planned, float], pending: int) -> None:
        finished = [*result.done, *result.failed]
        work = sum(self.cost[s] for s in finished)
        work += sum(item.cpu_s * f for item, f in fractions.items())
        self.bar.n = round(work)
        self.bar.set_postfix_str(
            f"done {len(result.done)} running {len(fractions)} failed {len(result.failed)} "
            f"pending {pending}"
        )
        lines = [f"  {item.spec.label}: {f:4.0%}" for item, f in fractions.items()]
        for k, slot in enumerate(self.slots):
            slot.set_description_str(lines[k] if k < len(lines) else "", refresh=True)

    def write(self, line: str) -> None:
        self.bar.write(line)

    def close(self) -> None:
        for slot in self.slots:
            slot.close()
        self.bar.close()


def wall_estimate(planned: list[Planned], workers: int) -> float:
    """Wall seconds of the plan on `workers` cores, each run going to the first free worker in
    the sweep's order (cheap classic tasks first, so their results come early)."""
    loads = [0.0] * workers
    for item in planned:
        loads[loads.index(min(loads))] += item.cpu_s
    return max(loads)


def format_plan(
    profile: Profile,
    planned: list[Planned],
    runs_dir: Path,
    workers: int,
    growing: dict[RunSpec, float],
    copies: dict[RunSpec, Path] | None = None,
) -> str:
    """The dry run's text: one line per run, then the totals of what is left to do. A done run
    that grows (`check_inputs`) counts for the part of its new budget it has still to train; one
    that another profile has done (`done_elsewhere`) for nothing: the sweep copies it."""
    lines = [_title(profile), f"{'run':<34} {'state':<8} {'env steps':>12} {'est. CPU-h':>10}"]
    todo = []
    for item in planned:
        status = store.state(_folder(runs_dir, profile, item.spec))[0]
        if item.spec in growing:
            status, left = "grows", 1 - growing[item.spec]
            # The evaluation's share of the estimate is scaled too: small beside the training.
            item = replace(item, env_steps=round(item.env_steps * left), cpu_s=item.cpu_s * left)
        elif item.spec in (copies or {}):
            status = "copies"
        if status not in ("done", "copies"):
            todo.append(item)
        lines.append(
            f"{item.spec.label:<34} {status:<8} {item.env_steps:>12,} {item.cpu_s / 3600:>10.2f}"
        )
    steps = sum(p.env_steps for p in todo)
    cpu_h = sum(p.cpu_s for p in todo) / 3600
    wall_h = wall_estimate(todo, workers) / 3600
    lines.append(
        f"profile {profile.name}: {len(planned)} runs, {len(todo)} to do: {steps:,} env steps, "
        f"{cpu_h:.2f} CPU-hours, about {wall_h:.2f} h on {workers} workers"
    )
    return "\n".join(lines)


def _title(profile: Profile) -> str:
    return f"profile {profile.name}: {profile.description or '(no description)'}"


def config_verdicts(profile: Profile, runs_dir: Path) -> dict[RunSpec, tuple[str, list[str]]]:
    """How each of the profile's runs with a folder in `runs_dir` stands to the config the
    profile gives it now: same, grows or other, with the keys that differ."""
    made = [s for s in profile.runs() if (_folder(runs_dir, profile, s) / "config.json").exists()]
    datasets = {
        task: load_dataset(TASKS[task], profile.datasets_dir)
        for task in {spec.task for spec in made}
    }
    return _verdicts(profile, made, datasets, runs_dir)


def format_status(profile: Profile, runs_dir: Path) -> str:
    """`make status`: every run of the profile with its state, progress and result, and, where
    its folder was made with another config than the profile gives it now
    (`store.compare_config`), the keys that differ: such a record is not what the profile would
    make today."""
    lines = [_title(profile)]
    lines.append(f"{'run':<34} {'state':<8} {'progress':>8} {'normalized':>10} {'wall s':>8}")
    verdicts = config_verdicts(profile, runs_dir)
    counts: dict[str, int] = {}
    for spec in profile.runs():
        folder = _folder(runs_dir, profile, spec)
        status, fraction = store.state(folder)
        counts[status] = counts.get(status, 0) + 1
        normalized, wall = "", ""
        if status == "done":
            record = store.read_json(folder / "eval.json")
            normalized, wall = f"{record['normalized_return']:.3f}", f"{record['wall_s']:.0f}"
        line = f"{spec.label:<34} {status:<8} {fraction:>8.0%} {normalized:>10} {wall:>8}"
        verdict, changed = verdicts.get(spec, ("same", []))
        if verdict != "same":
            line += f"  {'another config' if verdict == 'other' else verdict}: {', '.join(changed)}"
        lines.append(line)
    other = sum(verdict == "other" for verdict, _ in verdicts.values())
    lines.append(
        f"profile {profile.name}: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in store.STATES)
        + (f"; {other} made with another config than the profile gives now" if other else "")
    )
    return "\n".join(lines)


def adopt(profile: Profile, tasks: list[str], runs_dir: Path, reference_dir: Path) -> list[Path]:
    """Replace the reference records of each task by the user's, once every run the profile plans
    for that task is done; returns the task folders written. A task is swapped whole, so that
    the reference never mixes records of two datasets or two settings of one task."""
    written = []
    for task in tasks:
        specs = [spec for spec in profile.runs() if spec.task == task]
        if not specs:
            raise UserInputError(f"profile {profile.name} has no runs of {task!r}; check --tasks")
        undone = [s for s in specs if store.state(_folder(runs_dir, profile, s))[0] != "done"]
        if undone:
            raise UserInputError(
                f"{task}: {len(undone)} of {len(specs)} runs of profile {profile.name} are not "
                f"done (first: {undone[0].label}); finish them with `make reproduce "
                f"PROFILE={profile.name} TASKS={task}`"
            )
        datasets = {task: load_dataset(TASKS[task], profile.datasets_dir)}
        verdicts = _verdicts(profile, specs, datasets, runs_dir)
        other = {
            spec: changed for spec, (verdict, changed) in verdicts.items() if verdict != "same"
        }
        if other:
            spec, changed = next(iter(other.items()))
            raise UserInputError(
                f"{task}: {len(other)} done runs were made with another config than profile "
                f"{profile.name} gives them now (first: {spec.label}, {', '.join(changed)} "
                f"differ); run them again with `make reproduce PROFILE={profile.name} "
                f"TASKS={task}`, or restore the profile"
            )
        target = reference_dir / "runs" / profile.name / task
        staged = target.with_name(f".{task}.adopting")
        shutil.rmtree(staged, ignore_errors=True)
        for spec in specs:
            source = _folder(runs_dir, profile, spec)
            folder = staged / source.relative_to(runs_dir / profile.name / task)
            folder.mkdir(parents=True)
            for name in store.RECORD_FILES:
                shutil.copy2(source / name, folder / name)
        # Swapped by renames: an interruption leaves the old records or the new (or both under
        # hidden names beside the task's folder), never a mix of the two.
        retired = target.with_name(f".{task}.retired")
        shutil.rmtree(retired, ignore_errors=True)
        if target.exists():
            target.rename(retired)
        staged.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
        written.append(target)
    return written
