"""Learning tests (slow): BC, GAIL, AIRL and DAgger clearly beat random actions on CartPole
(GAIL (PPO)'s is in test_modern.py, over three seeds).

"Clearly" is a one-sided Mann-Whitney test of the run's 50 evaluation returns against the 50
random-action returns of the dataset card, not a single threshold that one lucky run could pass.
"""

import math

import numpy as np
import pytest

from benchmark.datasets import load_dataset
from benchmark.profiles import Profile
from benchmark.run import run
from benchmark.tasks import get_task

SHORT = Profile(
    "learning-test",
    "",
    {
        "classic": {
            "iterations": 20,
            "pairs_per_iteration": 5_000,
            "bc_steps": 1_001,
            "bc_validate_every": 100,
        }
    },
)


def mann_whitney_p(better: np.ndarray, worse: np.ndarray) -> float:
    """P-value of 'better' not being stochastically larger (normal approximation, ties halved)."""
    diff = better[:, None] - worse[None, :]
    u = (diff > 0).sum() + 0.5 * (diff == 0).sum()
    n1, n2 = len(better), len(worse)
    z = (u - n1 * n2 / 2) / math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_mann_whitney_by_hand():
    assert mann_whitney_p(np.arange(10.0) + 100, np.arange(10.0)) < 1e-3
    assert mann_whitney_p(np.arange(10.0), np.arange(10.0)) == pytest.approx(0.5)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["bc", "gail", "airl", "dagger"])
def test_learner_clearly_beats_random_on_cartpole(tmp_path, algo):
    task = get_task("cartpole")
    record = run(task, algo, 4, 0, SHORT, tmp_path)
    random_returns = np.array(load_dataset(task).card["random"]["returns"])
    assert mann_whitney_p(np.array(record["returns"]), random_returns) < 1e-6
    # 20 iterations are a fifteenth of the paper's budget: well above random, not yet the expert.
    assert record["normalized_return"] > 0.1, record["normalized_return"]
