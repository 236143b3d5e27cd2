"""Normalisation of proprioceptive state with statistics from the demonstrations."""

from typing import Union

import numpy as np
import torch
from torch import nn, Tensor


class Normalizer(nn.Module):
    """
    Map a state vector to (state - mean) / std.

    mean and std are registered buffers, so they travel in the agent's state dict and are
    therefore saved in (and restored from) checkpoints. Until `fit` is called it is the
    identity (mean 0, std 1).
    """

    def __init__(self, dim: int, min_std: float = 1e-3) -> None:
        """Create an identity normaliser for `dim`-dimensional vectors."""
        super().__init__()
        self.min_std = min_std
        self.register_buffer('mean', torch.zeros(dim))
        self.register_buffer('std', torch.ones(dim))

    @torch.no_grad()
    def fit(self, states: Union[np.ndarray, Tensor]) -> None:
        """
        Set mean and std from a [N, dim] array of states (e.g. all demonstration steps).

        std is floored at `min_std` so constant dimensions (a fixed joint) do not blow up.
        """
        states = torch.as_tensor(states, dtype=torch.float32)
        if states.ndim != 2 or states.shape[1] != self.mean.shape[0] or states.shape[0] == 0:
            raise ValueError(f'expected a non-empty [N, {self.mean.shape[0]}] array, '
                             f'got shape {tuple(states.shape)}')
        self.mean.copy_(states.mean(dim=0))
        self.std.copy_(states.std(dim=0, unbiased=False).clamp_min(self.min_std))

    def forward(self, states: Tensor) -> Tensor:
        """Return normalised states."""
        return (states - self.mean) / self.std
