"""What every teleop mapping produces, without ROS: commands, events, the intervention switch."""

import enum
import math
from typing import NamedTuple, Tuple

from hilserl.arm.safety_filter import Gripper


class TeleopEvent(enum.IntEnum):
    """Episode events a human raises; values are hilserl_interfaces/EpisodeEvent's."""

    SUCCESS = 1
    FAILURE = 2
    RERECORD = 3


class TeleopCommand(NamedTuple):
    """One end-effector command: a move per axis in [-1, 1] and a gripper command."""

    delta_xyz: Tuple[float, float, float]
    gripper: Gripper


#: What a human who does nothing commands.
IDLE = TeleopCommand((0.0, 0.0, 0.0), Gripper.STAY)

INTERVENTION_MODES = ('hold', 'toggle')


def clip_unit(value: float) -> float:
    """Clip ``value`` to [-1, 1]; NaN or infinity (a broken input) gives 0."""
    value = float(value)
    if not math.isfinite(value):
        return 0.0
    return max(-1.0, min(1.0, value))


class InterventionSwitch:
    """
    Whether the human is in control, driven by a button and/or a toggle key.

    In ``hold`` mode the human is in control while the button is held; in
    ``toggle`` mode each press of the button flips control. Only the button's
    edges count, so a key that toggles control is not undone by the next
    message reporting the button still released.
    """

    def __init__(self, mode: str = 'toggle'):
        """Start with the policy in control."""
        if mode not in INTERVENTION_MODES:
            raise ValueError(f"intervention_mode must be 'hold' or 'toggle', got '{mode}'")
        self.mode = mode
        self.active = False
        self._pressed = False

    def button(self, pressed: bool) -> bool:
        """Take the button's current state; return whether the human is in control."""
        pressed = bool(pressed)
        if pressed != self._pressed:
            self._pressed = pressed
            if self.mode == 'hold':
                self.active = pressed
            elif pressed:
                self.active = not self.active
        return self.active

    def toggle(self) -> bool:
        """Flip control (a key press); return whether the human is in control."""
        self.active = not self.active
        return self.active

    def release(self) -> bool:
        """Forget a held button (its input went silent); return the state."""
        if self.mode == 'hold' and self._pressed:
            self._pressed = False
            self.active = False
        return self.active
