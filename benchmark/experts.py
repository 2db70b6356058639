"""Expert training with the suite's own TRPO, resumable from its last checkpoint.

An expert is the paper's policy trained on the environment's reward. Training saves a checkpoint
(policy, value function, generator state, history) every few iterations, atomically; started
again, it continues from there and ends with the same expert as a run never interrupted: each
iteration samples from environments seeded by (seed, iteration), so nothing depends on
simulator state that a checkpoint cannot hold.
"""

import io
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from algorithms.policies import Policy, make_policy
from algorithms.rollout import Sampler
from algorithms.trpo import TRPOConfig, ValueFunction, update
from benchmark.tasks import Task


@dataclass(frozen=True)
class ExpertConfig:
    iterations: int
    """TRPO iterations."""
    pairs_per_iteration: int
    """State-action pairs sampled per iteration (whole episodes)."""
    num_envs: int = 16
    seed: int = 0
    checkpoint_every: int = 5
    """Iterations between checkpoints."""
    trpo: TRPOConfig = TRPOConfig()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_torch_save(obj, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def train_expert(task: Task, cfg: ExpertConfig, out_dir: Path) -> Policy:
    """Train (or resume training) an expert for `task`; checkpoints go to `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = out_dir / "checkpoint.pt"
    with Sampler(task.env_id, num_envs=1) as probe:
        obs_dim, action_space = probe.observation_space.shape[0], probe.action_space
    torch.manual_seed(cfg.seed)
    policy = make_policy(obs_dim, action_space)
    value_fn = ValueFunction(obs_dim, task.time_limit)
    rng = np.random.default_rng(cfg.seed)
    start, history = 0, []
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        policy.load_state_dict(state["policy"])
        value_fn.load_state_dict(state["value_fn"])
        rng.bit_generator.state = state["rng"]
        start, history = state["iteration"], state["history"]
    env_steps = history[-1]["env_steps"] if history else 0
    wall = history[-1]["wall_s"] if history else 0.0
    bar = tqdm(
        range(start, cfg.iterations),
        initial=start,
        total=cfg.iterations,
        desc=f"expert {task.name}",
        unit="iter",
    )
    for iteration in bar:
        tick = time.perf_counter()
        with Sampler(task.env_id, cfg.num_envs, seed=cfg.seed * 1_000_003 + iteration) as sampler:
            batch = sampler.collect(policy.actor(rng), min_steps=cfg.pairs_per_iteration)
        stats = update(policy, value_fn, batch, batch.rewards, cfg.trpo, rng)
        env_steps += batch.num_steps
        wall += time.perf_counter() - tick
        history.append(
            {
                "iteration": iteration + 1,
                "env_steps": env_steps,
                "wall_s": wall,
                "return": float(batch.episode_returns.mean()),
            }
            | stats
        )
        bar.set_postfix(
            ret=f"{history[-1]['return']:.1f}", steps=env_steps, sps=f"{env_steps / wall:.0f}"
        )
        if (iteration + 1) % cfg.checkpoint_every == 0 or iteration + 1 == cfg.iterations:
            atomic_torch_save(
                {
                    "policy": policy.state_dict(),
                    "value_fn": value_fn.state_dict(),
                    "rng": rng.bit_generator.state,
                    "iteration": iteration + 1,
                    "history": history,
                    "config": asdict(cfg),
                },
                checkpoint,
            )
    return policy


def evaluate(policy: Policy, task: Task, episodes: int, seed: int, deterministic: bool) -> dict:
    """Returns of `episodes` whole episodes (the expert card's numbers)."""
    with Sampler(task.env_id, num_envs=min(episodes, 16), seed=seed) as sampler:
        rng = None if deterministic else np.random.default_rng(seed)
        returns = sampler.collect(policy.actor(rng), min_episodes=episodes).episode_returns
    return {
        "episodes": episodes,
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "returns": returns.tolist(),
    }


def save_expert(policy: Policy, task: Task, cfg: ExpertConfig, out_dir: Path) -> dict:
    """Write the expert's weights and its card (training cost, returns over 50 episodes)."""
    state = torch.load(out_dir / "checkpoint.pt", weights_only=False)
    last = state["history"][-1]
    card = {
        "task": task.name,
        "env_id": task.env_id,
        "algorithm": "trpo",
        "config": asdict(cfg),
        "env_steps": last["env_steps"],
        "wall_s": round(last["wall_s"], 1),
        "deterministic": evaluate(policy, task, 50, seed=cfg.seed + 1, deterministic=True),
        "stochastic": evaluate(policy, task, 50, seed=cfg.seed + 2, deterministic=False),
    }
    atomic_torch_save(policy.state_dict(), out_dir / "expert.pt")
    atomic_write_bytes(out_dir / "card.json", json.dumps(card, indent=1).encode())
    return card
