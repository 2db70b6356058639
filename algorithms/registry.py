"""The learners: one entry each. Profiles, sweeps, records, W&B, tables and figures take the list
of algorithms, their labels and their settings from here.

A learner is a frozen config dataclass (every field settable from a profile, see
`benchmark.settings`) and a `make` function that builds its trainer for one run. A trainer has
`iteration`, `iterations`, `iterate() -> metrics`, `final_policy()`, `state_dict()` and
`load_state_dict()`; the harness checkpoints and resumes every trainer the same way.

An interactive learner (DAgger) also queries the task's expert policy: its entry says so
(`needs_expert_policy`), and the harness passes that policy to `make` as `expert_policy=`.

To add a learner: write `algorithms/<name>.py` with its config and trainer (a method that only
brings a reward model can reuse `ImitationLoop`, as FEM, GTAL and GAIL do), then add one
`Learner(...)` below.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from algorithms import airl, bc, dagger, fem, gail, gail_ppo, gtal
from algorithms.data import Pairs
from algorithms.imitation import ImitationLoop
from algorithms.policies import make_policy
from algorithms.rollout import env_spaces


class EnvSpec(Protocol):
    """What a trainer needs to know of its task (`benchmark.tasks.Task` has these)."""

    env_id: str
    time_limit: int
    ends_on_success: bool
    fixed_length: bool
    """No episode ends before the time limit (GAIL (PPO) and AIRL's `reward_center`)."""


@dataclass(frozen=True)
class Workload:
    """What one run's training does, for a sweep's cost estimate before it runs: `batches` of at
    least `pairs_per_batch` environment steps in whole episodes on `num_envs` environments, and
    `supervised_steps` gradient steps on labelled pairs (BC's)."""

    batches: int = 0
    pairs_per_batch: int = 0
    num_envs: int = 1
    supervised_steps: int = 0


@dataclass(frozen=True)
class Learner:
    name: str
    """Its key in profiles, record paths and tables."""
    label: str
    """How tables and figures name it."""
    config: type
    """A frozen dataclass with a default for every field."""
    make: Callable[[EnvSpec, Pairs, object, int, int | None], object]
    """(task, expert pairs, config, seed, simulator threads) -> trainer; with
    `expert_policy=` too where `needs_expert_policy`."""
    budget: dict[str, str] = field(default_factory=dict)
    """Which config field each of a profile's budget entries sets (dotted path)."""
    group: str = "paper"
    """The paper's methods; "modern" (today's learners from demonstrations alone); or
    "interactive" (learners that query the expert). Only "paper" joins the default grid."""
    needs_expert_policy: bool = False
    """The learner queries the task's expert policy during training (DAgger): the harness loads
    the committed expert and passes it as `expert_policy=`."""
    workload: Callable[[object], Workload] | None = None
    """config -> its `Workload`. None: the shared loop's, `loop.iterations` batches of
    `loop.pairs_per_iteration` pairs on `loop.num_envs` environments."""

    def planned_workload(self, cfg) -> Workload:
        if self.workload:
            return self.workload(cfg)
        return Workload(cfg.loop.iterations, cfg.loop.pairs_per_iteration, cfg.loop.num_envs)

    @property
    def rate_group(self) -> str | None:
        """Whose finished records' CPU seconds per env step stand for this learner's in a cost
        estimate: "loop" for the shared loop's learners (pooled: a step costs them alike), its
        own name for the others that only sample and update (GAIL (PPO), AIRL), None where
        supervised steps are part of the cost (BC, DAgger), which a record's total cannot split
        from the sampling."""
        if self.workload is None:
            return "loop"
        return None if self.planned_workload(self.config()).supervised_steps else self.name


def _bc(task: EnvSpec, expert: Pairs, cfg: bc.BCConfig, seed: int, num_threads=None):
    obs_dim, action_space = env_spaces(task.env_id)
    torch.manual_seed(seed)
    policy = make_policy(obs_dim, action_space)
    return bc.BCTrainer(policy, expert, cfg, np.random.default_rng(seed))


def _dagger(
    task: EnvSpec, expert: Pairs, cfg, seed: int, num_threads=None, *, expert_policy
) -> dagger.DAggerTrainer:
    obs_dim, action_space = env_spaces(task.env_id)
    torch.manual_seed(seed)
    policy = make_policy(obs_dim, action_space)
    return dagger.DAggerTrainer(task.env_id, policy, expert, expert_policy, cfg, seed, num_threads)


def reward_learner(reward_class) -> Callable:
    """The trainer of a method that brings only a reward model to the shared loop."""

    def make(task: EnvSpec, expert: Pairs, cfg, seed: int, num_threads=None):
        def make_reward(*args):
            return reward_class(*args, cfg=cfg)

        return ImitationLoop(
            task.env_id,
            task.time_limit,
            task.ends_on_success,
            expert,
            make_reward,
            cfg.loop,
            seed,
            num_threads,
        )

    return make


LOOP_BUDGET = {"iterations": "loop.iterations", "pairs_per_iteration": "loop.pairs_per_iteration"}
BC_BUDGET = {"bc_steps": "steps", "bc_validate_every": "validate_every"}
PPO_BUDGET = {"iterations": "iterations", "pairs_per_iteration": "pairs_per_iteration"}
# DAgger: BC's budget for its BC phase, and the loop's pairs per iteration for each round's
# learner steps; the number of rounds is its own setting (`rounds`).
DAGGER_BUDGET = {
    "bc_steps": "bc.steps",
    "bc_validate_every": "bc.validate_every",
    "pairs_per_iteration": "pairs_per_round",
}


def _bc_workload(cfg: bc.BCConfig) -> Workload:
    return Workload(supervised_steps=cfg.steps)


def _ppo_workload(cfg) -> Workload:
    return Workload(cfg.iterations, cfg.pairs_per_iteration, cfg.num_envs)


def _dagger_workload(cfg: dagger.DAggerConfig) -> Workload:
    refits = cfg.bc.steps + cfg.rounds * cfg.steps_per_round
    return Workload(cfg.rounds, cfg.pairs_per_round, cfg.num_envs, refits)


LEARNERS: dict[str, Learner] = {
    learner.name: learner
    for learner in [
        Learner(
            "bc",
            "BC",
            bc.BCConfig,
            _bc,
            BC_BUDGET,
            workload=_bc_workload,
        ),
        Learner("fem", "FEM", fem.FEMConfig, reward_learner(fem.FEMReward), LOOP_BUDGET),
        Learner("gtal", "GTAL", gtal.GTALConfig, reward_learner(gtal.GTALReward), LOOP_BUDGET),
        Learner("gail", "GAIL", gail.GAILConfig, reward_learner(gail.GAILReward), LOOP_BUDGET),
        Learner(
            "gail_ppo",
            "GAIL (PPO)",
            gail_ppo.GAILPPOConfig,
            gail_ppo.make,
            PPO_BUDGET,
            group="modern",
            workload=_ppo_workload,
        ),
        Learner(
            "airl",
            "AIRL",
            airl.AIRLConfig,
            airl.make,
            PPO_BUDGET,
            group="modern",
            workload=_ppo_workload,
        ),
        Learner(
            "dagger",
            "DAgger (interactive)",
            dagger.DAggerConfig,
            _dagger,
            DAGGER_BUDGET,
            group="interactive",
            needs_expert_policy=True,
            workload=_dagger_workload,
        ),
    ]
}
