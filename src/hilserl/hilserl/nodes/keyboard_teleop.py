"""
Keyboard teleoperation in a plain terminal (no X needed).

Reads keys from the terminal on stdin (cbreak mode, restored on exit and on
Ctrl-C) and publishes what every teleop node publishes
(:mod:`hilserl.ros.teleop_output`). Default keys (``config/teleop_keyboard.yaml``):
arrows move in x/y, Page Up/Down or ``u``/``d`` in z, ``o``/``c`` open/close
the gripper, Space toggles the intervention, ``s`` success, Esc failure, ``r``
re-record, ``+``/``-`` speed, ``q`` quit. A key press moves for ``key_hold_s``
(terminals report no key releases). A help line is printed at start and a
status line is kept up to date on stderr.
"""

from hilserl.human.teleop.common import TeleopCommand
from hilserl.human.teleop.keyboard import ACTIONS, KeyboardTeleop
from hilserl_common.node_support import declare, run_node
from hilserl.ros.teleop_output import TeleopNode

_AXIS_NAMES = ('x', 'y', 'z')


class KeyboardTeleopNode(TeleopNode):
    """Thin ROS shell around :class:`hilserl.human.teleop.keyboard.KeyboardTeleop`."""

    def __init__(self, **kwargs):
        """Read the bindings, take over the terminal and print the help line."""
        super().__init__('keyboard_teleop', **kwargs)
        bindings = self.declare_key_bindings(ACTIONS)
        self._teleop = KeyboardTeleop(
            bindings,
            key_hold_s=declare(self, 'key_hold_s', 0.15,
                               'How long one key press (or auto-repeat) moves, s.'),
            speed=declare(self, 'speed', 0.5, 'Move per tick while a key is held, as a '
                          'fraction of the safety filter step, (0, 1]; +/- change it.'))
        esc_timeout = declare(self, 'esc_timeout_s', 0.05,
                              'A lone ESC byte is the Escape key after this long, s.')
        self.attach_terminal(self._on_key, esc_timeout)
        self.status.print(bindings.help_line())
        self._show_status(self._teleop.command(0.0))

    def _on_key(self, key: str, now: float) -> None:
        self.session_action(self._teleop.press(key, now))
        self._show_status(self._teleop.command(now))

    def current_command(self, now: float) -> TeleopCommand:
        """Return the move and gripper command of the keys pressed lately."""
        command = self._teleop.command(now)
        self._show_status(command)
        return command

    def _show_status(self, command: TeleopCommand) -> None:
        moves = ' '.join(f"{'+' if v > 0 else '-'}{axis}"
                         for axis, v in zip(_AXIS_NAMES, command.delta_xyz) if v)
        self.status.show(f"[{'HUMAN' if self.intervention else 'policy'}] "
                         f"move {moves or '-'} | gripper {command.gripper.name.lower()} | "
                         f'speed {self._teleop.speed:.2f}')


def main(args=None):
    """Run the keyboard teleop until q, Ctrl-C or shutdown."""
    run_node(KeyboardTeleopNode, args)


if __name__ == '__main__':
    main()
