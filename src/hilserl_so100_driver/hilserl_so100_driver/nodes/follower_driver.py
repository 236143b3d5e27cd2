"""
The SO100/SO101 follower arm on the suite's arm contract, over its servo bus.

Publishes ``joint_states`` (arm joints in rad, the gripper as opening 0-1),
``robot_description`` (transient local) and ``/diagnostics`` (one status per
servo); takes ``joint_commands`` (std_msgs/Float64MultiArray in ``joint_names``
order) and offers ``reset_to_home`` (std_srvs/Trigger, answers once home).

The bus is driven by :class:`hilserl_so100_driver.driver_core.DriverCore` on a
thread of its own at ``control_rate_hz``; see that module for what happens on
bus faults, an unplugged adapter and shutdown.  ``joint_states`` carries the
last good reading of a servo that stopped answering (its diagnostics say so)
and is not published while the port is lost.  During ``reset_to_home``
commands are ignored.
"""

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger

from hilserl.log_throttle import LogThrottle
from hilserl.node_support import declare, run_node
from hilserl_so100_driver.calibration import (ArmCalibration, CalibrationError,
                                              load_calibration, SO101_JOINTS)
from hilserl_so100_driver.driver_core import (DriverConfig, DriverCore, ERROR,
                                              LEVEL_NAMES, OK, SdkBus, WARN)

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
_LEVEL_BYTES = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN,
                ERROR: DiagnosticStatus.ERROR}


def diagnostic_array(core: DriverCore, port: str, prefix: str) -> DiagnosticArray:
    """Return one DiagnosticStatus per servo of ``core`` (hold its lock while calling)."""
    array = DiagnosticArray()
    for health in core.health:
        level = health.level
        message = health.summary()
        if core.fault and level == OK:
            level, message = WARN, f'motion stopped: {core.fault}'
        values = {
            'servo id': health.id,
            'position': health.position_raw,
            'voltage': health.voltage,
            'temperature': health.temperature,
            'load': health.load,
            'error bits': f'0x{health.error_bits:02x}',
            'failed reads': health.failed_reads,
            'consecutive failures': health.consecutive_failures,
            'retries': health.retries,
            'torque': 'on' if core.torque_on else 'off',
        }
        array.status.append(DiagnosticStatus(
            level=_LEVEL_BYTES[level], name=f'{prefix}: {health.name}',
            message=f'{LEVEL_NAMES[level]}: {message}', hardware_id=f'{port} id {health.id}',
            values=[KeyValue(key=k, value='' if v is None else str(v))
                    for k, v in values.items()]))
    return array


