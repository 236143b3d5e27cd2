"""
Gamepad to end-effector commands, without ROS.

A :class:`JoyMapping` says which axis drives x, y and z (with a scale whose sign
flips the direction), the deadzone, and which buttons close and open the
gripper, take over (held or toggled), report success, failure or a re-record,
and which button, if any, must be held for any motion (a deadman switch). It is
read from flat parameter names (``axes.x.index``, ``buttons.success``...), the
names the ``joy_teleop`` node declares and the preset files under ``config/``
set. Index -1 means "not used".

:class:`JoyTeleop` turns successive ``sensor_msgs/Joy`` contents into commands
and events: an event fires once per press (rising edge), and the command falls
back to idle when the pad goes silent for ``joy_timeout_s``.
"""

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence

import yaml

from hilserl.arm.safety_filter import Gripper
from hilserl.human.teleop.common import (clip_unit, IDLE, InterventionSwitch, TeleopCommand,
                                         TeleopEvent)

AXES = ('x', 'y', 'z')
EVENT_BUTTONS = {'success': TeleopEvent.SUCCESS, 'failure': TeleopEvent.FAILURE,
                 'rerecord': TeleopEvent.RERECORD}
BUTTONS = ('gripper_close', 'gripper_open', 'intervention', *EVENT_BUTTONS, 'deadman')

# (name, default, description): the parameters of a mapping; defaults are the Xbox
# layout of config/teleop_joy_xbox.yaml.
PARAMETERS = (
    ('axes.x.index', 1, 'Joy axis for x (forward); -1: none.'),
    ('axes.x.scale', 1.0, 'Multiplies the x axis; negative flips the direction.'),
    ('axes.y.index', 0, 'Joy axis for y (left); -1: none.'),
    ('axes.y.scale', 1.0, 'Multiplies the y axis; negative flips the direction.'),
    ('axes.z.index', 4, 'Joy axis for z (up); -1: none.'),
    ('axes.z.scale', 1.0, 'Multiplies the z axis; negative flips the direction.'),
    ('deadzone', 0.1, 'Axis values within this of 0 count as 0, [0, 1).'),
    ('buttons.gripper_close', 0, 'Button that closes the gripper while held; -1: none.'),
    ('buttons.gripper_open', 1, 'Button that opens the gripper while held; -1: none.'),
    ('buttons.intervention', 5, 'Button that takes over from the policy; -1: none.'),
    ('buttons.success', 7, 'Button that reports success; -1: none.'),
    ('buttons.failure', 6, 'Button that reports failure; -1: none.'),
    ('buttons.rerecord', 3, 'Button that asks to re-record the episode; -1: none.'),
    ('buttons.deadman', -1, 'Button that must be held for any motion; -1: none.'),
    ('intervention_mode', 'hold',
     "'hold': in control while the intervention button is held; 'toggle': each press."),
    ('joy_timeout_s', 0.5, 'Idle command (and a held intervention ends) when no joy message '
     'came for this long; 0: never.'),
)


@dataclass(frozen=True)
class JoyMapping:
    """Which axes and buttons do what; see the module docstring."""

    axis_index: Dict[str, int]
    axis_scale: Dict[str, float]
    deadzone: float
    button: Dict[str, int]
    intervention_mode: str
    joy_timeout_s: float

    @classmethod
    def from_parameters(cls, values: Mapping[str, object]) -> 'JoyMapping':
        """Build a mapping from flat parameter names; missing ones take the defaults."""
        merged = {name: default for name, default, _ in PARAMETERS}
        merged.update({name: value for name, value in values.items() if name in merged})
        for name, default, _ in PARAMETERS:
            if isinstance(default, int) and not isinstance(merged[name], int):
                raise ValueError(f'{name} must be an integer index, got {merged[name]!r}')
        mapping = cls(
            axis_index={axis: merged[f'axes.{axis}.index'] for axis in AXES},
            axis_scale={axis: float(merged[f'axes.{axis}.scale']) for axis in AXES},
            deadzone=float(merged['deadzone']),
            button={name: merged[f'buttons.{name}'] for name in BUTTONS},
            intervention_mode=str(merged['intervention_mode']),
            joy_timeout_s=float(merged['joy_timeout_s']))
        mapping.validate()
        return mapping

    def validate(self) -> None:
        """Raise ValueError for a mapping that cannot work."""
        if not 0.0 <= self.deadzone < 1.0:
            raise ValueError(f'deadzone must be in [0, 1), got {self.deadzone}')
        if self.joy_timeout_s < 0:
            raise ValueError(f'joy_timeout_s must not be negative, got {self.joy_timeout_s}')
        for name, index in [*self.axis_index.items(), *self.button.items()]:
            if index < -1:
                raise ValueError(f'index of {name} must be -1 (none) or >= 0, got {index}')
        used: Dict[int, str] = {}
        for name, index in self.button.items():
            if index >= 0 and index in used:
                raise ValueError(f'button {index} is both {used[index]} and {name}')
            used[index] = name
        InterventionSwitch(self.intervention_mode)  # validates the mode


