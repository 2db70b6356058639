"""Soft actor-critic (Haarnoja et al. 2018, with a learned temperature), for expert training only.

TRPO on 50,000-pair batches needs tens of millions of steps on the hard MuJoCo tasks; SAC reuses
every step from a replay buffer and reaches expert returns in about a million. The imitation
algorithms never use it: it only produces the experts whose trajectories they imitate.

The training loop is resumable bit for bit: it checkpoints only between episodes, and every
episode starts from a reset seeded by (seed, episode number), so the state of the simulator is
never needed; the checkpoint holds the networks, optimisers, temperature, replay buffer and
generator states.
"""

import math
import time
import warnings
from dataclasses import asdict, dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from algorithms.errors import UserInputError
from algorithms.rollout import derived_seed


@dataclass(frozen=True)
class SACConfig:
    total_steps: int = 1_000_000
    """Environment steps (one gradient update per step after `start_steps`)."""
    start_steps: int = 10_000
    """Initial steps with uniformly random actions, to fill the buffer."""
    batch_size: int = 256
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    """Polyak rate of the target critics."""
    hidden: int = 256
    """Width of the two hidden layers of actor and critics."""
    buffer_size: int = 1_000_000
    checkpoint_every: int = 25_000
    """Environment steps between checkpoints (taken at the next episode end)."""


LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class SquashedGaussianActor(nn.Module):
    """tanh(Gaussian) scaled to the action box; the policy a SAC expert samples datasets with."""

    def __init__(self, obs_dim: int, act_dim: int, low: np.ndarray, high: np.ndarray, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.mean = nn.Linear(hidden, act_dim)
        self.log_std = nn.Linear(hidden, act_dim)
        self.register_buffer("scale", torch.as_tensor((high - low) / 2, dtype=torch.float32))
        self.register_buffer("center", torch.as_tensor((high + low) / 2, dtype=torch.float32))

    def _mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(obs)
        return self.mean(h), self.log_std(h).clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised action and its log-density (with the tanh change of variables)."""
        mean, log_std = self._mean_log_std(obs)
        noise = torch.randn_like(mean)
        pre_tanh = mean + log_std.exp() * noise
        squashed = torch.tanh(pre_tanh)
        log_prob = (-0.5 * noise**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        # log(1 - tanh(u)^2) written stably as 2 (log 2 - u - softplus(-2u)).
        log_prob -= (2 * (math.log(2) - pre_tanh - F.softplus(-2 * pre_tanh))).sum(-1)
        log_prob -= torch.log(self.scale).sum()
        return squashed * self.scale + self.center, log_prob

    def actor(self, rng: np.random.Generator | None = None):
        """Numpy snapshot for the sampler (see Policy.actor); `rng=None` acts with tanh(mean)."""
        params = [p.detach().numpy().copy() for p in self.parameters()]
        w1, b1, w2, b2, wm, bm, ws, bs = params
        scale, center = self.scale.numpy(), self.center.numpy()

        def act(obs: np.ndarray) -> np.ndarray:
            h = np.maximum(obs.astype(np.float32) @ w1.T + b1, 0)
            h = np.maximum(h @ w2.T + b2, 0)
            pre_tanh = h @ wm.T + bm
            if rng is not None:
                std = np.exp(np.clip(h @ ws.T + bs, LOG_STD_MIN, LOG_STD_MAX))
                pre_tanh = pre_tanh + std * rng.standard_normal(pre_tanh.shape, np.float32)
            return np.tanh(pre_tanh) * scale + center

        return act


class TwinCritic(nn.Module):
    """Two Q-networks evaluated as one batched matmul per layer (half the per-op overhead)."""

    def __init__(self, in_dim: int, hidden: int, copies: int = 2):
        super().__init__()
        self.layers = nn.ParameterList()
        for fan_in, fan_out in ((in_dim, hidden), (hidden, hidden), (hidden, 1)):
            # nn.Linear's default initialisation, per copy.
            bound = 1 / math.sqrt(fan_in)
            self.layers.append(
                nn.Parameter(torch.empty(copies, fan_in, fan_out).uniform_(-bound, bound))
            )
            self.layers.append(
                nn.Parameter(torch.empty(copies, 1, fan_out).uniform_(-bound, bound))
            )

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """Q-values, shape (copies, batch)."""
        h = torch.cat([obs, act], -1).expand(self.layers[0].shape[0], -1, -1)
        weights = list(self.layers)
        for i in range(0, len(weights), 2):
            h = torch.baddbmm(weights[i + 1], h, weights[i])
            if i + 2 < len(weights):
                h = F.relu(h)
        return h.squeeze(-1)


class ReplayBuffer:
    def __init__(self, obs_dim: int, act_dim: int, size: int):
        self.obs = np.zeros((size, obs_dim), np.float32)
        self.next_obs = np.zeros((size, obs_dim), np.float32)
        self.actions = np.zeros((size, act_dim), np.float32)
        self.rewards = np.zeros(size, np.float32)
        self.terminated = np.zeros(size, np.float32)
        self.count = 0

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        i = self.count % len(self.obs)
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self.count += 1

    def sample(self, rng: np.random.Generator, n: int) -> list[torch.Tensor]:
        idx = rng.integers(0, min(self.count, len(self.obs)), n)
        return [
            torch.from_numpy(a[idx])
            for a in (self.obs, self.actions, self.rewards, self.next_obs, self.terminated)
        ]

    def state_dict(self) -> dict:
        n = min(self.count, len(self.obs))
        arrays = ("obs", "next_obs", "actions", "rewards", "terminated")
        # Tensors, not arrays: checkpoints load without unpickling arbitrary objects.
        return {"count": self.count} | {
            k: torch.from_numpy(getattr(self, k)[:n].copy()) for k in arrays
        }

    def load_state_dict(self, state: dict) -> None:
        self.count = state["count"]
        for k in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, k)[: len(state[k])] = np.asarray(state[k])


class SAC:
    """Agent state and one gradient update; `SACTrainer` below drives it against an
    environment (`run_episode`)."""

    def __init__(self, obs_dim: int, action_space: gym.spaces.Box, cfg: SACConfig, seed: int):
        torch.manual_seed(seed)
        act_dim = int(np.prod(action_space.shape))
        self.cfg = cfg
        self.actor = SquashedGaussianActor(
            obs_dim, act_dim, action_space.low, action_space.high, cfg.hidden
        )
        self.critic = TwinCritic(obs_dim + act_dim, cfg.hidden)
        self.target_critic = TwinCritic(obs_dim + act_dim, cfg.hidden)
        self.target_critic.load_state_dict(self.critic.state_dict())
        self.target_critic.requires_grad_(False)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.target_entropy = -float(act_dim)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, fused=True)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, fused=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=cfg.lr, fused=True)
        self.buffer = ReplayBuffer(obs_dim, act_dim, cfg.buffer_size)

    def update(self, rng: np.random.Generator) -> dict[str, float]:
        obs, act, rew, next_obs, terminated = self.buffer.sample(rng, self.cfg.batch_size)
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            next_act, next_logp = self.actor.sample(next_obs)
            next_q = self.target_critic(next_obs, next_act).min(0).values - alpha * next_logp
            # Only a true termination ends the return; a time-limit truncation bootstraps.
            target = rew + self.cfg.gamma * (1 - terminated) * next_q
        critic_loss = ((self.critic(obs, act) - target) ** 2).mean(1).sum()
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        new_act, logp = self.actor.sample(obs)
        self.critic.requires_grad_(False)
        actor_loss = (alpha * logp - self.critic(obs, new_act).min(0).values).mean()
        self.critic.requires_grad_(True)
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()

        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad()
        alpha_loss.backward()
        self.alpha_opt.step()

        with torch.no_grad():
            for target_p, p in zip(
                self.target_critic.parameters(), self.critic.parameters(), strict=True
            ):
                target_p.lerp_(p, self.cfg.tau)
        return {
            "critic_loss": critic_loss.item(),
            "actor_loss": actor_loss.item(),
            "alpha": alpha.item(),
            "entropy": -logp.mean().item(),
        }

    def state_dict(self) -> dict:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "target_critic": self.target_critic.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "alpha_opt": self.alpha_opt.state_dict(),
            "buffer": self.buffer.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.target_critic.load_state_dict(state["target_critic"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.alpha_opt.load_state_dict(state["alpha_opt"])
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])


def run_episode(agent: SAC, env: gym.Env, seed: int, episode: int, step: int, rng) -> tuple:
    """One training episode: act, store, update once per step. Returns (steps, return, stats)."""
    obs, _ = env.reset(seed=derived_seed(seed, episode))
    episode_return, length, stats = 0.0, 0, {}
    while True:
        if step + length < agent.cfg.start_steps:
            action = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        else:
            with torch.no_grad():
                action = agent.actor.sample(torch.as_tensor(obs, dtype=torch.float32)[None])[0]
            action = action[0].numpy()
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.buffer.add(obs, action, reward, next_obs, float(terminated))
        episode_return += float(reward)
        length += 1
        # The buffer's count, not the step, so that a buffer lost on resume is refilled first.
        if agent.buffer.count >= agent.cfg.start_steps:
            stats = agent.update(rng)
        obs = next_obs
        if terminated or truncated:
            return length, episode_return, stats


class SACTrainer:
    """SAC as a trainer of the harness: `iteration` counts environment steps, and each
    `iterate()` runs one whole episode (so a budget is reached at the first episode end past it).

    Its state's "buffer" (up to gigabytes) is one part the harness keeps apart from the rest
    (`benchmark.training`); restored without it, as from a fresh clone, training goes on with an
    empty buffer that `run_episode` refills with the current policy before updating again, and
    the next row says so (`buffer_refilled`)."""

    state_apart = (("agent", "buffer"), "replay.pt")
    """The state's entry the harness keeps in a file of its own, and that file's name."""

    def __init__(self, env_id: str, cfg: SACConfig, seed: int):
        self.env = gym.make(env_id)
        obs_dim = self.env.observation_space.shape[0]
        self.agent = SAC(obs_dim, self.env.action_space, cfg, seed)
        self.cfg, self.seed, self.rng = cfg, seed, np.random.default_rng(seed)
        self.iteration, self.episode, self.wall_s, self.refilling = 0, 0, 0.0, False

    @property
    def iterations(self) -> int:
        return self.cfg.total_steps

    def final_policy(self) -> SquashedGaussianActor:
        return self.agent.actor

    def iterate(self) -> dict:
        tick = time.perf_counter()
        length, episode_return, stats = run_episode(
            self.agent, self.env, self.seed, self.episode, self.iteration, self.rng
        )
        self.iteration, self.episode = self.iteration + length, self.episode + 1
        self.wall_s += time.perf_counter() - tick
        refilled = {"buffer_refilled": True} if self.refilling else {}
        self.refilling = False
        row = {"env_steps": self.iteration, "wall_s": self.wall_s, "return": episode_return}
        return row | {"length": length} | stats | refilled

    def state_dict(self) -> dict:
        return {
            "agent": self.agent.state_dict(),
            "config": asdict(self.cfg),
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "step": self.iteration,
            "episode": self.episode,
            "wall_s": self.wall_s,
        }

    def load_state_dict(self, state: dict) -> None:
        # A longer budget or other checkpoint spacing continues the same training; anything
        # else would silently mix two recipes in one expert.
        changed = sorted(
            key
            for key, value in asdict(self.cfg).items()
            if key not in ("total_steps", "checkpoint_every") and state["config"][key] != value
        )
        if changed:
            raise UserInputError(
                f"the checkpoint was trained with another SAC config ({', '.join(changed)} "
                "differ); restore the recipe or delete the checkpoint to train from scratch"
            )
        if "buffer" not in state["agent"]:
            warnings.warn(
                f"no replay buffer beside the checkpoint; going on from step {state['step']} "
                f"with the buffer refilled by {self.cfg.start_steps} steps of the current policy",
                stacklevel=2,
            )
            self.refilling = True
        self.agent.load_state_dict(state["agent"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.iteration, self.episode = state["step"], state["episode"]
        self.wall_s = state["wall_s"]
