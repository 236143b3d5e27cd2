"""
Gamepad teleoperation: ``joy`` (sensor_msgs/Joy) in, teleop commands and events out.

The mapping (which stick moves which axis, which button does what) is
parameters, with presets in ``config/teleop_joy_{xbox,playstation,logitech}.yaml``;
see :mod:`hilserl.human.teleop.joy_mapping`. ``joy`` comes from the standard ``joy``
node (``ros2 run joy joy_node``) or, without it, from ``joy_publisher``.
Publishes what every teleop node publishes (:mod:`hilserl.ros.teleop_output`).
"""

import time

from sensor_msgs.msg import Joy

from hilserl.human.teleop.common import TeleopCommand
from hilserl.human.teleop.joy_mapping import JoyMapping, JoyTeleop, PARAMETERS
from hilserl_common.node_support import declare, run_node
from hilserl.ros.teleop_output import TeleopNode


class JoyTeleopNode(TeleopNode):
    """Thin ROS shell around :class:`hilserl.human.teleop.joy_mapping.JoyTeleop`."""

    def __init__(self, **kwargs):
        """Read the mapping and subscribe to ``joy``."""
        super().__init__('joy_teleop', **kwargs)
        values = {name: declare(self, name, default, description)
                  for name, default, description in PARAMETERS}
        self._teleop = JoyTeleop(JoyMapping.from_parameters(values))
        self._reported_missing = False
        self._was_silent = True
        self.create_subscription(Joy, 'joy', self._on_joy, 10)
        self.get_logger().info(f"waiting for gamepad input on {self.resolve_topic_name('joy')}")

    def _on_joy(self, msg: Joy) -> None:
        for event in self._teleop.update(msg.axes, msg.buttons, time.monotonic()):
            self.raise_event(event)
        self.set_intervention(self._teleop.intervention.active)
        if self._teleop.missing and not self._reported_missing:
            self._reported_missing = True
            self.get_logger().warning(
                f'the gamepad has {len(msg.axes)} axes and {len(msg.buttons)} buttons; '
                f"not there: {', '.join(self._teleop.missing)} (wrong preset?)")

    def current_command(self, now: float) -> TeleopCommand:
        """Return the command of the pad's latest state (idle once it went silent)."""
        command = self._teleop.command(now)
        silent = self._teleop.silent(now)
        if silent and not self._was_silent:
            self.get_logger().warning('no joy messages lately; sending idle commands')
        self._was_silent = silent
        self.set_intervention(self._teleop.intervention.active)
        return command


def main(args=None):
    """Run the gamepad teleop until shut down."""
    run_node(JoyTeleopNode, args)


if __name__ == '__main__':
    main()
