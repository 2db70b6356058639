"""Experts: training (TRPO or SAC, resumable), loading, evaluation and the expert card.

Each task has a recipe (`RECIPES`): the paper's TRPO where it reaches the expert target in the
time there is, SAC (`algorithms/sac.py`) where it does not. Either way training checkpoints
atomically and, started again, continues from the last checkpoint to the same expert as a run
never interrupted: every TRPO iteration samples from environments seeded by (seed, iteration),
and every SAC episode starts from a reset seeded by (seed, episode), so no simulator state needs
saving.

Files, under `results/experts/<task>/`: `expert.pt` (the policy) and `card.json` (recipe, training
cost, returns, provenance), both committed; TRPO's small `checkpoint.pt` is committed too, and so
is SAC's `sac/state.pt` while a training is unfinished; SAC's replay buffer (`sac/replay.pt`, up
to gigabytes) is ignored.
"""

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from algorithms.errors import UserInputError
from algorithms.imitation import EnvironmentReward, ImitationLoop, LoopConfig
from algorithms.policies import make_policy
from algorithms.rollout import Sampler, env_spaces
from algorithms.sac import SACConfig, SACTrainer, SquashedGaussianActor
from algorithms.trpo import TRPOConfig
from benchmark import store
from benchmark.provenance import code_version, versions
from benchmark.tasks import Task
from benchmark.training import train


@dataclass(frozen=True)
class TRPOExpertConfig:
    iterations: int
    """TRPO iterations."""
    pairs_per_iteration: int
    """State-action pairs sampled per iteration (whole episodes)."""
    num_envs: int = 16
    seed: int = 0
    checkpoint_every: int = 5
    """Iterations between checkpoints."""
    reward_bonus: str | None = None
    """Name of a function in `REWARD_BONUSES` of the observation, added to the reward."""
    trpo: TRPOConfig = TRPOConfig()


def mountaincar_speed(obs: np.ndarray) -> np.ndarray:
    """10 |velocity|: at most 0.7 a step, so every step still costs and reaching the flag pays.

    A softmax policy almost never reaches MountainCar's flag by chance, so on the task's reward
    alone TRPO sees no signal; paying for speed teaches it to swing, and the -1 a step still
    makes the shortest way to the flag the best. Training only: the card's returns are the task's.
    """
    return 10 * np.abs(obs[:, 1])


def cartpole_centred(obs: np.ndarray) -> np.ndarray:
    """-|x| / 2.4: from 0 at the centre to -1 at the edge, so surviving still pays every step.

    On the task's reward alone, TRPO's expert survives v1's 500 steps by drifting to the edge of
    the track (every trajectory ended at x = -1.8 to -2.3, the edge being -2.4): learners that
    imitate the drift fall off (GAIL with one trajectory scored 0.27). The paper's v0 ended at
    200 steps, before such a drift shows. Training only: the card's returns are the task's.
    """
    return -np.abs(obs[:, 0]) / 2.4


REWARD_BONUSES = {"mountaincar_speed": mountaincar_speed, "cartpole_centred": cartpole_centred}

RECIPES: dict[str, TRPOExpertConfig | SACConfig] = {
    "cartpole": TRPOExpertConfig(
        iterations=25, pairs_per_iteration=5_000, reward_bonus="cartpole_centred"
    ),
    "acrobot": TRPOExpertConfig(iterations=60, pairs_per_iteration=5_000),
    "mountaincar": TRPOExpertConfig(
        iterations=100, pairs_per_iteration=5_000, reward_bonus="mountaincar_speed"
    ),
    "reacher": TRPOExpertConfig(iterations=100, pairs_per_iteration=50_000),
    "hopper": TRPOExpertConfig(iterations=150, pairs_per_iteration=50_000),
    "walker": TRPOExpertConfig(iterations=200, pairs_per_iteration=50_000),
    "halfcheetah": SACConfig(total_steps=150_000),
    "ant": SACConfig(total_steps=1_306_000),
    "humanoid": SACConfig(total_steps=480_000),
}


class _ExpertWatcher:
    """A bar with the latest return and the simulator's speed."""

    def __init__(self, task: Task, unit: str = "iter"):
        self.bar = tqdm(desc=f"expert {task.name}", unit=unit)

    def start(self, done: int, total: int) -> None:
        self.bar.reset(total)
        self.bar.update(done)

    def step(self, done: int, metrics: dict) -> None:
        self.bar.update(done - self.bar.n)
        sps = metrics["env_steps"] / max(metrics["wall_s"], 1e-9)
        latest = metrics.get("charts/true_return", metrics.get("return"))
        self.bar.set_postfix(ret=f"{latest:.1f}", steps=metrics["env_steps"], sps=f"{sps:.0f}")

    def checkpoint(self, history: list[dict]) -> None:
        pass


