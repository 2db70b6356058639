"""What produced a file: code version and the versions of the packages that shape the numbers."""

import importlib.metadata
import platform
import subprocess
from pathlib import Path

import torch

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
    return (
        {"python": platform.python_version()}
        | {name: importlib.metadata.version(name) for name in PACKAGES}
        | {"cpu": cpu()}
    )


def cpu() -> str:
    """The processor and the vector instructions torch's kernels use on it, e.g. 'AMD EPYC
    (AVX2)'. The same code, packages and seed gave a different CartPole GAIL record on another
    machine (docs/performance.md): a record is bit for bit repeatable only on the same kind."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else model
    return f"{model} ({torch.backends.cpu.get_cpu_capability()})"
