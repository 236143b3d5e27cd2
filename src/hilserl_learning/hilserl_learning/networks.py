"""Actor, critic ensemble and grasp critic networks (all heads on top of encoder features)."""

import math
from typing import List, Sequence, Tuple

import torch
from torch import nn, Tensor
import torch.nn.functional as F

from .losses import tanh_gaussian_log_prob


def mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int, layer_norm: bool) -> nn.Sequential:
    """Build Linear -> [LayerNorm] -> ReLU blocks followed by a linear output layer."""
    layers: List[nn.Module] = []
    for hidden in hidden_dims:
        layers += [nn.Linear(in_dim, hidden)]
        layers += [nn.LayerNorm(hidden)] if layer_norm else []
        layers += [nn.ReLU()]
        in_dim = hidden
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class EnsembleLinear(nn.Module):
    """
    E independent linear layers applied in one batched matmul.

    weight is [E, in, out] and bias [E, 1, out]; an input [E, B, in] gives
    out_e = x_e @ W_e + b_e for all members at once through a single ``torch.baddbmm``.
    """

    def __init__(self, ensemble_size: int, in_features: int, out_features: int) -> None:
        """Initialise every member like ``nn.Linear`` (uniform in +-1/sqrt(in))."""
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(ensemble_size, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(
            torch.empty(ensemble_size, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        """Map [E, B, in] to [E, B, out]."""
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over the last dim with a separate scale and shift per member: [E, B, D]."""

    def __init__(self, ensemble_size: int, dim: int) -> None:
        """Start as the identity affine map, like ``nn.LayerNorm``."""
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ensemble_size, 1, dim))
        self.bias = nn.Parameter(torch.zeros(ensemble_size, 1, dim))

    def forward(self, x: Tensor) -> Tensor:
        """Return LayerNorm(x) * weight + bias."""
        return torch.addcmul(self.bias, F.layer_norm(x, x.shape[-1:]), self.weight)


class CriticEnsemble(nn.Module):
    """E Q-functions Q_i(s, a) evaluated together: [B, F] features, [B, A] actions -> [E, B]."""

    def __init__(self, ensemble_size: int, feature_dim: int, action_dim: int,
                 hidden_dims: Sequence[int], layer_norm: bool = True) -> None:
        """Build E stacked MLPs with optional per-member LayerNorm."""
        super().__init__()
        self.ensemble_size = ensemble_size
        layers: List[nn.Module] = []
        in_dim = feature_dim + action_dim
        for hidden in hidden_dims:
            layers.append(EnsembleLinear(ensemble_size, in_dim, hidden))
            if layer_norm:
                layers.append(EnsembleLayerNorm(ensemble_size, hidden))
            layers.append(nn.ReLU())
            in_dim = hidden
        layers.append(EnsembleLinear(ensemble_size, in_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, features: Tensor, actions: Tensor) -> Tensor:
        """Return Q_i(s, a) for every member i, shape [E, B]."""
        x = torch.cat([features, actions], dim=-1)
        # The same input for every member: a stride-0 view, no copy.
        x = x.unsqueeze(0).expand(self.ensemble_size, *x.shape)
        return self.net(x).squeeze(-1).float()   # float32 also under bf16 autocast


class TanhGaussianActor(nn.Module):
    """pi(a|s) = tanh(N(mu(s), sigma(s))), with log sigma clamped to [log_std_min, log_std_max]."""

    def __init__(self, feature_dim: int, action_dim: int, hidden_dims: Sequence[int],
                 layer_norm: bool = True, log_std_min: float = -5.0,
                 log_std_max: float = 2.0) -> None:
        """Build the MLP trunk with a head producing mean and log-std."""
        super().__init__()
        self.net = mlp(feature_dim, hidden_dims, 2 * action_dim, layer_norm)
        self.log_std_min = log_std_min
        self.log_std_max = log_std_max

    def forward(self, features: Tensor) -> Tuple[Tensor, Tensor]:
        """Return the Gaussian's mean and clamped log-std, each [B, A]."""
        mean, log_std = self.net(features).float().chunk(2, dim=-1)   # float32 under autocast
        return mean, log_std.clamp(self.log_std_min, self.log_std_max)

    def sample(self, features: Tensor) -> Tuple[Tensor, Tensor]:
        """Draw a = tanh(mu + sigma * noise) (reparameterised); return a and log pi(a|s)."""
        return self.sample_from(*self(features))

    @staticmethod
    def sample_from(mean: Tensor, log_std: Tensor) -> Tuple[Tensor, Tensor]:
        """Like :meth:`sample`, from the Gaussian :meth:`forward` returned (one MLP pass)."""
        noise = torch.randn_like(mean)
        pre_tanh = mean + log_std.exp() * noise
        return torch.tanh(pre_tanh), tanh_gaussian_log_prob(noise, log_std, pre_tanh)

    def mode(self, features: Tensor) -> Tensor:
        """Return the deterministic action tanh(mu) used for evaluation."""
        return torch.tanh(self(features)[0])


class GraspCritic(nn.Module):
    """Discrete Q_g(s, .) over the 3 grasp actions (CLOSE, STAY, OPEN): [B, F] -> [B, 3]."""

    def __init__(self, feature_dim: int, hidden_dims: Sequence[int], num_actions: int = 3,
                 layer_norm: bool = True) -> None:
        """Build the MLP."""
        super().__init__()
        self.net = mlp(feature_dim, hidden_dims, num_actions, layer_norm)

    def forward(self, features: Tensor) -> Tensor:
        """Return the Q-value of each grasp action (float32, also under bf16 autocast)."""
        return self.net(features).float()
