"""Every unusable argument or path gets one line naming it, exit code 2, no traceback."""

import io
import os
import subprocess
import sys

import pytest

from benchmark.__main__ import _reader_gone, main


@pytest.mark.parametrize(
    "argv, names",
    [
        (["nope"], "invalid choice: 'nope'"),
        (["run", "--task", "hopper", "--algo", "gail", "--n-traj", "x"], "'x' is not an integer"),
        (["run", "--task", "hopper", "--algo", "gail", "--n-traj", "0"], "0 is below 1"),
        (["run", "--task", "hoper", "--algo", "gail", "--n-traj", "4"], "unknown task 'hoper'"),
        (["run", "--task", "hopper", "--algo", "gial", "--n-traj", "4"], "unknown algorithm"),
        (["run", "--task", "hopper", "--algo", "gail", "--n-traj", "99"], "asked for 99"),
        (["reproduce", "--workers", "0", "--dry-run"], "0 is below 1"),
        (["reproduce", "--profile", "nope"], "unknown profile 'nope'"),
        (["reproduce", "--profile", "smoke", "--runs", "/proc/nope"], "/proc/nope"),
        (["dataset", "make", "--task", "cartpole", "--datasets", "/proc/nope"], "/proc/nope"),
        (["bench", "time-to-expert", "--eval-every", "0"], "0 is below 1"),
        (
            ["bench", "throughput", "--from-records", "/nonexistent"],
            "no finished FEM, GTAL, GAIL, GAIL (PPO) or AIRL",
        ),
        (["bench", "throughput", "--from-records", "/x", "--task", "hopper"], "drop --task"),
        (["expert", "evaluate", "--task", "cartpole", "--episodes", "-3"], "-3 is below 1"),
        (["learners", "--algo", "x"], "unknown algorithm 'x'"),
        (["tables", "--profile", "quick", "--runs", "/nonexistent"], "no finished runs"),
        (["adopt", "--profile", "smoke", "--tasks", "pong"], "unknown task 'pong'"),
        (["adopt", "--profile", "smoke", "--tasks", "ant"], "smoke has no runs of 'ant'"),
    ],
)
def test_bad_input_is_one_line(argv, names, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and names in err[0], err


def test_tasks_lists_every_task_with_its_environment(capsys):
    from benchmark.tasks import TASKS

    assert main(["tasks"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [[t.name, t.env_id] for t in TASKS.values()]


def test_learners_prints_a_learners_settings_and_which_the_budget_sets(capsys):
    assert main(["learners", "--algo", "gail"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("gail (GAIL, ")
    assert "  loop.iterations = 500  (set by the profile's budget: iterations)" in lines
    assert all(line.startswith("  ") for line in lines[1:])


def test_output_into_a_closed_pipe_ends_quietly():
    # As `python -m benchmark tasks | head -1` once the reader has gone: no error line about a path.
    read, write = os.pipe()
    os.close(read)
    ended = subprocess.run(
        [sys.executable, "-m", "benchmark", "tasks"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write)
    assert ended.returncode == 1 and ended.stderr == ""


def test_a_broken_pipe_elsewhere_is_one_error_line(monkeypatch, capsys):
    def connection_lost(args):  # as a W&B or Ray socket closing under a command
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("benchmark.__main__._tasks", connection_lost)
    assert main(["tasks"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: a pipe or socket closed under the command")


def test_a_pipe_counts_as_gone_only_once_its_reader_closed():
    read, write = os.pipe()
    with os.fdopen(write, "w") as stream:
        assert not _reader_gone(stream)
        os.close(read)
        assert _reader_gone(stream)
    assert not _reader_gone(io.StringIO())  # not a file: never taken for a closed pipe
