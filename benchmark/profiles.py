"""Profiles: what a sweep runs and at which budgets, as data (`benchmark/protocols/<name>.toml`).

Budgets: a profile overrides the paper's budgets (the task registry's) per group of tasks:
`[budget.<task>]` for one task, else `[budget.mujoco]` or `[budget.classic]`.

Learners: `[learners.<name>]` sets any field of a learner's config (`benchmark.settings`) for this
profile: `[learners.gail]` changes GAIL itself; a table under a new name with
`algorithm = "gail"` (and optionally `label = "..."`) adds a variant that grids can name beside
GAIL, with its own records and table rows (the paper's Reacher causal-entropy sweep, an ablation).
`[learners.<name>.tasks.<task>]` sets some of them on one task only, over the learner's table.

Beside: `beside = "<profile>"` shows that profile's records beside this one's in its tables,
figures and statistics, on this profile's tasks (today's methods beside the paper's, without
running the paper's again).

Datasets: `datasets = "<folder>"` (relative to the repository) makes the profile's runs learn
from that folder's datasets instead of `results/datasets/` (`results/datasets-suite/`: those
sampled from the suite's own experts of the five tasks whose default is now the paper's own
expert); a command's `--datasets` still overrides it.

Grid: `[[grid]]` blocks, each the product of its `tasks`, `algorithms`, `sizes` and `seeds`; the
profile runs the union of its blocks. A missing key means the paper's: its nine tasks, its four
algorithms, every dataset size, and the paper's runs per cell as seeds. `sizes` is a list of
trajectory counts or one of "all", "smallest", "largest", "extremes" (smallest and largest);
`seeds` is a count (seeds 0 .. count-1) or "paper". A profile with neither table is the paper's
protocol exactly.

Targets: `[[target]]` blocks state what the profile's results should reach, judged cell by cell in
its tables (`targets.md`): a `name`, the cells as a grid block gives them (`tasks`, `algorithms`,
`sizes`; each a cell the profile's grid runs; no seeds: a cell is judged by the mean over its
seeds, once all the grid's seeds of it are done), and one bound on the cell's normalised return:
`at_least = 0.9`, or `within_paper = 0.1` (at least the paper's value minus 0.1).
"""

import math
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from algorithms.errors import UserInputError
from algorithms.registry import LEARNERS, Learner
from benchmark import store
from benchmark.settings import build_config, flatten
from benchmark.tasks import PAPER_TASKS, TASKS, Task

PROTOCOLS_DIR = Path(__file__).parent / "protocols"
PAPER_ALGOS = tuple(name for name, learner in LEARNERS.items() if learner.group == "paper")
SIZE_CHOICES = ("all", "smallest", "largest", "extremes")
GRID_KEYS = ("tasks", "algorithms", "sizes", "seeds")
TARGET_BOUNDS = ("at_least", "within_paper")


@dataclass(frozen=True, order=True)
class RunSpec:
    """One run of a sweep; its record lives in `<runs>/<profile>/<task>/<algo>/n<N>/s<S>/`."""

    task: str
    algo: str
    n_traj: int
    seed: int

    @property
    def label(self) -> str:
        return f"{self.task}/{self.algo}/n{self.n_traj}/s{self.seed}"


@dataclass(frozen=True)
class Budget:
    iterations: int
    """Outer iterations of FEM, GTAL and GAIL, and the rounds of GAIL (PPO) and AIRL (each
    learner's `budget` in the registry says which of its settings a budget entry sets)."""
    pairs_per_iteration: int
    """Pairs sampled per iteration of those, and per DAgger round."""
    bc_steps: int
    bc_validate_every: int


