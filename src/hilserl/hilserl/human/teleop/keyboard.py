"""
Keys to end-effector commands, without ROS.

Terminals report key presses, never releases; a press (or the terminal's
auto-repeat of a held key) therefore moves the arm for ``key_hold_s``. A tap is
a short step; a held key moves continuously once auto-repeat starts.
"""

from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from hilserl.arm.safety_filter import Gripper
from hilserl.human.teleop.common import TeleopCommand, TeleopEvent
from hilserl.human.teleop.keys import valid_key

# action -> (axis index, sign)
MOTION_ACTIONS = {'forward': (0, 1.0), 'backward': (0, -1.0), 'left': (1, 1.0),
                  'right': (1, -1.0), 'up': (2, 1.0), 'down': (2, -1.0)}
GRIPPER_ACTIONS = {'gripper_open': Gripper.OPEN, 'gripper_close': Gripper.CLOSE}
EVENT_ACTIONS = {'success': TeleopEvent.SUCCESS, 'failure': TeleopEvent.FAILURE,
                 'rerecord': TeleopEvent.RERECORD}
#: Actions any teleop node with a terminal understands (the leader arm uses only these).
SESSION_ACTIONS = ('intervention', *EVENT_ACTIONS, 'quit')
SPEED_ACTIONS = {'faster': 1.5, 'slower': 1.0 / 1.5}

DEFAULT_BINDINGS: Dict[str, Tuple[str, ...]] = {
    'forward': ('up',), 'backward': ('down',), 'left': ('left',), 'right': ('right',),
    'up': ('page_up', 'u'), 'down': ('page_down', 'd'),
    'gripper_open': ('o',), 'gripper_close': ('c',),
    'intervention': ('space',), 'success': ('s',), 'failure': ('esc',), 'rerecord': ('r',),
    'quit': ('q',), 'faster': ('+', '='), 'slower': ('-',),
}
ACTIONS = tuple(DEFAULT_BINDINGS)

# How the help line names keys.
_KEY_LABELS = {'up': 'Up', 'down': 'Down', 'left': 'Left', 'right': 'Right',
               'page_up': 'PgUp', 'page_down': 'PgDn', 'space': 'Space', 'esc': 'Esc'}


def key_label(key: str) -> str:
    """Return how ``key`` is written on a keyboard."""
    return _KEY_LABELS.get(key, key)


class KeyBindings:
    """Which key triggers which action; every key does at most one thing."""

    def __init__(self, bindings: Mapping[str, Sequence[str]],
                 actions: Iterable[str] = ACTIONS):
        """Check ``bindings`` (action -> key names) against ``actions``."""
        actions = tuple(actions)
        unknown = sorted(set(bindings) - set(actions))
        if unknown:
            raise ValueError(f"unknown key action(s) {', '.join(unknown)}; "
                             f"known: {', '.join(actions)}")
        self.keys = {action: tuple(bindings.get(action, ())) for action in actions}
        self._action_of: Dict[str, str] = {}
        for action, keys in self.keys.items():
            for key in keys:
                if not valid_key(key):
                    raise ValueError(f"'{key}' (for {action}) is not a key name; use a "
                                     "character or one of up, down, left, right, page_up, "
                                     "page_down, space, esc, enter, tab, ...")
                if key in self._action_of:
                    raise ValueError(f"key '{key}' is bound to both {self._action_of[key]} "
                                     f'and {action}')
                self._action_of[key] = action

    def action(self, key: str) -> Optional[str]:
        """Return the action bound to ``key``, or None."""
        return self._action_of.get(key)

    def help_line(self) -> str:
        """Return one line listing what each key does."""
        parts = [f"{'/'.join(key_label(k) for k in keys)} {action.replace('_', ' ')}"
                 for action, keys in self.keys.items() if keys]
        return 'keys: ' + ', '.join(parts)


class KeyboardTeleop:
    """Moves and gripper commands from key presses, each lasting ``key_hold_s``."""

    def __init__(self, bindings: KeyBindings, key_hold_s: float = 0.15, speed: float = 0.5):
        """Move each axis at ``speed`` (a fraction of a full step) while a key holds it."""
        if key_hold_s <= 0:
            raise ValueError(f'key_hold_s must be positive, got {key_hold_s}')
        if not 0.0 < speed <= 1.0:
            raise ValueError(f'speed must be in (0, 1], got {speed}')
        self.bindings = bindings
        self.key_hold_s = key_hold_s
        self.speed = speed
        self._motion_until: List[Tuple[float, float]] = [(0.0, 0.0)] * 3  # (sign, until)
        self._gripper: Tuple[Gripper, float] = (Gripper.STAY, 0.0)

    def press(self, key: str, now: float) -> Optional[str]:
        """
        Take a key press at ``now``; return its action, or None for an unbound key.

        Moves, the gripper and speed changes are handled here; the caller acts on
        the session actions (intervention, success, failure, rerecord, quit).
        """
        action = self.bindings.action(key)
        if action in MOTION_ACTIONS:
            axis, sign = MOTION_ACTIONS[action]
            self._motion_until[axis] = (sign, now + self.key_hold_s)
        elif action in GRIPPER_ACTIONS:
            self._gripper = (GRIPPER_ACTIONS[action], now + self.key_hold_s)
        elif action in SPEED_ACTIONS:
            self.speed = min(1.0, max(0.05, self.speed * SPEED_ACTIONS[action]))
        return action

    def command(self, now: float) -> TeleopCommand:
        """Return what the keys pressed within the last ``key_hold_s`` ask for."""
        delta = tuple(sign * self.speed if now < until else 0.0
                      for sign, until in self._motion_until)
        gripper, until = self._gripper
        return TeleopCommand(delta, gripper if now < until else Gripper.STAY)
