"""The nine tasks of the GAIL paper, on today's gymnasium.

Every number here is the paper's protocol (shared/paper/protocol.md, read from the authors' code);
`notes` says what differs between the 2016 environment and the one we run.
"""

from dataclasses import dataclass

from algorithms.errors import UserInputError


@dataclass(frozen=True)
class Task:
    name: str
    """The paper's name of the task, used in file paths and tables."""
    env_id: str
    """The gymnasium id we run (EnvPool registers the same id)."""
    time_limit: int
    """Episode length cap of `env_id`, in environment steps."""
    dataset_sizes: tuple[int, ...]
    """Numbers of expert trajectories the paper trains on."""
    subsample_every: int
    """Each expert trajectory keeps every k-th state-action pair, from a random offset in [0, k)."""
    iterations: int
    """Outer-loop iterations of FEM, GTAL and GAIL (one TRPO step each); GAIL (PPO) and AIRL
    take it as their rounds where a profile's budget does not set it."""
    pairs_per_iteration: int
    """State-action pairs sampled per iteration (whole trajectories, at least this many)."""
    bc_steps: int
    """Behavioral-cloning optimiser steps."""
    bc_validate_every: int
    """Behavioral-cloning validation period, in optimiser steps."""
    runs_per_cell: int
    """Independent runs per (algorithm, dataset size) in the paper."""
    ends_on_success: bool
    """Episodes end early when the goal is reached (reward must be <= 0 there, not >= 0)."""
    is_mujoco: bool
    notes: str
    paper_env_id: str | None = None
    """The 2016 gym id the paper used; None for a task the paper did not have, which joins only
    the profiles that name it."""
    fixed_length: bool = False
    """Every episode runs to the time limit (nothing ends it early): a batch of whole episodes is
    then a whole number of rounds of every environment."""
    whole_episodes: bool = True
    """The dataset file keeps whole episodes; False: only the pairs the subsampling keeps, where
    whole episodes would not fit in the repository (Humanoid's 240 are 350 MB, its pairs 17 MB)."""

    @property
    def largest_dataset(self) -> int:
        return max(self.dataset_sizes)


_CLASSIC = dict(
    subsample_every=5,
    iterations=300,
    pairs_per_iteration=5_000,
    bc_steps=1_001,
    bc_validate_every=100,
    runs_per_cell=7,
    is_mujoco=False,
    dataset_sizes=(1, 4, 7, 10),
)
_MUJOCO = dict(
    subsample_every=20,
    iterations=500,
    pairs_per_iteration=50_000,
    bc_steps=20_001,
    bc_validate_every=1_000,
    runs_per_cell=1,
    ends_on_success=False,
    is_mujoco=True,
    time_limit=1000,
    dataset_sizes=(4, 11, 18, 25),
)
_V5_NOTE = (
    "v5 uses MuJoCo 3 instead of mujoco-py 1.31; rewards and observations were redefined in "
    "v2-v5, so only normalised returns compare with the paper."
)

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task(
            name="cartpole",
            env_id="CartPole-v1",
            paper_env_id="CartPole-v0",
            time_limit=500,
            ends_on_success=False,
            notes="v1 caps episodes at 500 steps instead of 200; dynamics are the same.",
            **{**_CLASSIC, "subsample_every": 10},
        ),
        Task(
            name="acrobot",
            env_id="Acrobot-v1",
            paper_env_id="Acrobot-v0",
            time_limit=500,
            ends_on_success=True,
            notes="v1 observes cos/sin of both angles (6 values, v0 had 4) and caps at 500 steps.",
            **_CLASSIC,
        ),
        Task(
            name="mountaincar",
            env_id="MountainCar-v0",
            paper_env_id="MountainCar-v0",
            time_limit=200,
            ends_on_success=True,
            notes="Same environment as in 2016.",
            **_CLASSIC,
        ),
        Task(
            name="reacher",
            env_id="Reacher-v5",
            paper_env_id="Reacher-v1",
            time_limit=50,
            dataset_sizes=(4, 11, 18),
            subsample_every=1,
            iterations=200,
            pairs_per_iteration=50_000,
            bc_steps=10_001,
            bc_validate_every=500,
            runs_per_cell=7,
            ends_on_success=False,
            is_mujoco=True,
            fixed_length=True,
            notes="v5 drops the always-zero z distance (10 observations, v1 had 11). " + _V5_NOTE,
        ),
        Task(
            name="halfcheetah",
            env_id="HalfCheetah-v5",
            paper_env_id="HalfCheetah-v1",
            fixed_length=True,
            notes=_V5_NOTE,
            **_MUJOCO,
        ),
        Task(
            name="hopper",
            env_id="Hopper-v5",
            paper_env_id="Hopper-v1",
            notes="v5 gives the healthy reward only while healthy. " + _V5_NOTE,
            **_MUJOCO,
        ),
        Task(
            name="walker",
            env_id="Walker2d-v5",
            paper_env_id="Walker2d-v1",
            notes="v5 gives both feet the same friction. " + _V5_NOTE,
            **_MUJOCO,
        ),
        Task(
            name="ant",
            env_id="Ant-v5",
            paper_env_id="Ant-v1",
            notes="v5 observes 105 values (v1: 111): it leaves out the world body's contact "
            "forces. " + _V5_NOTE,
            **_MUJOCO,
        ),
        Task(
            name="humanoid",
            env_id="Humanoid-v5",
            paper_env_id="Humanoid-v1",
            notes="v5 observes 348 values (v1: 376): it leaves out the world body and the root "
            "actuator forces. " + _V5_NOTE,
            **{**_MUJOCO, "dataset_sizes": (80, 160, 240), "iterations": 1_500},
            whole_episodes=False,
        ),
    ]
}
_BY_ENV_ID = {t.env_id: t for t in TASKS.values()}
PAPER_TASKS = tuple(name for name, task in TASKS.items() if task.paper_env_id)


def get_task(name: str) -> Task:
    """The task with this paper name (`hopper`) or gymnasium id (`Hopper-v5`)."""
    task = TASKS.get(name.lower()) or _BY_ENV_ID.get(name)
    if task is None:
        known = ", ".join(f"{t.name} ({t.env_id})" for t in TASKS.values())
        raise UserInputError(f"unknown task {name!r}; known tasks: {known}")
    return task
