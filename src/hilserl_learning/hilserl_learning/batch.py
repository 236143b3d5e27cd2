"""A batch of transitions, as sampled from the replay buffers and consumed by the agent."""

from dataclasses import dataclass, fields
from typing import Dict, Sequence

import torch
from torch import Tensor


@dataclass
class Batch:
    """A batch of B transitions as tensors."""

    observations: Dict[str, Tensor]
    """'state' float [B, S], optionally 'pixels' uint8 [B, N, C, H, W], 'features' [B, N, F]."""
    actions: Tensor
    """Float [B, A] actions as executed (policy or human)."""
    rewards: Tensor
    """Float [B]."""
    next_observations: Dict[str, Tensor]
    """Same keys and shapes as observations."""
    terminated: Tensor
    """Float [B]; 1 means no bootstrapping from the next observation."""
    truncated: Tensor
    """Bool [B]; the step ended its episode on a time limit (still bootstraps)."""
    interventions: Tensor
    """Bool [B]; the action came from a human intervention."""
    gripper_toggled: Tensor
    """Bool [B]; the gripper command changed the gripper's state (grasp penalty applies)."""
    indices: Tensor
    """Int64 [B]; buffer rows the steps came from (diagnostics, tests)."""

    @staticmethod
    def concatenate(batches: Sequence['Batch']) -> 'Batch':
        """Concatenate batches along the batch dimension."""
        if len(batches) == 1:
            return batches[0]
        merged = {}
        for field in fields(Batch):
            values = [getattr(b, field.name) for b in batches]
            if isinstance(values[0], dict):
                merged[field.name] = {k: torch.cat([v[k] for v in values]) for k in values[0]}
            else:
                merged[field.name] = torch.cat(values)
        return Batch(**merged)

    def to(self, device: torch.device) -> 'Batch':
        """Return the batch on `device`."""
        moved = {}
        for field in fields(Batch):
            value = getattr(self, field.name)
            moved[field.name] = ({k: v.to(device) for k, v in value.items()}
                                 if isinstance(value, dict) else value.to(device))
        return Batch(**moved)
