import numpy as np
import pytest

from algorithms.data import Trajectories, subsample, subsample_offsets
from algorithms.errors import UserInputError


def make(lengths=(3, 2), obs_dim=2):
    n = sum(lengths)
    return Trajectories(
        obs=np.arange(n * obs_dim, dtype=np.float32).reshape(n, obs_dim),
        actions=np.arange(n, dtype=np.int64),
        rewards=np.arange(n, dtype=np.float64),
        lengths=np.array(lengths),
        terminated=np.array([True] + [False] * (len(lengths) - 1)),
        final_obs=np.zeros((len(lengths), obs_dim), np.float32),
    )


def test_derived_indices():
    t = make()
    np.testing.assert_array_equal(t.starts, [0, 3])
    np.testing.assert_array_equal(t.timesteps, [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(t.episode_returns, [0 + 1 + 2, 3 + 4])


@pytest.mark.parametrize(
    "field,bad",
    [
        ("rewards", np.zeros(4)),
        ("obs", np.zeros((4, 2), np.float32)),
        ("terminated", np.zeros(3, bool)),
        ("final_obs", np.zeros((2, 3), np.float32)),
    ],
)
def test_wrong_shapes_are_rejected_with_the_field_named(field, bad):
    good = make()
    fields = {k: getattr(good, k) for k in good.__dataclass_fields__}
    with pytest.raises(UserInputError, match=field):
        Trajectories(**{**fields, field: bad})


def test_empty_episode_is_rejected():
    with pytest.raises(UserInputError, match="at least one step"):
        make((3, 0))


def test_subsample_offsets_are_nested_and_in_range():
    long, short = subsample_offsets(50, 20, seed=7), subsample_offsets(4, 20, seed=7)
    np.testing.assert_array_equal(short, long[:4])
    assert long.min() >= 0 and long.max() < 20 and len(set(long.tolist())) > 1


def test_subsample_keeps_every_kth_pair_from_each_offset():
    traj = make(lengths=(7, 5, 9))
    offsets = np.array([0, 2, 1])
    pairs = subsample(traj, 3, offsets)
    expected = [
        start + t
        for start, length, off in zip(traj.starts, traj.lengths, offsets, strict=True)
        for t in range(off, length, 3)
    ]
    np.testing.assert_array_equal(pairs.actions, traj.actions[expected])
    np.testing.assert_array_equal(pairs.obs, traj.obs[expected])


def test_subsample_rejects_bad_offsets():
    with pytest.raises(UserInputError, match="one offset in \\[0, 3\\) per episode"):
        subsample(make(), 3, np.array([0, 3]))
    with pytest.raises(UserInputError, match="per episode"):
        subsample(make(), 3, np.array([0]))
