"""DAgger distillation (Ross et al. 2011) of a teacher's deterministic action into a Gaussian
policy of the learners' own family (`GaussianPolicy`: an MLP mean, a state-independent log-std).

Why: the imitation learners' discriminator tells pairs apart by their action noise too, so an
expert of another family (SAC's state-dependent, tanh-squashed noise) is not one the learners can
match. The student keeps the teacher's behaviour in its mean and takes a fixed log-std (the
paper's experts' final values), which is never learned here.

Each round samples whole episodes, labels every visited state with the teacher's deterministic
action, adds them to the aggregate and regresses the student's mean on all of it (MSE, Adam).
Round 0 rolls out the teacher's action plus the student's own noise, so that its states are those
a noisy student will visit; later rounds roll out the student, stochastically. The student's
observation standardiser is set once, from round 0's states.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from algorithms.errors import UserInputError
from algorithms.policies import GaussianPolicy, make_policy
from algorithms.rollout import Sampler, derived_seed, env_spaces


@dataclass(frozen=True)
class DistillConfig:
    log_std: tuple[float, ...]
    """The student's log-std per action dimension, fixed throughout (not learned)."""
    rounds: int = 10
    """DAgger rounds (round 0 rolls out the teacher, the others the student)."""
    steps_per_round: int = 20_000
    """State-action pairs sampled per round (whole episodes)."""
    updates_per_round: int = 2_000
    """Adam steps on the aggregate after each round."""
    batch_size: int = 256
    """Minibatch size, drawn with replacement from the aggregate."""
    lr: float = 1e-3
    """Adam learning rate (kept across rounds, as is Adam's state)."""
    num_envs: int = 16
    """Environments sampled in parallel."""


def noisy(action_fn: Callable, std: np.ndarray, rng: np.random.Generator) -> Callable:
    """`action_fn` plus Gaussian noise of standard deviation `std` (the student's noise)."""
    return lambda obs: action_fn(obs) + std * rng.standard_normal((len(obs), len(std)), np.float32)


def distill(
    teacher: Callable[[np.ndarray], np.ndarray],
    env_id: str,
    cfg: DistillConfig,
    seed: int = 0,
) -> tuple[GaussianPolicy, list[dict]]:
    """Distil `teacher` (a numpy map from a batch of observations to deterministic actions)
    into a new `GaussianPolicy`; returns (student, one history row per round)."""
    obs_dim, action_space = env_spaces(env_id)
    if hasattr(action_space, "n") or len(cfg.log_std) != action_space.shape[0]:
        raise UserInputError(
            f"DistillConfig.log_std has {len(cfg.log_std)} values but {env_id} has "
            f"action space {action_space}; give one log-std per action dimension"
        )
    torch.manual_seed(seed)
    student = make_policy(obs_dim, action_space)
    with torch.no_grad():
        student.log_std.copy_(torch.tensor(cfg.log_std))
    student.log_std.requires_grad_(False)
    std = np.exp(np.asarray(cfg.log_std, np.float32))
    optimizer = torch.optim.Adam(student.net.parameters(), lr=cfg.lr)
    batch_gen = torch.Generator().manual_seed(seed)
    all_obs, all_labels, history = [], [], []
    env_steps, wall = 0, 0.0
    for round_ in range(cfg.rounds):
        tick = time.perf_counter()
        # Every round's noise and environments are seeded by (seed, round): a rerun is the same.
        rng = np.random.default_rng([seed, round_])
        actor = noisy(teacher, std, rng) if round_ == 0 else student.actor(rng)
        with Sampler(env_id, cfg.num_envs, derived_seed(seed, round_)) as sampler:
            batch = sampler.collect(actor, min_steps=cfg.steps_per_round)
        if round_ == 0:
            student.obs_norm.update(batch.obs)
        all_obs.append(torch.as_tensor(batch.obs))
        all_labels.append(torch.as_tensor(np.asarray(teacher(batch.obs), np.float32)))
        loss = regress(
            student, torch.cat(all_obs), torch.cat(all_labels), optimizer, cfg, batch_gen
        )
        env_steps += batch.num_steps
        wall += time.perf_counter() - tick
        history.append(
            {
                "round": round_,
                "env_steps": env_steps,
                "wall_s": wall,
                "return": float(batch.episode_returns.mean()),
                "terminated": float(batch.terminated.mean()),
                "aggregate_pairs": sum(len(o) for o in all_obs),
                "losses/mse": loss,
            }
        )
    return student, history


def regress(student, obs, labels, optimizer, cfg: DistillConfig, gen: torch.Generator) -> float:
    """`cfg.updates_per_round` Adam steps on the mean's squared error (summed over action
    dimensions, averaged over pairs); returns that error on the whole aggregate."""
    for _ in range(cfg.updates_per_round):
        idx = torch.randint(len(obs), (cfg.batch_size,), generator=gen)
        mean = student.net(student.obs_norm(obs[idx]))
        loss = ((mean - labels[idx]) ** 2).sum(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float(((student.net(student.obs_norm(obs)) - labels) ** 2).sum(-1).mean())
