"""Every unusable argument or path gets one line naming it, exit code 2, no traceback."""

import pytest

from benchmark.__main__ import main


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
