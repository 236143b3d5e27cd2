"""
The SO100/SO101 leader arm: torque off, moved by hand, read at the control rate.

Publishes ``leader/joint_states`` (arm joints in rad, the gripper as opening
0-1, with the leader's own calibration) and ``/diagnostics``; it writes no goal
and never switches torque on.  Bus faults and an unplugged adapter are handled
as in the follower (see :mod:`hilserl_so100_driver.driver_core`).
"""

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import JointState

from hilserl.node_support import declare, run_node
from hilserl_so100_driver.calibration import (ArmCalibration, CalibrationError,
                                              load_calibration, SO101_JOINTS)
from hilserl_so100_driver.driver_core import DriverConfig, DriverCore, SdkBus
from hilserl_so100_driver.nodes.follower_driver import diagnostic_array


class LeaderArm(Node):
    """Read-only arm publisher; see the module docstring."""

    def __init__(self, **kwargs):
        """Read parameters, load the calibration, open the bus and start the loop."""
        super().__init__('so100_leader', **kwargs)
        port = declare(self, 'port', '/dev/ttyACM1', 'Serial port of the leader arm.')
        baud = declare(self, 'baud', 1000000, 'Bus bit rate (the STS3215 default: 1000000).')
        ids = declare(self, 'ids', [1, 2, 3, 4, 5, 6],
                      'Servo ids in joint_names order (used without a calibration file).')
        names = declare(self, 'joint_names', list(SO101_JOINTS), 'Joint names in order.')
        calibration_file = declare(
            self, 'calibration_file', '',
            "Calibration JSON, ours or LeRobot's ('' = full range, no offset).")
        rate = declare(self, 'control_rate_hz', 30.0, 'Rate of leader/joint_states.')
        max_failed = declare(self, 'max_failed_ticks', 5,
                             'Consecutive failed reads before a servo is reported ERROR.')
        reconnect = declare(self, 'reconnect_period_s', 1.0,
                            'Time between attempts to reopen a lost port.')
        self._diagnostics_period = 1.0 / declare(self, 'diagnostics_rate_hz', 1.0,
                                                 'Rate of /diagnostics.')
        if calibration_file:
            try:
                calibration = load_calibration(calibration_file).select(names)
            except CalibrationError as error:
                raise ValueError(str(error)) from None
        else:
            calibration = ArmCalibration.default(names, ids)
        config = DriverConfig(control_rate_hz=rate, max_failed_ticks=max_failed,
                              reconnect_period_s=reconnect, passive=True)
        self._port = port
        self._names = calibration.names
        self._lock = threading.Lock()
        self._core = DriverCore(SdkBus(port, baud), calibration, config, log=self._log)
        self._states = self.create_publisher(JointState, 'leader/joint_states', 10)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name='so100-leader', daemon=True)
        self._thread.start()
        self.get_logger().info(f'SO100 leader on {port}: joints {self._names}, torque off, '
                               f'{rate:g} Hz')

    def _log(self, level, text) -> None:
        logger = self.get_logger()
        if level >= 40:
            logger.error(text)
        elif level >= 30:
            logger.warning(text)
        else:
            logger.info(text)

    def _loop(self) -> None:
        period = self._core.config.period
        next_tick = time.monotonic()
        next_diagnostics = next_tick
        while not self._stop.is_set():
            with self._lock:
                self._core.tick()
                positions = self._core.positions() if self._core.connected else None
                now = time.monotonic()
                array = None
                if now >= next_diagnostics:
                    next_diagnostics = now + self._diagnostics_period
                    array = diagnostic_array(self._core, self._port, 'so100_leader')
            try:
                stamp = self.get_clock().now().to_msg()
                if positions is not None:
                    state = JointState(name=self._names, position=positions)
                    state.header.stamp = stamp
                    self._states.publish(state)
                if array is not None:
                    array.header.stamp = stamp
                    self._diagnostics.publish(array)
            except Exception:  # the context is shutting down under the thread
                if self._stop.is_set():
                    return
                raise
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay < -period:
                next_tick = time.monotonic()
            self._stop.wait(max(0.0, delay))

    def destroy_node(self):
        """Stop the loop and close the port (torque stays off)."""
        stop, thread = getattr(self, '_stop', None), getattr(self, '_thread', None)
        if stop is not None:
            stop.set()
        if thread is not None and thread.is_alive():
            thread.join(timeout=5.0)
        if getattr(self, '_core', None) is not None:
            with self._lock:
                self._core.shutdown()
        return super().destroy_node()


def main(args=None):
    """Run the leader arm publisher until shut down."""
    run_node(LeaderArm, args)


if __name__ == '__main__':
    main()
