"""
The SO100/SO101 leader arm: torque off, moved by hand, read at the control rate.

Publishes ``leader/joint_states`` (arm joints in rad, the gripper as opening
0-1, with the leader's own calibration) and ``/diagnostics``; it writes no goal
and never switches torque on.  Bus faults and an unplugged adapter are handled
as in the follower (see :mod:`hilserl_so100_driver.driver_core`).
"""

from hilserl_common.node_support import declare, run_node
from hilserl_so100_driver.driver_config import DriverConfig
from hilserl_so100_driver.nodes.bus_node import ServoBusNode


class LeaderArm(ServoBusNode):
    """Read-only arm publisher; see the module docstring."""

    def __init__(self, **kwargs):
        """Read parameters, load the calibration, open the bus and start the loop."""
        super().__init__('so100_leader', **kwargs)
        port, baud, calibration = self._declare_bus('/dev/ttyACM1')
        rate = declare(self, 'control_rate_hz', 30.0, 'Rate of leader/joint_states.')
        max_failed = declare(self, 'max_failed_ticks', 5,
                             'Consecutive failed reads before a servo is reported ERROR.')
        reconnect = declare(self, 'reconnect_period_s', 1.0,
                            'Time between attempts to reopen a lost port.')
        diagnostics_rate = declare(self, 'diagnostics_rate_hz', 1.0, 'Rate of /diagnostics.')
        config = DriverConfig(control_rate_hz=rate, max_failed_ticks=max_failed,
                              reconnect_period_s=reconnect, passive=True)
        self._start_bus(port, baud, calibration, config, diagnostics_rate,
                        'leader/joint_states')
        self.get_logger().info(f'SO100 leader on {port}: joints {self._names}, torque off, '
                               f'{rate:g} Hz')


def main(args=None):
    """Run the leader arm publisher until shut down."""
    run_node(LeaderArm, args)


if __name__ == '__main__':
    main()
