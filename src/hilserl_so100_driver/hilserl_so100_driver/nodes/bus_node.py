"""
What the follower and the leader arm nodes share: one servo bus, driven on a thread.

:class:`ServoBusNode` declares the bus parameters, loads the calibration, runs
:class:`hilserl_so100_driver.driver_core.DriverCore` at ``control_rate_hz`` on a
thread of its own (a bus time-out must not stall the executor), publishes
``/diagnostics`` and leaves the servos as the core's shutdown says.  The leader
starts the loop at once; the follower, a managed node, from activation to
deactivation.
"""

import os
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from sensor_msgs.msg import JointState

from hilserl_common.node_support import declare
from hilserl_so100_driver.calibration import (ArmCalibration, CalibrationError,
                                              load_calibration, SO101_JOINTS)
from hilserl_so100_driver.driver_config import DriverConfig, ERROR, LEVEL_NAMES, OK, WARN
from hilserl_so100_driver.driver_core import DriverCore
from hilserl_so100_driver.sdk_bus import SdkBus

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


class ServoBusNode(Node):
    """Base of the SO100 nodes: parameters, bus thread, diagnostics and shutdown."""

    def _declare_bus(self, default_port: str):
        """Declare the bus parameters; return ``(port, baud, calibration)``."""
        port = declare(self, 'port', default_port, 'Serial port of the servo bus adapter.')
        baud = declare(self, 'baud', 1000000, 'Bus bit rate (the STS3215 default: 1000000).')
        ids = declare(self, 'ids', [1, 2, 3, 4, 5, 6],
                      'Servo ids in joint_names order (used without a calibration file).')
        names = declare(self, 'joint_names', list(SO101_JOINTS),
                        'Joint names, arm joints then the gripper (command order).')
        self._calibration_file = os.path.expanduser(declare(
            self, 'calibration_file', '',
            "Calibration JSON, ours or LeRobot's ('' = full range, no offset; ~ expanded)."))
        if self._calibration_file:
            try:
                calibration = load_calibration(self._calibration_file).select(names)
            except CalibrationError as error:
                raise ValueError(str(error)) from None
        else:
            calibration = ArmCalibration.default(names, ids)
        return port, baud, calibration

    def _start_bus(self, port: str, baud: int, calibration: ArmCalibration,
                   config: DriverConfig, diagnostics_rate_hz: float, states_topic: str) -> None:
        """Set the bus up (:meth:`_create_core`) and start the loop, which connects."""
        self._create_core(port, baud, calibration, config, diagnostics_rate_hz, states_topic)
        self._start_loop()

    def _create_core(self, port: str, baud: int, calibration: ArmCalibration,
                     config: DriverConfig, diagnostics_rate_hz: float,
                     states_topic: str) -> None:
        """Make the core with ``config`` and the publishers; the port stays closed."""
        self._states = self.create_publisher(JointState, states_topic, 10)
        self._port = port
        self._names = calibration.names
        self._diagnostics_period = 1.0 / diagnostics_rate_hz
        self._lock = threading.Lock()
        self._core = DriverCore(SdkBus(port, baud), calibration, config, log=self._log)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._stop = threading.Event()
        self._thread = None

    def _start_loop(self) -> None:
        """Tick the core at ``control_rate_hz`` on a thread of its own."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f'{self.get_name()}-bus',
                                        daemon=True)
        self._thread.start()

    def _stop_loop(self) -> None:
        """Stop ticking and wait for the thread (a tick under way finishes)."""
        stop, thread = getattr(self, '_stop', None), getattr(self, '_thread', None)
        if stop is not None:
            stop.set()
        if thread is not None and thread.is_alive():
            thread.join(timeout=5.0)

    def _publish_diagnostics(self) -> None:
        """Publish the servos' diagnostics now (after a lifecycle transition)."""
        with self._lock:
            array = diagnostic_array(self._core, self._port, self.get_name())
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(array)

    def _log(self, level, text) -> None:
        logger = self.get_logger()
        if level >= 40:
            logger.error(text)
        elif level >= 30:
            logger.warning(text)
        else:
            logger.info(text)

    def _publish_positions(self, positions, stamp) -> None:
        state = JointState(name=self._names, position=positions)
        state.header.stamp = stamp
        self._states.publish(state)

    def _loop(self) -> None:
        period = self._core.config.period
        next_tick = time.monotonic()
        next_diagnostics = next_tick
        while not self._stop.is_set():
            with self._lock:
                self._core.tick()
                positions = self._core.positions() if self._core.connected else None
                array = None
                if time.monotonic() >= next_diagnostics:
                    next_diagnostics = time.monotonic() + self._diagnostics_period
                    array = diagnostic_array(self._core, self._port, self.get_name())
            try:
                stamp = self.get_clock().now().to_msg()
                if positions is not None:
                    self._publish_positions(positions, stamp)
                if array is not None:
                    array.header.stamp = stamp
                    self._diagnostics.publish(array)
            except Exception:  # the context is shutting down under the thread
                if self._stop.is_set() or not self.context.ok():
                    return
                raise
            next_tick += period
            delay = next_tick - time.monotonic()
            if delay < -period:  # overran (a bus time-out): do not try to catch up
                next_tick = time.monotonic()
            self._stop.wait(max(0.0, delay))

    def destroy_node(self):
        """Stop the loop and leave the servos as the core's on_shutdown says."""
        # rclpy also destroys a node whose __init__ failed half-way (bad configuration).
        self._stop_loop()
        if getattr(self, '_core', None) is not None:
            with self._lock:
                self._core.shutdown()
        return super().destroy_node()
