"""Profiles: what a sweep runs and at which budgets, as data (`benchmark/protocols/<name>.toml`).

Budgets: a profile overrides the paper's budgets (the task registry's) per group of tasks:
`[budget.<task>]` for one task, else `[budget.mujoco]` or `[budget.classic]`.

Grid: `[[grid]]` blocks, each the product of its `tasks`, `algorithms`, `sizes` and `seeds`; the
profile runs the union of its blocks. A missing key means everything: all nine tasks, all four
algorithms, every dataset size, and the paper's runs per cell as seeds. `sizes` is a list of
trajectory counts or one of "all", "smallest", "largest", "extremes" (smallest and largest);
`seeds` is a count (seeds 0 .. count-1) or "paper". A profile with neither table is the paper's
protocol exactly.
"""

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from algorithms.errors import UserInputError
from benchmark.tasks import TASKS, Task

PROTOCOLS_DIR = Path(__file__).parent / "protocols"
ALGOS = ("bc", "fem", "gtal", "gail")
SIZE_CHOICES = ("all", "smallest", "largest", "extremes")


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
    """Outer iterations of FEM, GTAL and GAIL."""
    pairs_per_iteration: int
    bc_steps: int
    bc_validate_every: int


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    budgets: dict[str, dict]
    """Overrides by group: a task name, `mujoco` or `classic`."""
    grid: tuple[dict, ...] = ({},)
    """`[[grid]]` blocks, checked by `load_profile`; `{}` is the paper's whole grid."""

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
        for kind, names, known in (("task", tasks, TASKS), ("algorithm", algorithms, ALGOS)):
            unknown = [name for name in names or () if name not in known]
            if unknown:
                raise UserInputError(
                    f"unknown {kind} {unknown[0]!r}; known {kind}s: {', '.join(known)}"
                )
        grid = [
            block
            | {
                "tasks": [t for t in block.get("tasks", TASKS) if t in (tasks or TASKS)],
                "algorithms": [
                    a for a in block.get("algorithms", ALGOS) if a in (algorithms or ALGOS)
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
            for task in (TASKS[name] for name in block.get("tasks", TASKS)):
                sizes = _sizes(task, block.get("sizes", "all"))
                seeds = block.get("seeds", "paper")
                seeds = range(task.runs_per_cell if seeds == "paper" else seeds)
                for algo in block.get("algorithms", ALGOS):
                    specs.update(RunSpec(task.name, algo, n, s) for n in sizes for s in seeds)
        order = {name: i for i, name in enumerate(TASKS)}
        return sorted(specs, key=lambda r: (order[r.task], ALGOS.index(r.algo), r.n_traj, r.seed))


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
    budgets = data.get("budget", {})
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
    grid = data.get("grid", [{}])
    if not isinstance(grid, list):
        raise UserInputError(f"{path}: write the grid as [[grid]] blocks; fix the file")
    for block in grid:
        _check_grid_block(path, block)
    return Profile(
        name=name, description=data.get("description", ""), budgets=budgets, grid=tuple(grid)
    )


def _check_grid_block(path: Path, block: dict) -> None:
    def bad(key, expected):
        raise UserInputError(
            f"{path}: grid {key} = {block[key]!r}; expected {expected}; fix the file"
        )

    unknown = set(block) - {"tasks", "algorithms", "sizes", "seeds"}
    if unknown:
        raise UserInputError(
            f"{path}: grid key {sorted(unknown)[0]!r} is not one of tasks, algorithms, sizes, "
            "seeds; fix the file"
        )
    if "tasks" in block and (
        not isinstance(block["tasks"], list) or not set(block["tasks"]) <= set(TASKS)
    ):
        bad("tasks", f"a list of tasks among {', '.join(TASKS)}")
    if "algorithms" in block and (
        not isinstance(block["algorithms"], list) or not set(block["algorithms"]) <= set(ALGOS)
    ):
        bad("algorithms", f"a list among {', '.join(ALGOS)}")
    sizes = block.get("sizes", "all")
    if isinstance(sizes, list):
        for task in (TASKS[name] for name in block.get("tasks", TASKS)):
            if not all(isinstance(n, int) and 1 <= n <= task.largest_dataset for n in sizes):
                bad("sizes", f"trajectory counts from 1 to {task.largest_dataset} ({task.name})")
    elif sizes not in SIZE_CHOICES:
        bad("sizes", f"a list of trajectory counts or one of {', '.join(SIZE_CHOICES)}")
    seeds = block.get("seeds", "paper")
    if seeds != "paper" and (not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1):
        bad("seeds", 'a positive count or "paper"')
