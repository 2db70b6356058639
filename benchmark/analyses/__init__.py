"""Analyses behind the findings in docs/: one module each, run as
`python -m benchmark analyse <name> [args]`.

Each module has a docstring whose first line says what it measures, and `main(argv)` with its
own argparse options (`python -m benchmark analyse <name> --help`). They read what the suite
wrote (run records, expert datasets, expert cards) through `benchmark.store`, `benchmark.records`,
`benchmark.datasets` and `benchmark.experts`, and never write a record. Helpers shared by several
analyses are in `_common.py`.
"""

import ast
import importlib
from pathlib import Path

from algorithms.errors import UserInputError

HERE = Path(__file__).parent


def names() -> list[str]:
    """Every analysis, by module name."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def summary(name: str) -> str:
    """The first line of an analysis's docstring (read without importing it)."""
    doc = ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text())) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def run(name: str, argv: list[str]) -> None:
    if name not in names():
        raise UserInputError(f"unknown analysis {name!r}; known analyses: {', '.join(names())}")
    importlib.import_module(f"benchmark.analyses.{name}").main(argv)
