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

A managed (lifecycle) node: ``ros2 lifecycle set /so100_follower <transition>``
(or ``hilserl lifecycle set``) moves it through the steps of
:mod:`hilserl_so100_driver.driver_connection`:

* configure: open the port, check that every servo answers, save the
  calibration (offsets, limits) and gains to the servos with torque off;
* activate: goal := present position, torque on, then the control loop runs
  (``joint_states``, ``/diagnostics``, commands, ``reset_to_home``);
* deactivate: the loop stops and commands are refused; the arm holds where it
  is, then torque goes off if ``on_fault`` is ``'torque_off'`` (a deactivated
  driver leaves the arm as a bus fault would; ``'hold'`` keeps torque on);
* cleanup: the port is closed; shutdown, Ctrl-C and SIGTERM apply
  ``on_shutdown``.

With ``autostart`` (the default) the node configures and activates itself as it
starts, and while configure fails (no adapter, a silent servo) tries again every
``reconnect_period_s``: ``ros2 run`` gives a working driver.  The launch files
and ``hilserl launch`` start it with ``autostart:=false`` and bring it up
before the nodes that command it (:mod:`hilserl_common.lifecycle_support`).

``robot_description`` publishes the URDF text of parameter ``robot_description``
(as robot_state_publisher takes it): the modes pass the robot file's, with mesh
paths made absolute; '' publishes none.
"""

import time

from rclpy.lifecycle import LifecycleNode
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger

from hilserl_common.lifecycle_support import autostart, declare_autostart, transition
from hilserl_common.log_throttle import LogThrottle
from hilserl_common.node_support import declare, run_node
from hilserl_so100_driver.driver_config import DriverConfig
from hilserl_so100_driver.nodes.bus_node import ServoBusNode

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


class FollowerDriver(ServoBusNode, LifecycleNode):
    """ROS shell around the driver core; see the module docstring."""

    def __init__(self, **kwargs):
        """Read parameters and load the calibration; with ``autostart``, configure and activate."""
        super().__init__('so100_follower', **kwargs)
        port, baud, calibration = self._declare_bus('/dev/ttyACM0')
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
                           "After max_failed_ticks, and on deactivate: 'hold' (torque on at "
                           "the last goal) or 'torque_off'.")
        on_shutdown = declare(self, 'on_shutdown', 'hold',
                              "On exit: 'hold' (torque on) or 'torque_off'.")
        acceleration = declare(self, 'acceleration', 254,
                               'Servo Acceleration register (0-254, x100 step/s^2; 0 = none).')
        p_gain = declare(self, 'p_coefficient', 16, 'Servo position P gain (EEPROM).')
        reconnect = declare(self, 'reconnect_period_s', 1.0,
                            'Time between attempts to reopen a lost port (and between '
                            "autostart's configure attempts).")
        self._urdf = declare(self, 'robot_description', '',
                             'URDF text to publish on robot_description (latched); '
                             "'' publishes none.")
        diagnostics_rate = declare(self, 'diagnostics_rate_hz', 2.0, 'Rate of /diagnostics.')
        start_now = declare_autostart(self)
        config = DriverConfig(
            control_rate_hz=rate, max_joint_step=step, command_timeout_s=timeout,
            home_positions=None if list(home) == [0.0] else list(home), home_speed=home_speed,
            max_failed_ticks=max_failed, on_fault=on_fault, on_shutdown=on_shutdown,
            acceleration=acceleration, p_coefficient=p_gain, reconnect_period_s=reconnect)
        self._throttle = LogThrottle(5.0)

        self._description = self.create_publisher(String, 'robot_description', LATCHED)
        self._publish_description()
        self.create_subscription(Float64MultiArray, 'joint_commands', self._on_command, 10)
        self.create_service(Trigger, 'reset_to_home', self._on_reset)
        self._create_core(port, baud, calibration, config, diagnostics_rate, 'joint_states')
        self.get_logger().info(
            f'SO100 follower on {port}: joints {self._names}, servos {calibration.ids}, '
            f'{rate:g} Hz, calibration {self._calibration_file or "(none: full range)"}')
        if start_now:
            autostart(self, retry_s=reconnect)

    # --- lifecycle ----------------------------------------------------------------------

    def on_configure(self, state):
        """Open the port and set the servos up, torque off."""
        return transition(self, 'configure', self._configure)

    def on_activate(self, state):
        """Torque on at the present position; start the control loop."""
        return transition(self, 'activate', self._activate)

    def on_deactivate(self, state):
        """Stop the loop; hold, then torque off if ``on_fault`` says so."""
        return transition(self, 'deactivate', self._deactivate)

    def on_cleanup(self, state):
        """Close the port."""
        return transition(self, 'cleanup', self._cleanup)

    def on_shutdown(self, state):
        """Stop the loop and leave the servos as ``on_shutdown`` says."""
        return transition(self, 'shutdown', self._shutdown)

    def _configure(self):
        with self._lock:
            done = self._core.configure()
        self._publish_diagnostics()
        return None if done else self._core.last_error

    def _activate(self):
        with self._lock:
            if not self._core.activate():
                return self._core.last_error
        self._start_loop()
        return None

    def _deactivate(self):
        self._stop_loop()
        with self._lock:
            self._core.deactivate()
            lost = not self._core.connected
        if lost:
            self.get_logger().warning(f'deactivated without the bus: {self._core.last_error}')
        self._publish_diagnostics()
        return None

    def _cleanup(self):
        with self._lock:
            self._core.cleanup()
        return None

    def _shutdown(self):
        self._stop_loop()
        with self._lock:
            self._core.shutdown()
        return None

    # --- topics and services -------------------------------------------------------------

    def _publish_description(self) -> None:
        if self._urdf:
            self._description.publish(String(data=self._urdf))

    def _on_command(self, msg: Float64MultiArray) -> None:
        with self._lock:
            if not self._core.active:
                if self._throttle.check('inactive') is not None:
                    self.get_logger().warning('joint_commands ignored: the driver is not active')
                return
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
        # Ctrl-C shuts the context down: stop waiting, so that the node can stop.
        while (result is None and time.monotonic() < deadline and not self._stop.is_set()
               and self.context.ok()):
            time.sleep(0.01)
            with self._lock:
                result = self._core.homing_result
        response.success, response.message = result or (False, 'timed out')
        return response


def main(args=None):
    """Run the follower driver until shut down."""
    run_node(FollowerDriver, args)


if __name__ == '__main__':
    main()
