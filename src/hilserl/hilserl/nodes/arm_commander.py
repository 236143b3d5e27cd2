"""
Drive an arm from a Python script through the arm contract, as nav2_simple_commander drives Nav2.

:class:`ArmCommander` is the script's own node: it reads ``tcp_pose`` (published by
the safety filter), sends ``end_effector_command`` and calls the filter's ``reset``.
A move is closed-loop: every control period it sends the way left to the goal in units
of the safety filter's ``end_effector_step_sizes`` (asked of the filter), clipped to
[-1, 1], until the TCP is within the tolerance. Every command passes the safety filter,
which keeps the TCP inside its workspace bounds: a goal outside them is not reached and
the move ends with :class:`ArmCommandError` when its time is up.

:func:`running_mode` runs a mode's nodes with ``hilserl launch``'s runner on a
background thread for the duration of a ``with`` block, e.g. the simulated arm::

    with running_mode('sim', output=log_file):   # the default robot
        rclpy.init()
        arm = ArmCommander()
        print(arm.wait_for_pose().position)
        arm.move_by(dz=0.03)

``examples/drive_sim_arm.py`` is that script in full.
"""

import contextlib
from dataclasses import dataclass
import sys
import threading
import time
from typing import Iterator, Optional, Sequence, TextIO, Tuple

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand
import numpy as np
from rcl_interfaces.srv import GetParameters
import rclpy
from rclpy.node import Node
from std_srvs.srv import Trigger

GRIPPER = {'close': EndEffectorCommand.GRIPPER_CLOSE, 'stay': EndEffectorCommand.GRIPPER_STAY,
           'open': EndEffectorCommand.GRIPPER_OPEN}


class ArmCommandError(Exception):
    """The arm did not do what was asked in time; the message is one line."""


@dataclass(frozen=True)
class TcpPose:
    """The TCP in the arm's base frame: position (m) and orientation (x, y, z, w)."""

    position: Tuple[float, float, float]
    orientation: Tuple[float, float, float, float]
    frame_id: str


