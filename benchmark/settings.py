"""A learner's config from a profile: the config's defaults, then the profile's budget for the
task, then the profile's settings for the learner, each checked (its type and its range) with a
one-line error.

Settings name a field by its dotted path (`loop.trpo.max_kl`) or, where it is unique in the
config, by its own name (`max_kl`, `causal_entropy`, `reward`). TOML sub-tables give the same
dotted paths.
"""

import dataclasses
import types
from collections.abc import Callable
from typing import Any

from algorithms.errors import UserInputError
from algorithms.registry import Learner


def leaves(cls: type, prefix: str = "") -> dict[str, type]:
    """Every settable field of a config dataclass, by dotted path, with its type."""
    paths: dict[str, type] = {}
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(f.type):
            paths |= leaves(f.type, f"{prefix}{f.name}.")
        else:
            paths[prefix + f.name] = f.type
    return paths


def defaults(learner: Learner) -> dict[str, Any]:
    """Every setting of the learner with its default, by dotted path (`python -m benchmark
    learners`)."""
    return flatten(dataclasses.asdict(learner.config()))


def flatten(settings: dict, prefix: str = "") -> dict[str, Any]:
    """{"loop": {"causal_entropy": 0.01}} -> {"loop.causal_entropy": 0.01}."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[prefix + key] = value
    return flat


def resolve(cls: type, key: str, where: str) -> str:
    """The dotted path that `key` names in the config `cls`."""
    paths = leaves(cls)
    if key in paths:
        return key
    matches = [p for p in paths if p.rsplit(".", 1)[-1] == key]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UserInputError(f"{where}: {key!r} is ambiguous; write one of {', '.join(matches)}")
    raise UserInputError(
        f"{where}: {key!r} is not a setting of {cls.__name__}; known: {', '.join(paths)}"
    )


# What a number may be, by the setting's own name (it means the same in every config). Any other
# int is a count, at least 1, and any other float a weight, rate or bound, at least 0: outside
# them a run fails later with a traceback, or trains on nonsense.
RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    "rounds": (lambda v: v >= 0, "an integer of at least 0"),  # DAgger without rounds is BC
    "gamma": (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    "lam": (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    "beta_decay": (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    "train_fraction": (lambda v: 0 < v <= 1, "a number above 0 and at most 1"),
    "fvp_subsample": (lambda v: 0 < v <= 1, "a number above 0 and at most 1"),
    "backtrack_shrink": (lambda v: 0 < v < 1, "a number between 0 and 1, both excluded"),
    # A feature the expert never moves is divided by the floor alone: 0 would make it 0 / 0
    "std_floor": (lambda v: v > 0, "a number above 0"),
}
COUNT = (lambda v: v >= 1, "an integer of at least 1")
NON_NEGATIVE = (lambda v: v >= 0, "a number of at least 0")


def _checked(value, kind: type, where: str, path: str):
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }
    if isinstance(kind, types.UnionType) or kind not in ok:
        raise UserInputError(f"{where}: {path} cannot be set from a profile")
    if not ok[kind]:
        raise UserInputError(f"{where}: {path} = {value!r}; expected a {kind.__name__}")
    if kind in (int, float):
        in_range, allowed = RANGES.get(
            path.rsplit(".", 1)[-1], COUNT if kind is int else NON_NEGATIVE
        )
        if not in_range(value):
            raise UserInputError(f"{where}: {path} = {value!r}; expected {allowed}")
    return float(value) if kind is float else value


def _build(cls: type, values: dict[str, Any], prefix: str = ""):
    kwargs = {}
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(f.type):
            kwargs[f.name] = _build(f.type, values, f"{prefix}{f.name}.")
        elif prefix + f.name in values:
            kwargs[f.name] = values[prefix + f.name]
    return cls(**kwargs)


def build_config(learner: Learner, budget: dict[str, int], settings: dict, where: str):
    """The learner's config: defaults, then `budget` (a profile's Budget as a dict), then
    `settings` (the profile's table for this learner). `where` prefixes every error."""
    paths = leaves(learner.config)
    values = {path: budget[name] for name, path in learner.budget.items()}
    for key, value in flatten(settings).items():
        path = resolve(learner.config, key, where)
        values[path] = _checked(value, paths[path], where, path)
    try:
        return _build(learner.config, values)
    except UserInputError as err:
        raise UserInputError(f"{where}: {err}") from None