class FollowerDriver(Node):
    """ROS shell around the driver core; see the module docstring."""

    def __init__(self, **kwargs):
        """Read parameters, load the calibration, open the bus and start the loop."""
        super().__init__('so100_follower', **kwargs)
        port = declare(self, 'port', '/dev/ttyACM0', 'Serial port of the servo bus adapter.')
        baud = declare(self, 'baud', 1000000, 'Bus bit rate (the STS3215 default: 1000000).')
        ids = declare(self, 'ids', [1, 2, 3, 4, 5, 6],
                      'Servo ids in joint_names order (used without a calibration file).')
        names = declare(self, 'joint_names', list(SO101_JOINTS),
                        'Joint names, arm joints then the gripper (command order).')
        calibration_file = declare(
            self, 'calibration_file', '',
            "Calibration JSON, ours or LeRobot's ('' = full range, no offset).")
        rate = declare(self, 'control_rate_hz', 30.0, 'Control loop (and joint_states) rate.')
        step = declare(self, 'max_joint_step', 0.05,
                       'Largest goal change per control tick, rad (gripper: same servo angle).')
        timeout = declare(self, 'command_timeout_s', 0.5,
                          'Hold position when no joint_commands came for this long.')
        home = declare(self, 'home_joint_positions', [0.0],
                       'Home pose for reset_to_home in joint units ([0.0] = range middles).')
        home_speed = declare(self, 'home_speed', 0.5, 'Speed of the move home, rad/s.')
        max_failed = declare(self, 'max_failed_ticks', 5,
                             'Consecutive failed bus ticks before motion stops.')
        on_fault = declare(self, 'on_fault', 'hold',
                           "After max_failed_ticks: 'hold' (last goal) or 'torque_off'.")
        on_shutdown = declare(self, 'on_shutdown', 'hold',
                              "On exit: 'hold' (torque on) or 'torque_off'.")
        acceleration = declare(self, 'acceleration', 254,
                               'Servo Acceleration register (0-254, x100 step/s^2; 0 = none).')
        p_gain = declare(self, 'p_coefficient', 16, 'Servo position P gain (EEPROM).')
        reconnect = declare(self, 'reconnect_period_s', 1.0,
                            'Time between attempts to reopen a lost port.')
        self._robot = declare(self, 'robot', 'so101',
                              "robot_description to publish ('so101', '' = none).")
        self._diagnostics_period = 1.0 / declare(self, 'diagnostics_rate_hz', 2.0,
                                                 'Rate of /diagnostics.')
        if calibration_file:
            try:
                calibration = load_calibration(calibration_file).select(names)
            except CalibrationError as error:
                raise ValueError(str(error)) from None
        else:
            calibration = ArmCalibration.default(names, ids)
        config = DriverConfig(
            control_rate_hz=rate, max_joint_step=step, command_timeout_s=timeout,
            home_positions=None if list(home) == [0.0] else list(home), home_speed=home_speed,
            max_failed_ticks=max_failed, on_fault=on_fault, on_shutdown=on_shutdown,
            acceleration=acceleration, p_coefficient=p_gain, reconnect_period_s=reconnect)
        self._port = port
        self._names = calibration.names
        self._lock = threading.Lock()
        self._core = DriverCore(SdkBus(port, baud), calibration, config, log=self._log)
        self._throttle = LogThrottle(5.0)

        self._state_publisher = self.create_publisher(JointState, 'joint_states', 10)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._description = self.create_publisher(String, 'robot_description', LATCHED)
        self._publish_description()
        self.create_subscription(Float64MultiArray, 'joint_commands', self._on_command, 10)
        self.create_service(Trigger, 'reset_to_home', self._on_reset)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name='so100-bus', daemon=True)
        self._thread.start()
        self.get_logger().info(
            f'SO100 follower on {port}: joints {self._names}, servos {calibration.ids}, '
            f'{rate:g} Hz, calibration {calibration_file or "(none: full range)"}')

    def _log(self, level, text) -> None:
        logger = self.get_logger()
        if level >= 40:
            logger.error(text)
        elif level >= 30:
            logger.warning(text)
        else:
            logger.info(text)

    def _publish_description(self) -> None:
        if not self._robot:
            return
        try:
            from hilserl.sim.description import robot_description
            self._description.publish(String(data=robot_description(self._robot)))
        except Exception as error:  # a missing asset package must not stop the arm
            self.get_logger().warning(f'no robot_description for {self._robot!r}: {error}')

    def _on_command(self, msg: Float64MultiArray) -> None:
        with self._lock:
            if self._core.homing:
                return
            try:
                self._core.set_command(msg.data)
            except ValueError as error:
                if self._throttle.check('command') is not None:
                    self.get_logger().error(f'joint_commands {error}')

    def _on_reset(self, request, response):
        with self._lock:
            self._core.start_homing()
        deadline = time.monotonic() + 60.0
        result = None
        while result is None and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.01)
            with self._lock:
                result = self._core.homing_result
        response.success, response.message = result or (False, 'timed out')
        return response

    def _loop(self) -> None:
        period = self._core.config.period
        next_tick = time.monotonic()
        next_diagnostics = next_tick
        while not self._stop.is_set():
            with self._lock:
                self._core.tick()
                positions = self._core.positions() if self._core.connected else None
            try:
                if positions is not None:
                    state = JointState(name=self._names, position=positions)
                    state.header.stamp = self.get_clock().now().to_msg()
                    self._state_publisher.publish(state)
                now = time.monotonic()
                if now >= next_diagnostics:
                    next_diagnostics = now + self._diagnostics_period
                    self._publish_diagnostics()
            except Exception:  # the context is shutting down under the thread
                if self._stop.is_set():
                    return
                raise
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay < -period:  # overran (a bus time-out): do not try to catch up
                next_tick = time.monotonic()
            self._stop.wait(max(0.0, delay))

    def _publish_diagnostics(self) -> None:
        with self._lock:
            array = diagnostic_array(self._core, self._port, 'so100_follower')
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(array)

    def destroy_node(self):
        """Stop the loop and leave the servos as on_shutdown says."""
        # rclpy also destroys a node whose __init__ failed half-way (bad configuration).
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
    """Run the follower driver until shut down."""
    run_node(FollowerDriver, args)


if __name__ == '__main__':
    main()
