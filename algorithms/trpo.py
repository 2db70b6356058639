"""TRPO with the paper's settings: GAE, a natural-gradient step found by conjugate gradient on
Fisher-vector products, a backtracking line search with a KL wall, and a value function fitted by
the same kind of trust-region step.

Episodes are treated as finite-horizon: the value function sees t / time_limit, and no episode is
bootstrapped past its end, neither at termination nor at the time limit (the return left at the
time limit really is 0 for a policy that is scored over a fixed horizon).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from algorithms.data import Trajectories
from algorithms.policies import Policy, Standardizer, mlp


@dataclass(frozen=True)
class TRPOConfig:
    gamma: float = 0.995
    """Discount factor."""
    lam: float = 0.97
    """GAE lambda."""
    max_kl: float = 0.01
    """Trust region: mean KL(old || new) of the policy after a step."""
    damping: float = 0.1
    """Multiple of the identity added to the Fisher matrix."""
    cg_iters: int = 10
    """Conjugate-gradient iterations for the step direction."""
    fvp_subsample: float = 0.1
    """Fraction of the batch on which Fisher-vector products are computed."""
    backtrack_steps: int = 10
    """Line search: at most this many halvings of the step."""
    backtrack_shrink: float = 0.5
    accept_ratio: float = 0.1
    """Line search: accept a step that achieves this fraction of the linear improvement."""
    vf_max_change: float = 0.01
    """Value trust region: mean squared change of the standardised predictions."""
    vf_damping: float = 0.1


# ---------------------------------------------------------------- returns and advantages


def discounted_cumsum(x: np.ndarray, lengths: np.ndarray, discount: float) -> np.ndarray:
    """y[t] = sum_k discount^k x[t+k] within each episode (episodes concatenated in x)."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # Pad episodes into rows and sweep all of them backwards at once.
    t = np.arange(len(x)) - np.repeat(starts, lengths)
    row = np.repeat(np.arange(len(lengths)), lengths)
    padded = np.zeros((len(lengths), int(lengths.max(initial=0)) + 1))
    padded[row, t] = x
    for k in range(padded.shape[1] - 2, -1, -1):
        padded[:, k] += discount * padded[:, k + 1]
    return padded[row, t]


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    lengths: np.ndarray,
    gamma: float,
    lam: float,
    last_values: np.ndarray | None = None,
) -> np.ndarray:
    """Generalised advantage estimates; `last_values` is the value after each episode's end."""
    ends = np.cumsum(lengths) - 1
    next_values = np.append(values[1:], 0.0)
    next_values[ends] = 0.0 if last_values is None else last_values
    deltas = rewards + gamma * next_values - values
    return discounted_cumsum(deltas, lengths, gamma * lam)


# ---------------------------------------------------------------- the trust-region step


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, iters: int, tol=1e-10
) -> torch.Tensor:
    """Approximately solve A x = b for symmetric positive-definite A given as x -> A x."""
    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()
    rr = r @ r
    for _ in range(iters):
        if rr < tol:
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def flat_grad(
    y: torch.Tensor, params: list[nn.Parameter], create_graph=False, retain_graph=None
) -> torch.Tensor:
    grads = torch.autograd.grad(y, params, create_graph=create_graph, retain_graph=retain_graph)
    return torch.cat([g.reshape(-1) for g in grads])