def train_trpo_expert(task: Task, cfg: TRPOExpertConfig, out_dir: Path):
    """Train (or resume training) a TRPO expert: the learners' loop with the task's own reward;
    checkpoints go to `out_dir/checkpoint.pt`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    bonus = REWARD_BONUSES[cfg.reward_bonus] if cfg.reward_bonus else None
    loop = LoopConfig(
        iterations=cfg.iterations,
        pairs_per_iteration=cfg.pairs_per_iteration,
        num_envs=cfg.num_envs,
        trpo=cfg.trpo,
    )

    def make_reward(*args):
        return EnvironmentReward(bonus)

    trainer = ImitationLoop(
        task.env_id, task.time_limit, task.ends_on_success, None, make_reward, loop, cfg.seed
    )
    history, _ = train(
        trainer, out_dir / "checkpoint.pt", cfg.checkpoint_every, _ExpertWatcher(task)
    )
    return trainer.policy, history


def train_sac_expert(task: Task, cfg: SACConfig, out_dir: Path, seed: int = 0):
    """Train (or resume training) a SAC expert; checkpoints go to `out_dir/sac/`.

    The checkpoint is split: `state.pt` (networks, optimisers, generators, history: a few MB,
    committed, so that a training of many hours can go on from another machine) and `replay.pt`
    (the buffer: gigabytes, never committed). Without `replay.pt` (a fresh clone) training goes
    on with an empty buffer that the current policy refills first (`SACTrainer`).
    """
    trainer = SACTrainer(task.env_id, cfg, seed)
    checkpoint = out_dir / "sac" / "state.pt"
    history, _ = train(trainer, checkpoint, cfg.checkpoint_every, _ExpertWatcher(task, "step"))
    return trainer.final_policy(), history


def train_expert(task: Task, recipe: TRPOExpertConfig | SACConfig, out_dir: Path, seed: int = 0):
    """Train with the recipe's algorithm; returns (policy, history)."""
    if isinstance(recipe, SACConfig):
        return train_sac_expert(task, recipe, out_dir, seed)
    return train_trpo_expert(task, replace(recipe, seed=seed), out_dir)


def evaluate(policy, task: Task, episodes: int, seed: int, deterministic: bool) -> dict:
    """Returns of `episodes` whole episodes of any policy with an `actor(rng)` method."""
    with Sampler(task.env_id, num_envs=min(episodes, 16), seed=seed) as sampler:
        rng = None if deterministic else np.random.default_rng(seed)
        returns = sampler.collect(policy.actor(rng), min_episodes=episodes).episode_returns
    return {
        "episodes": episodes,
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "returns": returns.tolist(),
    }


def save_expert(policy, history: list, task: Task, recipe, out_dir: Path, seed: int = 0) -> dict:
    """Write the expert's weights and its card (training cost, returns over 50 episodes)."""
    algorithm = "sac" if isinstance(recipe, SACConfig) else "trpo"
    card = {
        "task": task.name,
        "env_id": task.env_id,
        "algorithm": algorithm,
        "config": asdict(recipe) | {"seed": seed},
        "env_steps": history[-1]["env_steps"],
        "wall_s": round(history[-1]["wall_s"], 1),
        "deterministic": evaluate(policy, task, 50, seed=seed + 1, deterministic=True),
        "stochastic": evaluate(policy, task, 50, seed=seed + 2, deterministic=False),
        "code_version": code_version(),
        "versions": versions(),
    }
    if algorithm == "sac":
        card["buffer_refilled_at_steps"] = [
            h["env_steps"] - h["length"] for h in history if h.get("buffer_refilled")
        ]
    weights = {"algorithm": algorithm, "config": asdict(recipe), "state_dict": policy.state_dict()}
    store.save_torch(weights, out_dir / "expert.pt")
    store.write_json(out_dir / "card.json", card)
    return card


def load_expert(task: Task, experts_dir: Path = store.RESULTS_DIR / "experts"):
    """The committed expert of `task`, ready for `actor(rng)`."""
    path = experts_dir / task.name / "expert.pt"
    if not path.exists():
        raise UserInputError(
            f"no expert for {task.name} at {path}; train one with "
            f"`python -m benchmark expert train --task {task.name}`"
        )
    saved = store.load_torch(path)
    obs_dim, action_space = env_spaces(task.env_id)
    if saved["algorithm"] == "sac":
        policy = SquashedGaussianActor(
            obs_dim,
            int(np.prod(action_space.shape)),
            action_space.low,
            action_space.high,
            saved["config"]["hidden"],
        )
    else:
        policy = make_policy(obs_dim, action_space)
    try:
        policy.load_state_dict(saved["state_dict"])
    except RuntimeError as err:
        raise UserInputError(
            f"{path} does not fit {task.env_id}'s spaces ({str(err).splitlines()[0]}); "
            "retrain it with `python -m benchmark expert train`"
        ) from None
    return policy
