"""GAIL as today's libraries run it (HumanCompatibleAI/imitation's adversarial trainer): the
paper's discriminator and reward, trained the modern way, with a PPO generator.

What differs from `gail.py` (the paper's GAIL), and why:
- the generator is PPO (`ppo.py`: clipped surrogate, several epochs of minibatches, GAE
  bootstrapped at time-limit cuts), not one TRPO step per batch;
- the discriminator's Adam steps (`disc_updates` a round: 1 by default, the modern profile's
  8) are on minibatches of expert pairs against a buffer of the policy's recent pairs, not on
  the last batch only, so it follows the policy without forgetting the pairs of a few batches
  ago;
- the learned reward is divided by its running standard deviation, so PPO's step sizes need
  not follow the discriminator's confidence (imitation normalises its reward net's output),
  and optionally less its running mean (`reward_center`).

The policy is the paper's (`policies.py`: 100-100 tanh, Gaussian or softmax), so that the
comparison with `gail` is about the training method. `AdversarialPPO` is the loop; AIRL
(`airl.py`) brings another discriminator to it.

One iteration:
  1. sample whole episodes until at least `pairs_per_iteration` pairs (environments seeded by
     (seed, iteration));
  2. reward them with the discriminator, divided by the running std of its rewards;
  3. one PPO update (policy and value);
  4. add the batch to the buffer; `disc_updates` Adam steps of the discriminator, each on
     `disc_minibatch` expert pairs and as many buffer pairs, both drawn with replacement.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from algorithms.data import Pairs, Trajectories
from algorithms.errors import check_choice
from algorithms.gail import REWARD_FORMS, Discriminator, reward_from_logits, uses_log_d
from algorithms.policies import GaussianPolicy, Standardizer, make_policy
from algorithms.ppo import PPOConfig, ValueNet
from algorithms.ppo import update as ppo_update
from algorithms.rollout import batch_charts, env_spaces, sample_iteration

TRANSITION_FIELDS = ("obs", "actions", "next_obs", "terminal")
REWARD_CENTRES = ("never", "fixed_length", "always")


def centres_reward(setting: str, fixed_length: bool) -> bool:
    """Whether the loop subtracts the learned reward's running mean (`reward_center`, one of
    REWARD_CENTRES: the config checks it)."""
    return setting == "always" or (setting == "fixed_length" and fixed_length)


@dataclass(frozen=True)
class GAILPPOConfig:
    iterations: int = 250
    """Rounds (sample, PPO update, discriminator steps): at least 250 x 4,096 = 1M env steps;
    more, since episodes are whole (Hopper near the expert: about 8,000 a round, 8 envs)."""
    pairs_per_iteration: int = 4_096
    """Pairs per round, whole episodes (imitation's tuned Hopper GAIL: 4,096)."""
    num_envs: int = 8
    """Parallel environments of the sampler (only the speed depends on it)."""
    disc_lr: float = 1e-3
    """Adam's learning rate for the discriminator (imitation's default: Adam's own 1e-3)."""
    disc_updates: int = 1
    """Discriminator steps per round (imitation's tuned Hopper GAIL: 8, with whole expert
    episodes; on the paper's ~50 pairs per trajectory, 8 let D separate the expert's 200 pairs
    of Hopper n4 at once and the reward went flat: 0.02 normalised after 136k env steps, against
    0.18 with 1 step, the paper's count per iteration). The modern profile sets 8 with the R1
    penalty, which keeps the discriminator from winning so; with 1 step on Reacher the policy's
    spread collapsed (entropy 2.8 to 1.9 by round 30) before the reward had a shape to follow,
    and the discriminator then won all the same (docs/results-modern.md)."""
    disc_minibatch: int = 128
    """Expert pairs per discriminator step, and as many policy pairs (imitation's tuned Hopper
    GAIL demo_batch_size: 128)."""
    buffer_pairs: int = 4_096
    """The policy's most recent pairs that the discriminator learns from (imitation's tuned
    Hopper GAIL gen_replay_buffer_capacity: 4,096)."""
    grad_penalty: float = 0.0
    """Weight of the R1 penalty (Mescheder et al. 2018) in the discriminator's loss: the mean
    squared norm of the logit's gradient with respect to its inputs on expert pairs. 0 (off) as
    imitation, which keeps the records made before it; the modern profile sets 10, with which
    Walker2d went from 0.22 to 0.61 and HalfCheetah from 0.55 to 0.75 at 250 rounds, 4
    trajectories (HalfCheetah 1.01 at 500; docs/results-modern.md)."""
    reward: str = "auto"
    """"-log(1-D)", "log(D)", or "auto": log(D) where reaching the goal ends the episode (as
    `gail.py`, for the same reason)."""
    reward_center: str = "never"
    """Whether the learned reward, divided by its running std, also has its running mean
    subtracted: "never" (imitation's default), "always" (imitation's RunningNorm output layer),
    or "fixed_length": only where no episode ends early (Reacher, HalfCheetah). An offset in
    the reward (every pair's -log(1 - D) is log 2 at first, and divided by a running std that
    starts near 0 it is thousands) reaches the value function through the bootstrap at the
    time-limit cut, V = offset / (1 - gamma), whose errors then outweigh the discriminator's
    signal in the advantages. Where falling ends the episode the offset is the paper's GAIL's
    own reward for staying up, and stays. The modern profile sets "fixed_length"
    (docs/results-modern.md has the measurements)."""
    ppo: PPOConfig = PPOConfig()

    def __post_init__(self):
        check_choice("reward", self.reward, REWARD_FORMS)
        check_choice("reward_center", self.reward_center, REWARD_CENTRES)


class GAILDiscriminator(torch.nn.Module):
    """The paper's discriminator (`gail.Discriminator`) behind the interface of the loop:
    `logits(transitions, log_pi)` = log D / (1 - D), `reward(logits, log_pi)`."""

    def __init__(self, expert: Pairs, action_space, ends_on_success: bool, cfg: GAILPPOConfig):
        super().__init__()
        self.inner = Discriminator(expert.obs.shape[1], action_space)
        self.inner.update_standardizer(expert.obs, expert.actions)
        self.log_d = uses_log_d(cfg.reward, ends_on_success)

    def logits(self, t: dict[str, torch.Tensor], log_pi: torch.Tensor) -> torch.Tensor:
        return self.inner.logits(t["obs"], t["actions"])

    def reward(self, logits: torch.Tensor, log_pi: torch.Tensor) -> torch.Tensor:
        return reward_from_logits(logits, self.log_d)

    def update_standardizer(self, batch: Trajectories) -> None:
        self.inner.update_standardizer(batch.obs, batch.actions)

    def varied_inputs(self) -> dict[str, torch.Tensor]:
        """Per real-valued input, 1.0 for each column that has varied in the data seen."""
        varied = self.inner.input_norm.varied
        if self.inner.n_actions:
            return {"obs": varied}
        obs_dim = self.inner.obs_dim
        return {"obs": varied[:obs_dim], "actions": varied[obs_dim:]}


def transitions(source: Trajectories | Pairs, rows=slice(None)) -> dict[str, torch.Tensor]:
    """(s, a, s', terminal) of some rows, as tensors (s' and terminal where the source has them:
    expert pairs kept without whole episodes do not)."""
    present = [name for name in TRANSITION_FIELDS if getattr(source, name) is not None]
    return {name: torch.as_tensor(getattr(source, name)[rows]) for name in present}


class AdversarialPPO:
    """The trainer of one run: `make_discriminator(expert, action_space)` builds the method's
    discriminator (a module with `logits`, `reward` and `update_standardizer`)."""

    def __init__(
        self,
        env_id: str,
        expert: Pairs,
        make_discriminator: Callable,
        cfg,
        seed: int,
        num_threads: int | None = None,
        fixed_length: bool = False,
    ):
        self.env_id, self.cfg, self.seed, self.num_threads = env_id, cfg, seed, num_threads
        self.centre = centres_reward(cfg.reward_center, fixed_length)
        obs_dim, action_space = env_spaces(env_id)
        self.expert = expert
        torch.manual_seed(seed + 1)
        self.discriminator = make_discriminator(expert, action_space)
        torch.manual_seed(seed)
        self.policy = make_policy(obs_dim, action_space)
        self.value_fn = ValueNet(obs_dim)
        # As the paper's learners: the standardisers start from the expert's observations.
        self.policy.obs_norm.update(expert.obs)
        self.value_fn.obs_norm.update(expert.obs)
        self.reward_norm = Standardizer(1, clip=float("inf"))
        # Fused: one kernel for all parameters instead of a loop of small ones; PPO's ~300
        # Adam steps a round made the per-tensor loop a fifth of the update's CPU time.
        self.optimizer = torch.optim.Adam(
            [*self.policy.parameters(), *self.value_fn.net.parameters()], lr=cfg.ppo.lr, fused=True
        )
        self.disc_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.disc_lr)
        self.buffer = {name: np.zeros((0,)) for name in TRANSITION_FIELDS}
        self.rng = np.random.default_rng(seed)
        self.iteration, self.env_steps, self.wall_s = 0, 0, 0.0

    @property
    def iterations(self) -> int:
        return self.cfg.iterations

    def final_policy(self):
        return self.policy

    def learned_reward(self, batch: Trajectories) -> np.ndarray:
        """The discriminator's reward of every pair of `batch` (before normalisation)."""
        t = transitions(batch)
        with torch.no_grad():
            log_pi = self.policy.log_prob(self.policy.dist_params(t["obs"]), t["actions"])
            logits = self.discriminator.logits(t, log_pi)
            return self.discriminator.reward(logits, log_pi).double().numpy()

    def iterate(self) -> dict[str, float]:
        """One round; returns its metrics (the true return is the environment's)."""
        tick = time.perf_counter()
        batch, timing = sample_iteration(
            self.policy.actor(self.rng),
            self.env_id,
            self.cfg.num_envs,
            self.seed,
            self.iteration,
            self.cfg.pairs_per_iteration,
            self.num_threads,
        )
        sampled = time.perf_counter()
        learned = self.learned_reward(batch)
        self.reward_norm.update(learned[:, None])
        offset = self.reward_norm.mean.item() if self.centre else 0.0
        rewards = (learned - offset) / self.reward_norm.std.item()
        stats = ppo_update(
            self.policy, self.value_fn, self.optimizer, batch, rewards, self.cfg.ppo, self.rng
        )
        stepped = time.perf_counter()
        self._remember(batch)
        stats |= self._fit_discriminator()
        done = time.perf_counter()
        self.iteration += 1
        self.env_steps += batch.num_steps
        self.wall_s += done - tick
        if isinstance(self.policy, GaussianPolicy):
            stats["charts/policy_log_std"] = self.policy.log_std.mean().item()
        return {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_s": self.wall_s,
            **batch_charts(batch),
            "charts/learned_reward": float(learned.mean()),
            **timing,
            "time/policy_s": stepped - sampled,
            "time/reward_fit_s": done - stepped,
        } | stats

    def _remember(self, batch: Trajectories) -> None:
        """The buffer keeps the policy's most recent `buffer_pairs` transitions; the
        discriminator's input standardiser takes in every policy batch (the expert's pairs
        only at the start, where `gail.py` adds as many expert pairs as policy pairs each time)."""
        self.discriminator.update_standardizer(batch)
        for name in TRANSITION_FIELDS:
            new = getattr(batch, name)
            old = self.buffer[name] if len(self.buffer[name]) else new[:0]
            self.buffer[name] = np.concatenate([old, new])[-self.cfg.buffer_pairs :]

    def _fit_discriminator(self) -> dict[str, float]:
        """`disc_updates` steps of the class-balanced logistic loss (expert 1, policy 0)."""
        n = self.cfg.disc_minibatch
        labels = torch.cat([torch.ones(n), torch.zeros(n)])
        buffered = Pairs(**self.buffer)
        for _ in range(self.cfg.disc_updates):
            expert_rows = self.rng.integers(0, len(self.expert), n)
            policy_rows = self.rng.integers(0, len(buffered), n)
            both = [transitions(self.expert, expert_rows), transitions(buffered, policy_rows)]
            t = {k: torch.cat([both[0][k].to(both[1][k].dtype), both[1][k]]) for k in both[0]}
            with torch.no_grad():  # AIRL's D uses pi(a|s) as a fixed part of the classifier
                log_pi = self.policy.log_prob(self.policy.dist_params(t["obs"]), t["actions"])
            logits = self.discriminator.logits(t, log_pi)
            logistic = F.binary_cross_entropy_with_logits(logits, labels)
            penalty = self.slope(both[0], log_pi[:n]) if self.cfg.grad_penalty else torch.zeros(())
            loss = logistic + self.cfg.grad_penalty * penalty
            self.disc_optimizer.zero_grad()
            loss.backward()
            self.disc_optimizer.step()
        # Measured after the last step on its minibatch, as `gail.py` logs them: a
        # discriminator that wins shows here before the return does.
        with torch.no_grad():
            after = self.discriminator.logits(t, log_pi)
            reward = self.discriminator.reward(after, log_pi)
        # The logistic loss alone, as `gail.py` logs it; the penalty beside it
        return {
            "losses/discriminator_loss": logistic.item(),
            "losses/discriminator_slope": penalty.item(),
            "losses/discriminator_expert_accuracy": (after[:n] > 0).float().mean().item(),
            "losses/discriminator_policy_accuracy": (after[n:] <= 0).float().mean().item(),
            "charts/reward_on_expert": reward[:n].mean().item(),
            "charts/reward_on_policy": reward[n:].mean().item(),
        }

    def slope(self, t: dict[str, torch.Tensor], log_pi: torch.Tensor) -> torch.Tensor:
        """The mean over rows of the squared norm of the logit's gradient with respect to the
        real-valued inputs (observations, continuous actions); pi's part has none.

        Columns that never varied in the data the discriminator's standardiser has seen are left
        out: their standardised value is always 0, and their gradient, divided by the
        standardiser's floor of 1e-4, is 10,000 times their weights. On Ant, some of whose
        contact-force columns never vary, that term held the discriminator's output at a
        constant, D = 0.5 on every pair, for all 250 rounds (docs/results-modern.md). Where every
        column varies (Reacher, Hopper, Walker2d, HalfCheetah) the penalty is unchanged."""
        varied = self.discriminator.varied_inputs()
        t = {k: v.float().requires_grad_() if k in varied else v for k, v in t.items()}
        logits = self.discriminator.logits(t, log_pi)
        names = [k for k in varied if k in t]
        grads = torch.autograd.grad(
            logits.sum(), [t[k] for k in names], create_graph=True, allow_unused=True
        )
        return sum(
            (g * varied[k]).pow(2).reshape(len(g), -1).sum(1)
            for k, g in zip(names, grads, strict=True)
            if g is not None
        ).mean()

    def state_dict(self) -> dict:
        return {
            "policy": self.policy.state_dict(),
            "value_fn": self.value_fn.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "reward_norm": self.reward_norm.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "disc_optimizer": self.disc_optimizer.state_dict(),
            "buffer": {k: torch.as_tensor(v) for k, v in self.buffer.items()},
            "rng": self.rng.bit_generator.state,
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_s": self.wall_s,
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.value_fn.load_state_dict(state["value_fn"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.reward_norm.load_state_dict(state["reward_norm"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.disc_optimizer.load_state_dict(state["disc_optimizer"])
        self.buffer = {k: v.numpy() for k, v in state["buffer"].items()}
        self.rng.bit_generator.state = state["rng"]
        self.iteration, self.env_steps = state["iteration"], state["env_steps"]
        self.wall_s = state["wall_s"]


def make(task, expert: Pairs, cfg: GAILPPOConfig, seed: int, num_threads=None) -> AdversarialPPO:
    """The registry's builder: GAIL's discriminator on the PPO loop."""

    def make_discriminator(expert: Pairs, action_space):
        return GAILDiscriminator(expert, action_space, task.ends_on_success, cfg)

    return AdversarialPPO(
        task.env_id, expert, make_discriminator, cfg, seed, num_threads, task.fixed_length
    )