@dataclass(frozen=True)
class Target:
    """A `[[target]]` block, its cells resolved against the profile's grid."""

    name: str
    cells: tuple[tuple[str, int, str, tuple[int, ...]], ...]
    """(task, dataset size, algorithm, the seeds the grid runs of it), in the block's order."""
    at_least: float | None = None
    within_paper: float | None = None

    @property
    def bound(self) -> str:
        if self.at_least is not None:
            return f"at least {self.at_least:g}"
        return f"at least the paper's value minus {self.within_paper:g}"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    budgets: dict[str, dict]
    """Overrides by group: a task name, `mujoco` or `classic`."""
    grid: tuple[dict, ...] = ({},)
    """`[[grid]]` blocks, checked by `load_profile`; `{}` is the paper's whole grid."""
    learners: dict[str, dict] = field(default_factory=dict)
    """`[learners.<name>]` tables: settings of a learner, or a variant (`algorithm = ...`)."""
    beside: str = ""
    """A profile whose records this one's tables and figures show too, on this one's tasks."""
    datasets: str = ""
    """The datasets folder its runs learn from, relative to the repository ("": the default)."""
    targets: tuple[Target, ...] = ()
    """`[[target]]` blocks, resolved by `load_profile`: what its tables judge each cell against."""

    @property
    def datasets_dir(self) -> Path:
        return store.REPO / self.datasets if self.datasets else store.RESULTS_DIR / "datasets"

    @property
    def algorithms(self) -> tuple[str, ...]:
        """Every name a grid may use: the registry's learners, then the profile's variants."""
        return (*LEARNERS, *(name for name in self.learners if name not in LEARNERS))

    def learner(self, algo: str) -> Learner:
        return LEARNERS[self.learners.get(algo, {}).get("algorithm", algo)]

    def label(self, algo: str) -> str:
        return self.learners.get(algo, {}).get("label") or (
            LEARNERS[algo].label if algo in LEARNERS else algo
        )

    def config(self, algo: str, task: Task):
        """The config of `algo`'s runs on `task` under this profile."""
        table = self.learners.get(algo, {})
        settings = {k: v for k, v in table.items() if k not in ("algorithm", "label", "tasks")}
        on_task = table.get("tasks", {}).get(task.name, {})
        where = f"profile {self.name}, learners.{algo}"
        # The task's table wins over the learner's: flattened, so that a nested setting
        # (ppo.clip) replaces only itself.
        settings = flatten(settings) | flatten(on_task)
        return build_config(self.learner(algo), asdict(self.budget(task)), settings, where)

    def budget(self, task: Task) -> Budget:
        paper = Budget(
            iterations=task.iterations,
            pairs_per_iteration=task.pairs_per_iteration,
            bc_steps=task.bc_steps,
            bc_validate_every=task.bc_validate_every,
        )
        group = "mujoco" if task.is_mujoco else "classic"
        return replace(paper, **self.budgets.get(task.name, self.budgets.get(group, {})))

    def only(self, tasks: list[str] | None = None, algorithms: list[str] | None = None):
        """The profile restricted to some tasks and/or algorithms (same name, so the same record
        folders)."""
        known_algos = self.algorithms
        for kind, names, known in (("task", tasks, TASKS), ("algorithm", algorithms, known_algos)):
            unknown = [name for name in names or () if name not in known]
            if unknown:
                raise UserInputError(
                    f"unknown {kind} {unknown[0]!r}; known {kind}s: {', '.join(known)}"
                )
        grid = [
            block
            | {
                "tasks": [t for t in block.get("tasks", PAPER_TASKS) if t in (tasks or TASKS)],
                "algorithms": [
                    a
                    for a in block.get("algorithms", PAPER_ALGOS)
                    if a in (algorithms or known_algos)
                ],
            }
            for block in self.grid
        ]
        return replace(
            self, grid=tuple(block for block in grid if block["tasks"] and block["algorithms"])
        )

    def runs(self) -> list[RunSpec]:
        """Every run of the profile, once each, cheapest tasks first (classic before MuJoCo)."""
        specs = set()
        for block in self.grid:
            seeds = block.get("seeds", "paper")
            for task, n_traj, algo in _block_cells(block):
                count = task.runs_per_cell if seeds == "paper" else seeds
                specs.update(RunSpec(task.name, algo, n_traj, s) for s in range(count))
        order = {name: i for i, name in enumerate(TASKS)}
        algos = self.algorithms
        return sorted(specs, key=lambda r: (order[r.task], algos.index(r.algo), r.n_traj, r.seed))


def _block_cells(block: dict) -> Iterator[tuple[Task, int, str]]:
    """The (task, dataset size, algorithm) cells a [[grid]] or [[target]] block names."""
    for task in (TASKS[name] for name in block.get("tasks", PAPER_TASKS)):
        for algo in block.get("algorithms", PAPER_ALGOS):
            for n_traj in _sizes(task, block.get("sizes", "all")):
                yield task, n_traj, algo


def _sizes(task: Task, sizes) -> tuple[int, ...]:
    if isinstance(sizes, list):
        return tuple(sizes)
    return {
        "all": task.dataset_sizes,
        "smallest": task.dataset_sizes[:1],
        "largest": task.dataset_sizes[-1:],
        "extremes": (task.dataset_sizes[0], task.dataset_sizes[-1]),
    }[sizes]


def known_profiles() -> list[str]:
    return sorted(p.stem for p in PROTOCOLS_DIR.glob("*.toml"))