class ArmCommander(Node):
    """Read the TCP pose and move it, through the safety filter's topics and services."""

    def __init__(self, name: str = 'arm_commander', safety_filter: str = 'safety_filter',
                 rate_hz: float = 10.0, **kwargs):
        """Subscribe ``tcp_pose``; ``safety_filter`` is the node whose step sizes apply."""
        super().__init__(name, **kwargs)
        self._period_s = 1.0 / rate_hz
        self._pose: Optional[TcpPose] = None
        self._pose_count = 0
        self._step_sizes: Optional[np.ndarray] = None
        self.create_subscription(PoseStamped, 'tcp_pose', self._on_pose, 10)
        self._commands = self.create_publisher(EndEffectorCommand, 'end_effector_command', 10)
        self._reset = self.create_client(Trigger, 'reset')
        self._parameters = self.create_client(GetParameters,
                                              f'{safety_filter}/get_parameters')

    def _on_pose(self, msg: PoseStamped) -> None:
        p, q = msg.pose.position, msg.pose.orientation
        self._pose = TcpPose((p.x, p.y, p.z), (q.x, q.y, q.z, q.w), msg.header.frame_id)
        self._pose_count += 1

    def wait_for_pose(self, timeout_s: float = 60.0) -> TcpPose:
        """Return the next ``tcp_pose`` to arrive (the arm may still be starting)."""
        count = self._pose_count
        self._spin_until(lambda: self._pose_count > count, timeout_s,
                         'no tcp_pose arrived (is the arm and its safety filter running?)')
        return self._pose

    def move_to(self, position: Sequence[float], tolerance_m: float = 0.005,
                timeout_s: float = 20.0, gripper: str = 'stay') -> TcpPose:
        """Move the TCP to ``position`` (x, y, z in m, base frame); return the pose there."""
        goal = np.asarray(position, dtype=float)
        steps = self.step_sizes()
        deadline = time.monotonic() + timeout_s
        while True:
            pose = self.wait_for_pose(max(0.0, deadline - time.monotonic()))
            error = goal - np.asarray(pose.position)
            if np.max(np.abs(error)) <= tolerance_m:
                return pose
            if time.monotonic() > deadline:
                raise ArmCommandError(
                    f'the TCP is at {np.round(pose.position, 3).tolist()}, not within '
                    f'{tolerance_m} m of {goal.round(3).tolist()} after {timeout_s:g} s '
                    '(outside the safety bounds, or out of reach?)')
            self.send(np.clip(error / steps, -1.0, 1.0), gripper)
            self._spin_until(lambda: False, self._period_s, '')

    def move_by(self, dx: float = 0.0, dy: float = 0.0, dz: float = 0.0,
                **options) -> TcpPose:
        """Move the TCP by (dx, dy, dz) m from where it is now; options as :meth:`move_to`."""
        start = np.asarray(self.wait_for_pose().position)
        return self.move_to(start + np.array([dx, dy, dz]), **options)

    def send(self, delta_xyz: Sequence[float], gripper: str = 'stay') -> None:
        """Send one end-effector command: a move per axis in [-1, 1], the gripper's command."""
        if gripper not in GRIPPER:
            raise ValueError(f"gripper must be one of {', '.join(GRIPPER)}, not '{gripper}'")
        command = EndEffectorCommand(delta_xyz=[float(v) for v in delta_xyz],
                                     gripper=GRIPPER[gripper],
                                     source=EndEffectorCommand.SOURCE_SCRIPT)
        command.header.stamp = self.get_clock().now().to_msg()
        self._commands.publish(command)

    def step_sizes(self, timeout_s: float = 10.0) -> np.ndarray:
        """Return the safety filter's step sizes: the TCP move (m) of a command of 1.0."""
        if self._step_sizes is None:
            reply = self._call(self._parameters,
                               GetParameters.Request(names=['end_effector_step_sizes']),
                               timeout_s)
            self._step_sizes = np.array(reply.values[0].double_array_value, dtype=float)
        return self._step_sizes

    def reset(self, timeout_s: float = 30.0) -> str:
        """Send the arm home through the safety filter's ``reset``; return its message."""
        reply = self._call(self._reset, Trigger.Request(), timeout_s)
        if not reply.success:
            raise ArmCommandError(f'reset failed: {reply.message}')
        return reply.message

    def _call(self, client, request, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        self._spin_until(client.service_is_ready, timeout_s,
                         f'no {client.srv_name} service (is the safety filter running?)')
        future = client.call_async(request)
        self._spin_until(future.done, max(0.0, deadline - time.monotonic()),
                         f'{client.srv_name} did not answer')
        return future.result()

    def _spin_until(self, condition, timeout_s: float, failure: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                if failure:
                    raise ArmCommandError(f'{failure} within {timeout_s:g} s')
                return
            rclpy.spin_once(self, timeout_sec=min(left, 0.05))


@contextlib.contextmanager
def running_mode(mode: str, output: Optional[TextIO] = None, **arguments) -> Iterator[None]:
    """
    Run ``hilserl launch <mode> name:=value ...`` in the background during the block.

    ``arguments`` are the mode's (booleans become ``true``/``false``); the nodes' output
    goes to ``output`` (default: stdout). Leaving the block stops the nodes as Ctrl-C
    stops ``hilserl launch``. An unknown mode or argument raises GraphError.
    """
    from hilserl.launching.graph import GraphError
    from hilserl.launching.modes import MODES
    from hilserl.launching.runner import GraphRunner
    if mode not in MODES:
        raise GraphError(f"no mode '{mode}'; the modes are {', '.join(sorted(MODES))}")
    values = {name: ('true' if value else 'false') if isinstance(value, bool) else str(value)
              for name, value in arguments.items()}
    runner = GraphRunner(MODES[mode], values, output or sys.stdout, interactive=False)
    thread = threading.Thread(target=runner.run, name=f'hilserl_{mode}', daemon=True)
    thread.start()
    try:
        yield
    finally:
        runner.request_stop()
        thread.join()
