"""
Discrete gripper actions for the grasp critic.

The grasp critic chooses among three actions, in this index order:

====== ======= ==========================
index  name    continuous gripper command
====== ======= ==========================
0      CLOSE   -1.0
1      STAY     0.0
2      OPEN    +1.0
====== ======= ==========================

so ``index = command + 1`` for the three canonical commands. Any continuous command (e.g. from
a spacemouse during an intervention) maps to CLOSE below ``-deadband``, to OPEN above
``+deadband`` and to STAY in between.
"""

from typing import Union

import numpy as np
import torch

CLOSE = 0
STAY = 1
OPEN = 2
NUM_GRASP_ACTIONS = 3

ArrayLike = Union[float, np.ndarray, torch.Tensor]


def command_to_index(command: ArrayLike, deadband: float = 0.5) -> ArrayLike:
    """Map continuous gripper commands in [-1, 1] to discrete indices (CLOSE/STAY/OPEN)."""
    # index = 1[c >= -deadband] + 1[c > deadband]: 0 below the band, 1 inside, 2 above.
    if isinstance(command, torch.Tensor):
        return (command >= -deadband).long() + (command > deadband).long()
    command = np.asarray(command)
    index = (command >= -deadband).astype(np.int64) + (command > deadband).astype(np.int64)
    return index if index.ndim else int(index)


def index_to_command(index: ArrayLike) -> ArrayLike:
    """Map discrete indices back to the canonical commands -1 (close), 0 (stay), +1 (open)."""
    if isinstance(index, torch.Tensor):
        return index.to(torch.float32) - 1.0
    command = np.asarray(index, dtype=np.float32) - 1.0
    return command if command.ndim else float(command)


def gripper_toggled(gripper_closed: ArrayLike, index: ArrayLike) -> ArrayLike:
    """
    Say whether the chosen grasp action changes the gripper's state.

    Closing an open gripper or opening a closed one is a toggle; STAY, closing a closed gripper
    and opening an open one are not. Store the result with each transition: the grasp critic's
    reward then gets ``grasp_penalty`` on toggles (see ``losses.toggle_penalty``).
    """
    if isinstance(index, torch.Tensor):
        closed = torch.as_tensor(gripper_closed, dtype=torch.bool)
        return (closed & (index == OPEN)) | (~closed & (index == CLOSE))
    closed = np.asarray(gripper_closed, dtype=bool)
    index = np.asarray(index)
    toggled = (closed & (index == OPEN)) | (~closed & (index == CLOSE))
    return toggled if toggled.ndim else bool(toggled)
