"""What produced a file: code version and the versions of the packages that shape the numbers."""

import importlib.metadata
import platform
import subprocess
from pathlib import Path

PACKAGES = ("torch", "numpy", "gymnasium", "mujoco", "envpool")
CODE_PATHS = ("algorithms", "benchmark", "pyproject.toml", "Makefile")


def code_version() -> str:
    """The git commit of this checkout, with `-dirty` when the code differs from it.

    Only the code counts: the results folder changes whenever a result is written. Untracked
    files do not count either: committed code cannot reach a new file without changing itself
    (a new profile or test written while a sweep runs would otherwise mark its runs dirty).
    """
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + ("-dirty" if dirty else "")


def versions() -> dict[str, str]:
    return {"python": platform.python_version()} | {
        name: importlib.metadata.version(name) for name in PACKAGES
    }