def load_parameter_file(path: str) -> Dict[str, object]:
    """Return the flat parameters of the only node section of a ROS parameter file."""
    with open(path) as stream:
        document = yaml.safe_load(stream) or {}
    sections = [value['ros__parameters'] for value in document.values()
                if isinstance(value, dict) and 'ros__parameters' in value]
    if len(sections) != 1:
        raise ValueError(f'{path} must hold exactly one node section with ros__parameters')
    flat: Dict[str, object] = {}

    def flatten(prefix: str, tree: Mapping[str, object]) -> None:
        for key, value in tree.items():
            name = f'{prefix}{key}'
            if isinstance(value, dict):
                flatten(name + '.', value)
            else:
                flat[name] = value
    flatten('', sections[0])
    return flat


def apply_deadzone(value: float, deadzone: float) -> float:
    """Return 0 inside the deadzone and rescale the rest to reach ±1 smoothly."""
    if abs(value) <= deadzone:
        return 0.0
    magnitude = (abs(value) - deadzone) / (1.0 - deadzone)
    return magnitude if value > 0 else -magnitude


class JoyTeleop:
    """The state of one gamepad: last message, button edges, intervention."""

    def __init__(self, mapping: JoyMapping):
        """Start idle, with the policy in control."""
        self.mapping = mapping
        self.intervention = InterventionSwitch(mapping.intervention_mode)
        self._axes: Sequence[float] = ()
        self._buttons: Sequence[int] = ()
        self._last_message = None
        #: Names of configured inputs the pad does not have (for a warning).
        self.missing: List[str] = []

    def _pressed(self, buttons: Sequence[int], name: str) -> bool:
        index = self.mapping.button[name]
        return 0 <= index < len(buttons) and bool(buttons[index])

    def update(self, axes: Sequence[float], buttons: Sequence[int],
               now: float) -> List[TeleopEvent]:
        """Take one joy message; return the events its button presses raise."""
        first = self._last_message is None
        self.missing = [f'axis {axis} ({index})' for axis, index in self.mapping.axis_index.items()
                        if index >= len(axes)]
        self.missing += [f'button {name} ({index})' for name, index in self.mapping.button.items()
                         if index >= len(buttons)]
        events = []
        # The first message is the baseline: a button held at start fires nothing.
        if not first:
            events = [event for name, event in EVENT_BUTTONS.items()
                      if self._pressed(buttons, name) and not self._pressed(self._buttons, name)]
        if self.mapping.button['intervention'] >= 0:
            self.intervention.button(self._pressed(buttons, 'intervention'))
        self._axes, self._buttons, self._last_message = list(axes), list(buttons), now
        return events

    def silent(self, now: float) -> bool:
        """Return whether no message came within ``joy_timeout_s`` (or none ever)."""
        if self._last_message is None:
            return True
        timeout = self.mapping.joy_timeout_s
        return timeout > 0 and now - self._last_message > timeout

    def command(self, now: float) -> TeleopCommand:
        """Return the command the pad's current state asks for."""
        if self.silent(now):
            self.intervention.release()
            return IDLE
        if self.mapping.button['deadman'] >= 0 and not self._pressed(self._buttons, 'deadman'):
            return IDLE
        delta = []
        for axis in AXES:
            index = self.mapping.axis_index[axis]
            raw = self._axes[index] if 0 <= index < len(self._axes) else 0.0
            delta.append(clip_unit(apply_deadzone(raw, self.mapping.deadzone)
                                   * self.mapping.axis_scale[axis]))
        close = self._pressed(self._buttons, 'gripper_close')
        opening = self._pressed(self._buttons, 'gripper_open')
        gripper = (Gripper.CLOSE if close and not opening
                   else Gripper.OPEN if opening and not close else Gripper.STAY)
        return TeleopCommand(tuple(delta), gripper)
