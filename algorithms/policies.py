"""The paper's policies: 100-100 tanh MLPs with a Gaussian or a softmax head.

A policy maps raw observations to a distribution. Its parameters for a batch (`dist_params`) are a
plain tensor so that TRPO can keep an old copy and measure the KL to it: for a Gaussian the
columns are [mean, log_std], for a softmax they are the logits.
"""

import math

import numpy as np
import torch
from torch import nn

HIDDEN = (100, 100)


class Standardizer(nn.Module):
    """Running mean and standard deviation of every vector seen so far (statistics in float64)."""

    def __init__(self, dim: int, clip: float = 10.0):
        super().__init__()
        self.clip = clip
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("sum_sq_dev", torch.zeros(dim, dtype=torch.float64))

    @property
    def std(self) -> torch.Tensor:
        var = self.sum_sq_dev / self.count.clamp(min=1.0)
        # A dimension that never varied (a contact force that stayed 0) must not divide by ~0.
        return torch.sqrt(var + 1e-8) if self.count > 0 else torch.ones_like(var)

    @property
    def varied(self) -> torch.Tensor:
        """1.0 for each dimension that has varied in the data seen so far, else 0.0."""
        return (self.sum_sq_dev > 0).float()

    def update(self, x: np.ndarray | torch.Tensor) -> None:
        """Fold a batch (rows are samples) into the statistics: Chan et al.'s parallel update."""
        x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, self.mean.shape[0])
        n = x.shape[0]
        if n == 0:
            return
        batch_mean = x.mean(0)
        batch_ssd = ((x - batch_mean) ** 2).sum(0)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.sum_sq_dev += batch_ssd + delta**2 * self.count * n / total
        self.count.fill_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Clipping is a no-op for data like the data seen, and keeps a dimension that was
        # constant in the expert data from producing huge inputs later.
        z = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return z.clamp(-self.clip, self.clip)


def mlp(in_dim: int, out_dim: int, hidden: tuple[int, ...] = HIDDEN) -> nn.Sequential:
    """tanh MLP: Glorot-uniform hidden layers, zero output layer (the paper's initialisation)."""
    layers: list[nn.Module] = []
    for width in hidden:
        linear = nn.Linear(in_dim, width)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.Tanh()]
        in_dim = width
    out = nn.Linear(in_dim, out_dim)
    nn.init.zeros_(out.weight)
    nn.init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


class Policy(nn.Module):
    """Shared by both heads: observation standardiser, MLP, acting on numpy observations."""

    def __init__(self, obs_dim: int, net_out: int):
        super().__init__()
        self.obs_norm = Standardizer(obs_dim)
        self.net = mlp(obs_dim, net_out)

    def dist_params(self, obs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def kl(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """KL(old || new) per row."""
        raise NotImplementedError

    def actor(self, rng: np.random.Generator | None = None):
        """A numpy function from raw observations to actions, frozen at the current parameters.

        Sampling calls the policy once per environment step on a small batch, where torch's
        per-operation overhead would cost more than the simulator; numpy does the same
        arithmetic in a fraction of the time. `rng=None` gives deterministic actions.
        """
        mean = self.obs_norm.mean.numpy().astype(np.float32)
        std = self.obs_norm.std.numpy().astype(np.float32)
        weights = [
            (m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
            for m in self.net
            if isinstance(m, nn.Linear)
        ]
        head = self._head(rng)
        clip = self.obs_norm.clip

        def act(obs: np.ndarray) -> np.ndarray:
            h = np.clip((obs - mean) / std, -clip, clip)
            for w, b in weights[:-1]:
                h = np.tanh(h @ w + b)
            return head(h @ weights[-1][0] + weights[-1][1])

        return act

    def _head(self, rng: np.random.Generator | None):
        """Maps the network's output to actions, in numpy."""
        raise NotImplementedError


class GaussianPolicy(Policy):
    """Diagonal Gaussian with a state-independent learned log-std, initialised at 0."""

    def __init__(self, obs_dim: int, act_dim: int):
        super().__init__(obs_dim, act_dim)
        self.act_dim = act_dim
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def dist_params(self, obs: torch.Tensor) -> torch.Tensor:
        mean = self.net(self.obs_norm(obs))
        return torch.cat([mean, self.log_std.expand_as(mean)], dim=-1)

    def _split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return params[..., : self.act_dim], params[..., self.act_dim :]

    def log_prob(self, params, actions):
        mean, log_std = self._split(params)
        z = (actions - mean) / log_std.exp()
        return (-0.5 * z**2 - log_std).sum(-1) - 0.5 * self.act_dim * math.log(2 * math.pi)

    def entropy(self, params):
        _, log_std = self._split(params)
        return (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(-1)

    def kl(self, old, new):
        mean0, log_std0 = self._split(old)
        mean1, log_std1 = self._split(new)
        var0, var1 = (2 * log_std0).exp(), (2 * log_std1).exp()
        return (log_std1 - log_std0 + (var0 + (mean0 - mean1) ** 2) / (2 * var1) - 0.5).sum(-1)

    def _head(self, rng):
        std = self.log_std.detach().exp().numpy().astype(np.float32)
        if rng is None:
            return lambda mean: mean
        return lambda mean: mean + std * rng.standard_normal(mean.shape, np.float32)


class CategoricalPolicy(Policy):
    """Softmax over a discrete action set."""

    def __init__(self, obs_dim: int, n_actions: int):
        super().__init__(obs_dim, n_actions)
        self.n_actions = n_actions

    def dist_params(self, obs):
        return torch.log_softmax(self.net(self.obs_norm(obs)), dim=-1)

    def log_prob(self, params, actions):
        return torch.log_softmax(params, -1).gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def entropy(self, params):
        logp = torch.log_softmax(params, -1)
        return -(logp.exp() * logp).sum(-1)

    def kl(self, old, new):
        logp0, logp1 = torch.log_softmax(old, -1), torch.log_softmax(new, -1)
        return (logp0.exp() * (logp0 - logp1)).sum(-1)

    def _head(self, rng):
        if rng is None:
            return lambda logits: logits.argmax(-1)

        def sample(logits):
            # Inverse-CDF sampling: the first action whose cumulative probability exceeds u.
            p = np.exp(logits - logits.max(-1, keepdims=True))
            cdf = np.cumsum(p, -1) / p.sum(-1, keepdims=True)
            u = rng.random((len(logits), 1))
            return np.minimum((cdf < u).sum(-1), self.n_actions - 1)

        return sample


def make_policy(obs_dim: int, action_space) -> Policy:
    """The paper's policy for a gymnasium action space (Box or Discrete)."""
    if hasattr(action_space, "n"):
        return CategoricalPolicy(obs_dim, int(action_space.n))
    return GaussianPolicy(obs_dim, int(np.prod(action_space.shape)))
