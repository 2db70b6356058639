"""Profiles: the budgets a sweep runs at, as data (`benchmark/protocols/<name>.toml`).

A profile overrides the paper's budgets (the task registry's) per group of tasks: `[budget.<task>]`
for one task, else `[budget.mujoco]` or `[budget.classic]`. A profile with no budget table is the
paper's protocol exactly.
"""

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from algorithms.errors import UserInputError
from benchmark.tasks import TASKS, Task

PROTOCOLS_DIR = Path(__file__).parent / "protocols"


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

    def budget(self, task: Task) -> Budget:
        paper = Budget(
            iterations=task.iterations,
            pairs_per_iteration=task.pairs_per_iteration,
            bc_steps=task.bc_steps,
            bc_validate_every=task.bc_validate_every,
        )
        group = "mujoco" if task.is_mujoco else "classic"
        return replace(paper, **self.budgets.get(task.name, self.budgets.get(group, {})))


def known_profiles() -> list[str]:
    return sorted(p.stem for p in PROTOCOLS_DIR.glob("*.toml"))


def load_profile(name: str) -> Profile:
    path = PROTOCOLS_DIR / f"{name}.toml"
    if not path.exists():
        raise UserInputError(
            f"unknown profile {name!r}; known profiles: {', '.join(known_profiles())}"
        )
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
    return Profile(name=name, description=data.get("description", ""), budgets=budgets)