TOP_LEVEL_KEYS = {
    "name", "description", "budget", "grid", "learners", "beside", "datasets", "target"
}  # fmt: skip


def load_profile(name: str) -> Profile:
    """A profile by name (`benchmark/protocols/<name>.toml`), or a TOML file of one by path."""
    path = Path(name) if name.endswith(".toml") else PROTOCOLS_DIR / f"{name}.toml"
    if not path.exists():
        raise UserInputError(
            f"unknown profile {name!r}; known profiles: {', '.join(known_profiles())} "
            "(or give the path of a .toml file)"
        )
    name = path.stem
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise UserInputError(f"{path} is not valid TOML ({err}); fix the file") from None
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        raise UserInputError(
            f"{path}: {sorted(unknown)[0]!r} is not a profile key "
            f"({', '.join(sorted(TOP_LEVEL_KEYS))}); fix the file"
        )
    # Records go to runs/<file stem>/; a `name` that says otherwise (a copied profile whose name
    # was left as it was) would have its reader look for them under another profile.
    if data.get("name", name) != name:
        raise UserInputError(
            f"{path}: name = {data['name']!r}, but the file is {name}.toml; make them the same"
        )
    budgets = _checked_budgets(path, data.get("budget", {}))
    grid = data.get("grid", [{}])
    if not isinstance(grid, list) or not all(isinstance(block, dict) for block in grid):
        raise UserInputError(f"{path}: write the grid as [[grid]] blocks; fix the file")
    beside = data.get("beside", "")
    if beside and (beside not in known_profiles() or beside == name):
        raise UserInputError(
            f"{path}: beside = {beside!r} is not another profile; use one of "
            f"{', '.join(p for p in known_profiles() if p != name)}"
        )
    datasets = data.get("datasets", "")
    if datasets and not (isinstance(datasets, str) and (store.REPO / datasets).is_dir()):
        raise UserInputError(
            f"{path}: datasets = {datasets!r} is not a folder of the repository; name one "
            "such as results/datasets-suite, or leave the key out for results/datasets"
        )
    profile = Profile(
        name=name,
        description=data.get("description", ""),
        budgets=budgets,
        grid=tuple(grid),
        learners=_checked_learners(path, data.get("learners", {})),
        beside=beside,
        datasets=datasets,
    )
    for block in grid:
        _check_grid_block(path, block, profile.algorithms)
    for spec in profile.runs():  # every setting, checked against every task it will run on
        profile.config(spec.algo, TASKS[spec.task])
    for algo, table in profile.learners.items():  # and the tables the grid does not run
        for task in (PAPER_TASKS[0], *table.get("tasks", {})):
            profile.config(algo, TASKS[task])
    return replace(profile, targets=_targets(path, data.get("target", []), profile))


def _checked_budgets(path: Path, budgets) -> dict[str, dict]:
    if not isinstance(budgets, dict):
        raise UserInputError(f"{path}: write budgets as [budget.<task>] tables; fix the file")
    allowed_groups = set(TASKS) | {"mujoco", "classic"}
    allowed_keys = {f.name for f in fields(Budget)}
    for group, values in budgets.items():
        if group not in allowed_groups or not isinstance(values, dict):
            raise UserInputError(
                f"{path}: [budget.{group}] is not a task, `mujoco` or `classic`; fix the file"
            )
        for key, value in values.items():
            if key not in allowed_keys or not isinstance(value, int) or value < 1:
                raise UserInputError(
                    f"{path}: budget.{group}.{key} = {value!r}; expected one of "
                    f"{sorted(allowed_keys)} with a positive integer"
                )
    return budgets


def _checked_learners(path: Path, learners) -> dict[str, dict]:
    if not isinstance(learners, dict) or not all(isinstance(t, dict) for t in learners.values()):
        raise UserInputError(f"{path}: write learner settings as [learners.<name>] tables")
    for name, table in learners.items():
        base = table.get("algorithm", name)
        if base not in LEARNERS:
            raise UserInputError(
                f"{path}: [learners.{name}] needs algorithm = one of {', '.join(LEARNERS)} "
                "(the learner it is a variant of); fix the file"
            )
        per_task = table.get("tasks", {})
        if not isinstance(per_task, dict) or not all(
            task in TASKS and isinstance(t, dict) for task, t in per_task.items()
        ):
            raise UserInputError(
                f"{path}: [learners.{name}.tasks] holds one table per task, named among "
                f"{', '.join(TASKS)}; fix the file"
            )
        if name in LEARNERS and base != name:
            raise UserInputError(
                f"{path}: [learners.{name}] cannot be a variant of {base}: {name} is a learner "
                "of its own; give the variant another name"
            )
    return learners