def get_flat(params: list[nn.Parameter]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def set_flat(params: list[nn.Parameter], flat: torch.Tensor) -> None:
    i = 0
    with torch.no_grad():
        for p in params:
            p.copy_(flat[i : i + p.numel()].view_as(p))
            i += p.numel()


def hessian_vector_product(
    divergence: Callable[[], torch.Tensor], params: list[nn.Parameter], damping: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """v -> (H + damping I) v, H the Hessian of `divergence` at the current parameters.

    For the KL between the old and the new policy, H at the old parameters is the Fisher matrix.
    """
    grad = flat_grad(divergence(), params, create_graph=True)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        # retain_graph: every product of the conjugate-gradient solve reuses the graph of `grad`.
        return flat_grad(grad @ v, params, retain_graph=True) + damping * v

    return hvp


def trust_region_step(
    params: list[nn.Parameter],
    loss: Callable[[], torch.Tensor],
    divergence: Callable[[], torch.Tensor],
    divergence_for_hessian: Callable[[], torch.Tensor],
    max_divergence: float,
    damping: float,
    cfg: TRPOConfig,
) -> dict[str, float]:
    """Minimise `loss` subject to `divergence` <= max_divergence, one natural-gradient step.

    The step direction solves (H + damping I) x = -g by conjugate gradient; it is scaled so
    that the quadratic model of the divergence equals the bound, then shortened by
    backtracking until the loss improves by at least `accept_ratio` of the linear prediction
    and the divergence stays below twice the bound. If no length passes, nothing changes.
    """
    x0 = get_flat(params)
    loss0 = loss()
    g = flat_grad(loss0, params)
    stats = {"loss_before": loss0.item(), "grad_norm": g.norm().item()}
    if g.abs().max() < 1e-6:  # already at a stationary point: a step would only add noise
        return stats | {"loss_after": stats["loss_before"], "divergence": 0.0, "backtracks": -1}
    hvp = hessian_vector_product(divergence_for_hessian, params, damping)
    direction = conjugate_gradient(hvp, -g, cfg.cg_iters)
    quad = 0.5 * direction @ hvp(direction)
    full_step = direction / torch.sqrt(quad / max_divergence + 1e-8)
    expected = (g @ full_step).item()
    for k in range(cfg.backtrack_steps):
        fraction = cfg.backtrack_shrink**k
        set_flat(params, x0 + fraction * full_step)
        with torch.no_grad():
            new_loss, div = loss().item(), divergence().item()
        # The step was sized by the quadratic model of the KL, which the true KL only
        # approximates: the authors' wall is twice the target, not the target itself, so that
        # the model's error does not reject steps it sized right (protocol.md).
        if div <= 2 * max_divergence and new_loss - stats["loss_before"] <= (
            cfg.accept_ratio * fraction * expected
        ):
            return stats | {"loss_after": new_loss, "divergence": div, "backtracks": k}
    set_flat(params, x0)
    return stats | {"loss_after": stats["loss_before"], "divergence": 0.0, "backtracks": -1}


# ---------------------------------------------------------------- policy and value updates


def _subsample(n: int, fraction: float, rng: np.random.Generator) -> torch.Tensor:
    return torch.as_tensor(rng.choice(n, size=max(1, int(fraction * n)), replace=True))


def policy_step(
    policy: Policy,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    cfg: TRPOConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """One TRPO step on the surrogate mean(pi/pi_old * A) within mean KL <= max_kl."""
    obs_t = torch.as_tensor(obs, dtype=torch.float32)
    act_t = torch.as_tensor(actions)
    adv_t = torch.as_tensor(advantages, dtype=torch.float32)
    with torch.no_grad():
        old = policy.dist_params(obs_t)
        old_logp = policy.log_prob(old, act_t)
    sub = _subsample(len(obs), cfg.fvp_subsample, rng)
    params = [p for p in policy.parameters() if p.requires_grad]

    def surrogate_loss():
        logp = policy.log_prob(policy.dist_params(obs_t), act_t)
        return -(torch.exp(logp - old_logp) * adv_t).mean()

    def kl():
        return policy.kl(old, policy.dist_params(obs_t)).mean()

    def kl_subsample():
        return policy.kl(old[sub], policy.dist_params(obs_t[sub])).mean()

    stats = trust_region_step(
        params, surrogate_loss, kl, kl_subsample, cfg.max_kl, cfg.damping, cfg
    )
    with torch.no_grad():
        entropy = policy.entropy(policy.dist_params(obs_t)).mean().item()
    return {
        "losses/surrogate_improvement": stats["loss_before"] - stats["loss_after"],
        "losses/kl": stats["divergence"],
        "losses/entropy": entropy,
        "losses/policy_grad_norm": stats["grad_norm"],
        "losses/backtracks": stats["backtracks"],
    }


class ValueFunction(nn.Module):
    """V(s, t): the paper's 100-100 tanh MLP on standardised observations and t / time_limit,
    predicting standardised returns."""

    def __init__(self, obs_dim: int, time_limit: int):
        super().__init__()
        self.time_limit = time_limit
        self.obs_norm = Standardizer(obs_dim)
        self.target_norm = Standardizer(1, clip=float("inf"))
        self.net = mlp(obs_dim + 1, 1)

    def _standardised(self, obs: np.ndarray, timesteps: np.ndarray) -> torch.Tensor:
        x = self.obs_norm(torch.as_tensor(obs, dtype=torch.float32))
        t = torch.as_tensor(timesteps / self.time_limit, dtype=torch.float32)[:, None]
        return self.net(torch.cat([x, t], dim=1))[:, 0]

    @torch.no_grad()
    def predict(self, obs: np.ndarray, timesteps: np.ndarray) -> np.ndarray:
        z = self._standardised(obs, timesteps).double()
        return (z * self.target_norm.std + self.target_norm.mean).numpy()

    def fit(
        self,
        obs: np.ndarray,
        timesteps: np.ndarray,
        targets: np.ndarray,
        cfg: TRPOConfig,
        rng: np.random.Generator,
    ) -> dict[str, float]:
        """One trust-region step on the squared error to `targets`."""
        self.obs_norm.update(obs)
        self.target_norm.update(targets[:, None])
        y = ((torch.as_tensor(targets) - self.target_norm.mean) / self.target_norm.std).float()
        with torch.no_grad():
            old = self._standardised(obs, timesteps)
        sub = _subsample(len(obs), cfg.fvp_subsample, rng)
        params = list(self.net.parameters())

        def squared_error():
            return ((self._standardised(obs, timesteps) - y) ** 2).mean()

        def change():
            return ((self._standardised(obs, timesteps) - old) ** 2).mean()

        def change_subsample():
            return ((self._standardised(obs[sub], timesteps[sub]) - old[sub]) ** 2).mean()

        stats = trust_region_step(
            params, squared_error, change, change_subsample, cfg.vf_max_change, cfg.vf_damping, cfg
        )
        explained = 1 - stats["loss_after"] / max(y.var().item(), 1e-8)
        return {"losses/value_loss": stats["loss_after"], "losses/value_explained_var": explained}


def improve_policy(
    policy: Policy,
    value_fn: ValueFunction,
    trajectories: Trajectories,
    rewards: np.ndarray,
    cfg: TRPOConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Steps 3-5 of the paper's iteration for a batch rewarded with `rewards`: GAE advantages
    (standardised), one TRPO step, then the policy's observation standardiser updated with the
    batch."""
    values = value_fn.predict(trajectories.obs, trajectories.timesteps)
    # No bootstrap at the time limit either (last values 0): the authors' finite-horizon view;
    # the value sees t / time_limit, so an episode's approaching end is in its input.
    advantages = gae(rewards, values, trajectories.lengths, cfg.gamma, cfg.lam)
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    stats = policy_step(policy, trajectories.obs, trajectories.actions, advantages, cfg, rng)
    policy.obs_norm.update(trajectories.obs)
    return stats


def fit_value(
    value_fn: ValueFunction,
    trajectories: Trajectories,
    rewards: np.ndarray,
    cfg: TRPOConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Step 7: the value function fitted to the batch's discounted returns under `rewards`."""
    returns = discounted_cumsum(rewards, trajectories.lengths, cfg.gamma)
    return value_fn.fit(trajectories.obs, trajectories.timesteps, returns, cfg, rng)
