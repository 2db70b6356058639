"""AIRL (Fu, Luo & Levine 2018): adversarial imitation whose discriminator has the form of a
reward, so that the reward it learns is a reward and not only a classifier's score.

    f(s, a, s') = g(s) + gamma h(s') - h(s)          g: state-only reward, h: potential
    D(s, a, s') = exp(f) / (exp(f) + pi(a|s))        = sigmoid(f - log pi(a|s))
    Fu's reward = log D - log(1 - D)                 = f - log pi(a|s)

h(s') = 0 after termination: no state follows it, and a potential there would let the shaping
term pay for falling over. After a time-limit cut, s' is a real state and h(s') stays.
Fu's reward f - log pi is the entropy-regularised RL reward whose optimum is the expert's
policy; g alone is the disentangled reward (state-only, as the paper recommends for transfer).
That reward has no fixed sign, and once the discriminator wins it is negative on the policy's
pairs on average (about -KL(pi || expert)): where falling ends the episode (Hopper, Walker2d,
Ant, Humanoid), a negative reward per step pays the policy to fall sooner. imitation, whose
AIRL gives the generator f, benchmarks it only on fixed-horizon tasks (seals), where no such
incentive exists. So the generator's reward is a setting (`reward`): by default GAIL's rule for
the same discriminator output, -log(1 - D) = softplus(f - log pi) > 0, or log D where reaching a
goal ends the episode; "logit" is Fu's f - log pi, "f" imitation's. On Reacher (fixed length)
the default's -log pi, an entropy bonus, outran f: the policy's log-std rose to +4 and +6.7 and
it scored -1.67 with 4 trajectories; with "f" 0.85 (HalfCheetah 0.90 against 0.71;
docs/results-modern.md).

Measured on Hopper with 4 trajectories, 250 rounds of 4,096 pairs, seed 0 (normalised return of
the final policy; `python -m benchmark run --task hopper --algo airl --n-traj 4 --profile modern`
with the two settings varied through a profile's [learners] table, 2026-12-02):
Fu's reward with 1 discriminator step 0.26 (1.78M env steps), with 16 steps -0.00 (1.03M: its
episodes stayed short, the policy fell); -log(1 - D) with 16 steps 1.07 (1.70M env steps,
468 CPU-s), the defaults.

On Walker2d and HalfCheetah those defaults stayed far from the expert (0.28 and 0.22 at 250
rounds): the discriminator told every pair apart, and f alone, a function of states, did it
(`python -m benchmark analyse airl_logit`). With the R1 penalty on f (`grad_penalty` = 10: the
modern profile's setting), Walker2d 0.85 at 250 rounds and 0.96 at 500 (3.19M env steps, 1,071
CPU-s), HalfCheetah 0.85 at 250, Hopper 0.93 at 250 (docs/results-modern.md). The reward's
-log pi is an entropy bonus: with it the policy's log-std rose to about +2.4 on Walker2d, so
its sampled actions mostly lie beyond the action bounds and are clipped there; the evaluation's
deterministic actions (the mean, clipped) are what score 0.96.

The generator is the PPO loop of `gail_ppo.py` (the same sampling, PPO update, buffer and
reward normalisation as `gail_ppo`); only the discriminator differs. Defaults name their source:
HumanCompatibleAI/imitation's tuned AIRL for seals/Hopper where it has one.
"""

from dataclasses import dataclass

import torch

from algorithms.data import Pairs, Trajectories
from algorithms.errors import UserInputError, check_choice
from algorithms.gail import reward_from_logits, uses_log_d
from algorithms.gail_ppo import REWARD_CENTRES, AdversarialPPO
from algorithms.policies import Standardizer, mlp
from algorithms.ppo import PPOConfig

AIRL_REWARD_FORMS = ("auto", "logit", "f", "-log(1-D)", "log(D)")