def _targets(path: Path, blocks, profile: Profile) -> tuple[Target, ...]:
    if not isinstance(blocks, list) or not all(isinstance(t, dict) for t in blocks):
        raise UserInputError(f"{path}: write targets as [[target]] blocks; fix the file")
    seeds = defaultdict(list)
    for spec in profile.runs():
        seeds[spec.task, spec.n_traj, spec.algo].append(spec.seed)
    targets = []
    for block in blocks:
        target = _target(path, block, profile.algorithms, seeds)
        if target.name in (t.name for t in targets):
            raise UserInputError(f"{path}: two targets are named {target.name!r}; rename one")
        targets.append(target)
    return tuple(targets)


def _target(path: Path, block: dict, algorithms: tuple[str, ...], seeds: dict) -> Target:
    """One `[[target]]` block, checked; `seeds` lists the seeds the grid runs of each cell."""
    where = f"{path}: target {block.get('name', '(unnamed)')!r}"
    bounds = [key for key in TARGET_BOUNDS if key in block]
    unknown = set(block) - {"name", "tasks", "algorithms", "sizes", *TARGET_BOUNDS}
    if unknown:
        raise UserInputError(
            f"{where}: {sorted(unknown)[0]!r} is not one of name, tasks, algorithms, sizes, "
            f"{', '.join(TARGET_BOUNDS)}; fix the file"
        )
    if not isinstance(block.get("name"), str) or len(bounds) != 1:
        raise UserInputError(
            f"{where}: a target needs a name and exactly one of {', '.join(TARGET_BOUNDS)}; "
            "fix the file"
        )
    bound = block[bounds[0]]
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
        raise UserInputError(f"{where}: {bounds[0]} = {bound!r}; give a number; fix the file")
    if bounds[0] == "within_paper" and bound < 0:
        raise UserInputError(
            f"{where}: within_paper = {bound!r}; give how far below the paper's value a cell may "
            "be, 0 or more (at_least states a fixed bound); fix the file"
        )
    _check_grid_block(path, {k: v for k, v in block.items() if k in GRID_KEYS}, algorithms, where)
    cells = dict.fromkeys((task.name, n, algo) for task, n, algo in _block_cells(block))
    if not cells:
        raise UserInputError(
            f"{where} names no cell (an empty tasks, algorithms or sizes list); name at least "
            "one of each"
        )
    outside = [cell for cell in cells if cell not in seeds]
    if outside:
        raise UserInputError(
            "{} names {}/n{}/{}, which no [[grid]] block runs; name cells the profile runs, or "
            "add them to a grid block".format(where, *outside[0])
        )
    cells = tuple((*cell, tuple(sorted(seeds[cell]))) for cell in cells)
    return Target(block["name"], cells, **{bounds[0]: float(bound)})


def _check_grid_block(
    path: Path, block: dict, algorithms: tuple[str, ...], where: str = ""
) -> None:
    where = where or f"{path}: grid"

    def bad(key, expected):
        raise UserInputError(f"{where} {key} = {block[key]!r}; expected {expected}; fix the file")

    unknown = set(block) - set(GRID_KEYS)
    if unknown:
        raise UserInputError(
            f"{where} key {sorted(unknown)[0]!r} is not one of tasks, algorithms, sizes, "
            "seeds; fix the file"
        )
    if "tasks" in block and (
        not isinstance(block["tasks"], list) or not set(block["tasks"]) <= set(TASKS)
    ):
        bad("tasks", f"a list of tasks among {', '.join(TASKS)}")
    if "algorithms" in block and (
        not isinstance(block["algorithms"], list) or not set(block["algorithms"]) <= set(algorithms)
    ):
        bad("algorithms", f"a list among {', '.join(algorithms)}")
    sizes = block.get("sizes", "all")
    if isinstance(sizes, list):
        for task in (TASKS[name] for name in block.get("tasks", PAPER_TASKS)):
            if not all(isinstance(n, int) and 1 <= n <= task.largest_dataset for n in sizes):
                bad("sizes", f"trajectory counts from 1 to {task.largest_dataset} ({task.name})")
    elif sizes not in SIZE_CHOICES:
        bad("sizes", f"a list of trajectory counts or one of {', '.join(SIZE_CHOICES)}")
    seeds = block.get("seeds", "paper")
    if seeds != "paper" and (not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1):
        bad("seeds", 'a positive count or "paper"')