@dataclass(frozen=True)
class AIRLConfig:
    iterations: int = 250
    """Rounds (sample, PPO update, discriminator steps): at least 250 x 4,096 = 1M env steps;
    more, since episodes are whole (Hopper near the expert: about 8,000 a round, 8 envs)."""
    pairs_per_iteration: int = 4_096
    """Pairs per round, whole episodes (the same as `gail_ppo`, for a like comparison)."""
    num_envs: int = 8
    """Parallel environments of the sampler (only the speed depends on it)."""
    disc_lr: float = 1e-3
    """Adam's learning rate for g and h (imitation's default: Adam's own 1e-3)."""
    disc_updates: int = 16
    """Discriminator steps per round (imitation's tuned Hopper AIRL: 16). Unlike GAIL's, AIRL's
    logit starts far from 0: f = 0 at initialisation, so D = sigmoid(-log pi) calls nearly every
    pair the expert's, and with 1 step per round (as `gail_ppo`) it never caught up on Hopper with
    4 trajectories (policy pairs classified correctly 0-1% for 0.65M env steps; 0.26 normalised
    after 1.78M); with 16, 1.07 after 1.70M (the module docstring's measurements)."""
    disc_minibatch: int = 512
    """Expert pairs per discriminator step, and as many policy pairs (imitation's tuned Hopper
    AIRL: 2,048; 512 because a few trajectories hold only about 200 pairs)."""
    buffer_pairs: int = 8_192
    """The policy's most recent pairs that the discriminator learns from (imitation's tuned
    Hopper AIRL gen_replay_buffer_capacity: 8,192)."""
    grad_penalty: float = 0.0
    """Weight of the R1 penalty on the discriminator (as `gail_ppo`'s; here on f, the learned
    part: log pi has no gradient in D's fit). 0 (off) as imitation, which keeps the records made
    before it; the modern profile sets 10, which lifted Walker2d from 0.28 to 0.85 and
    HalfCheetah from 0.22 to 0.85 at 250 rounds (the module docstring)."""
    reward: str = "auto"
    """The generator's reward from the logit f - log pi: "logit" (Fu's: the logit itself),
    "f" (imitation's: the logit without -log pi, so without its entropy bonus), "-log(1-D)",
    "log(D)", or "auto" (GAIL's rule: log(D) where reaching the goal ends the episode, else
    -log(1-D)); the module docstring says why not Fu's by default."""
    reward_center: str = "never"
    """As `gail_ppo`'s: whether the loop subtracts the learned reward's running mean."""
    ppo: PPOConfig = PPOConfig()

    def __post_init__(self):
        check_choice("reward", self.reward, AIRL_REWARD_FORMS)
        check_choice("reward_center", self.reward_center, REWARD_CENTRES)


class AIRLDiscriminator(torch.nn.Module):
    """g(s) and h(s): 100-100 tanh MLPs (the paper's width) on standardised observations."""

    def __init__(self, expert: Pairs, gamma: float, reward: str, ends_on_success: bool):
        super().__init__()
        if expert.next_obs is None:
            raise UserInputError(
                "AIRL needs each expert pair's next observation; this task's dataset keeps only "
                "subsampled pairs (Task.whole_episodes = False): remake it with whole episodes"
            )
        obs_dim = expert.obs.shape[1]
        self.gamma = gamma
        self.form = reward
        self.log_d = uses_log_d(reward, ends_on_success)
        self.obs_norm = Standardizer(obs_dim)
        self.obs_norm.update(expert.obs)
        self.g = mlp(obs_dim, 1)
        self.h = mlp(obs_dim, 1)

    def f(self, obs: torch.Tensor, next_obs: torch.Tensor, terminal: torch.Tensor):
        """g(s) + gamma h(s') - h(s), with h(s') = 0 where the episode terminated."""
        s, s_next = self.obs_norm(obs), self.obs_norm(next_obs)
        h_next = self.h(s_next)[:, 0] * (~terminal.bool()).float()
        return self.g(s)[:, 0] + self.gamma * h_next - self.h(s)[:, 0]

    def logits(self, t: dict[str, torch.Tensor], log_pi: torch.Tensor) -> torch.Tensor:
        """log D / (1 - D) = f - log pi."""
        return self.f(t["obs"], t["next_obs"], t["terminal"]) - log_pi

    def reward(self, logits: torch.Tensor, log_pi: torch.Tensor) -> torch.Tensor:
        if self.form == "logit":  # Fu's log D - log(1 - D) is the logit itself
            return logits
        if self.form == "f":
            return logits + log_pi
        return reward_from_logits(logits, self.log_d)

    def update_standardizer(self, batch: Trajectories) -> None:
        self.obs_norm.update(batch.obs)

    def varied_inputs(self) -> dict[str, torch.Tensor]:
        """Per real-valued input, 1.0 for each column that has varied in the data seen."""
        return {"obs": self.obs_norm.varied, "next_obs": self.obs_norm.varied}


def make(task, expert: Pairs, cfg: AIRLConfig, seed: int, num_threads=None) -> AdversarialPPO:
    """The registry's builder: AIRL's discriminator on the PPO loop of `gail_ppo`."""

    def make_discriminator(expert: Pairs, action_space):
        return AIRLDiscriminator(expert, cfg.ppo.gamma, cfg.reward, task.ends_on_success)

    return AdversarialPPO(
        task.env_id, expert, make_discriminator, cfg, seed, num_threads, task.fixed_length
    )
