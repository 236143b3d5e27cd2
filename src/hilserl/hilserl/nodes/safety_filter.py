"""
End-effector commands in, safe joint position targets out.

Subscribes ``end_effector_command`` (hilserl_interfaces/EndEffectorCommand) and
``joint_states``; publishes ``joint_commands`` (std_msgs/Float64MultiArray in
``arm_joint_names`` + gripper order, what a ros2_control forward position
controller takes), ``tcp_pose`` and ``safety_markers`` (the bounds box and the
current target, for rviz). The guarantees are in :mod:`hilserl.arm.safety_filter`.

``reset`` (std_srvs/Trigger) is how an episode starts: the filter stops
commanding, calls the arm's ``reset_to_home``, and once the arm reports its new
pose holds it there. Nothing else should call the arm's reset while the filter
commands the arm, or the two would fight.
"""

import time
from typing import Optional

from geometry_msgs.msg import Point, PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand
import numpy as np
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker, MarkerArray

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.robot_registry import default_joint_names
from hilserl.arm.safety_filter import SafetyConfig, SafetyFilter
from hilserl.defaults import ARM_CONTROL_RATE_HZ, BASE_FRAME
from hilserl.ros.robot_description import wait_for_robot_description
from hilserl_common.log_throttle import LogThrottle
from hilserl_common.node_support import declare, run_node


def rotation_to_quaternion(rotation: np.ndarray):
    """Return (x, y, z, w) of a rotation matrix."""
    trace = np.trace(rotation)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        return ((rotation[2, 1] - rotation[1, 2]) / s, (rotation[0, 2] - rotation[2, 0]) / s,
                (rotation[1, 0] - rotation[0, 1]) / s, 0.25 * s)
    i = int(np.argmax(np.diag(rotation)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = 2.0 * np.sqrt(1.0 + rotation[i, i] - rotation[j, j] - rotation[k, k])
    q = [0.0, 0.0, 0.0, 0.0]
    q[i] = 0.25 * s
    q[j] = (rotation[j, i] + rotation[i, j]) / s
    q[k] = (rotation[k, i] + rotation[i, k]) / s
    q[3] = (rotation[k, j] - rotation[j, k]) / s
    return tuple(q)


def bounds_marker(frame_id: str, low: np.ndarray, high: np.ndarray) -> Marker:
    """Return the twelve edges of the bounds box as a LINE_LIST marker."""
    marker = Marker(type=Marker.LINE_LIST, action=Marker.ADD, ns='end_effector_bounds', id=0)
    marker.header.frame_id = frame_id
    marker.pose.orientation.w = 1.0
    marker.scale.x = 0.003
    marker.color.r, marker.color.g, marker.color.b, marker.color.a = 1.0, 0.6, 0.0, 1.0
    corners = [np.array([x, y, z]) for x in (low[0], high[0]) for y in (low[1], high[1])
               for z in (low[2], high[2])]
    for a in range(8):
        for b in range(a + 1, 8):
            if np.count_nonzero(corners[a] != corners[b]) == 1:  # differ on one axis: an edge
                marker.points += [Point(x=float(v[0]), y=float(v[1]), z=float(v[2]))
                                  for v in (corners[a], corners[b])]
    return marker


class SafetyFilterNode(Node):
    """Thin ROS shell around :class:`hilserl.arm.safety_filter.SafetyFilter`."""

    def __init__(self, **kwargs):
        """Load the kinematics, declare limits and wire the topics."""
        super().__init__('safety_filter', **kwargs)
        description = declare(self, 'robot_description_path', '',
                              'URDF or MJCF for kinematics; package://<python package>/<file> '
                              'looks in an installed package. This or '
                              'robot_description_topic is required (a mode sets it from the '
                              "robot file's description.source).")
        description_topic = declare(
            self, 'robot_description_topic', '',
            'Take the URDF from this std_msgs/String topic (transient local, as '
            'robot_state_publisher publishes it, e.g. /robot_description) instead of a file; '
            'the filter waits for it at start-up.')
        description_timeout_s = declare(
            self, 'robot_description_timeout_s', 10.0,
            'Give up at start-up when no URDF arrived on robot_description_topic in this '
            'long (s).')
        tcp_frame = declare(self, 'tcp_frame', '',
                            'Frame (URDF link, MJCF body or site) the TCP is attached to '
                            '(required).')
        tcp_offset = declare(self, 'tcp_offset', [0.0, 0.0, 0.0],
                             'TCP position in tcp_frame (m).')
        tcp_rpy = declare(self, 'tcp_rpy', [0.0, 0.0, 0.0],
                          'TCP orientation in tcp_frame (rad) so that its z axis is the '
                          'approach direction.')
        arm_joints, gripper_joint = default_joint_names()
        self._arm_joints = declare(self, 'arm_joint_names', list(arm_joints),
                                   'Arm joints moved by IK, in kinematic-tree order.')
        self._gripper_joint = declare(self, 'gripper_joint_name', gripper_joint,
                                      'Gripper joint, appended to the command vector.')
        self._base_frame = declare(self, 'base_frame', BASE_FRAME,
                                   'Frame of TCP pose and markers (the URDF root link).')
        rest = declare(self, 'rest_joint_positions', Parameter.Type.DOUBLE_ARRAY,
                       'Posture IK drifts toward in redundant directions, one per arm joint '
                       "(the robot file's arm.home); unset: none, IK stays near the current "
                       'posture.')
        bounds_min = declare(self, 'end_effector_bounds.min', [0.15, -0.15, 0.03],
                             'Lowest TCP target x, y, z (m) in base_frame.')
        bounds_max = declare(self, 'end_effector_bounds.max', [0.35, 0.15, 0.25],
                             'Highest TCP target x, y, z (m) in base_frame.')
        config = SafetyConfig(
            bounds_min=bounds_min, bounds_max=bounds_max,
            end_effector_step_sizes=declare(self, 'end_effector_step_sizes',
                                            [0.02, 0.02, 0.02],
                                            'Metres per unit of delta_xyz, per axis.'),
            rotation_step_size=declare(self, 'rotation_step_size', 0.1,
                                       'Radians per unit of delta_rotation.'),
            max_joint_step=declare(self, 'max_joint_step', 0.05,
                                   'Largest change of any arm joint target per tick (rad).'),
            gripper_open=declare(self, 'gripper_open', 1.5, 'Gripper joint position: open.'),
            gripper_closed=declare(self, 'gripper_closed', 0.0,
                                   'Gripper joint position: closed.'),
            max_gripper_step=declare(self, 'max_gripper_step', 0.3,
                                     'Largest change of the gripper target per tick.'),
            command_timeout_s=declare(self, 'command_timeout_s', 0.5,
                                      'Hold position when no command came for this long.'),
            reanchor_distance=declare(self, 'reanchor_distance', 0.05,
                                      'Moves start from the measured TCP once it lags the '
                                      'target by more than this (m).'),
            hold_orientation=declare(self, 'hold_orientation', 'initial',
                                     "TCP orientation IK keeps: 'initial', 'down' or 'free'."),
            orientation_weight=declare(self, 'orientation_weight', 0.5,
                                       'Share of the orientation error each IK iteration '
                                       'corrects, (0, 1]; position always comes first.'))
        rate = declare(self, 'control_rate_hz', ARM_CONTROL_RATE_HZ,
                       'Ticks per second of the joint targets.')
        self._ticks_per_command = declare(
            self, 'ticks_per_command', 0,
            'Lock-step simulation: tick this many times per end_effector_command, the first '
            'on arrival, then wait for the next command (after command_timeout_s without '
            'one, tick on the timer again); 0: always tick on the timer (real time).')
        self._reset_timeout_s = declare(
            self, 'reset_timeout_s', 30.0,
            'Give up on a reset_to_home the arm has not answered in this long (s), so a '
            'lost reply cannot leave the arm without commands for good.')
        if rate <= 0 or not self._reset_timeout_s > 0 or self._ticks_per_command < 0:
            raise ValueError('control_rate_hz and reset_timeout_s must be positive and '
                             f'ticks_per_command >= 0, got {rate}, {self._reset_timeout_s} '
                             f'and {self._ticks_per_command}')
        if rest and len(rest) != len(self._arm_joints):
            raise ValueError('rest_joint_positions needs one value per arm joint')
        if bool(description) == bool(description_topic):
            raise ValueError('give the robot description as robot_description_path (a URDF '
                             'or MJCF) or robot_description_topic, one of the two; the modes '
                             "set it from the robot file's description.source")
        if not tcp_frame:
            raise ValueError('tcp_frame is required: the frame of the description the TCP '
                             "is attached to (the robot file's tcp.frame)")
        urdf = None
        if description_topic:
            urdf = wait_for_robot_description(self, description_topic, description_timeout_s)
            description = self.resolve_topic_name(description_topic)
        else:
            description = resolve_description(description)
        self._kinematics = Kinematics(description, tcp_frame, self._arm_joints,
                                      tcp_offset=tcp_offset, tcp_rpy=tcp_rpy, urdf_text=urdf)
        self._config = config
        self._rest = np.array(rest) if rest else None
        self._filter: Optional[SafetyFilter] = None
        self._measured_arm: Optional[np.ndarray] = None
        # Joint states stamped before this (ns) predate the last reset and are ignored.
        self._fresh_after_ns = 0
        self._resetting = False
        self._latest_state: Optional[JointState] = None
        self._throttle = LogThrottle(5.0)
        self._ticks_left = 0            # of the current command, with ticks_per_command
        self._last_command_s = -np.inf  # monotonic time of the last command

        self._command_publisher = self.create_publisher(Float64MultiArray, 'joint_commands', 10)
        self._pose_publisher = self.create_publisher(PoseStamped, 'tcp_pose', 10)
        self._marker_publisher = self.create_publisher(MarkerArray, 'safety_markers', 10)
        self.create_subscription(JointState, 'joint_states', self._on_joint_states, 10)
        self.create_subscription(EndEffectorCommand, 'end_effector_command', self._on_command,
                                 10)
        self._timer = self.create_timer(1.0 / rate, self._on_timer)
        # The reply to reset_to_home arrives while _on_reset awaits it; in the default
        # (mutually exclusive) group it would wait for _on_reset to finish: a deadlock.
        self._arm_reset = self.create_client(Trigger, 'reset_to_home',
                                             callback_group=ReentrantCallbackGroup())
        self.create_service(Trigger, 'reset', self._on_reset)
        self.get_logger().info(
            f'bounds {list(bounds_min)}..{list(bounds_max)} m, steps '
            f'{config.end_effector_step_sizes.tolist()} m, joints {self._arm_joints} + '
            f'{self._gripper_joint}')

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    async def _on_reset(self, request, response):
        if not self._arm_reset.service_is_ready():
            response.success = False
            response.message = f'the arm offers no {self._arm_reset.srv_name} service'
            return response
        self._resetting = True
        self._filter = None  # send nothing while the arm moves home
        reply = self._arm_reset.call_async(Trigger.Request())
        # Cancelling the future ends the await with None.
        give_up = self.create_timer(self._reset_timeout_s, reply.cancel,
                                    callback_group=self._arm_reset.callback_group)
        try:
            result = await reply
        finally:
            self.destroy_timer(give_up)
            # The arm answers once it is home; a state stamped before the answer may still
            # show the old pose (published while the reset was under way), and holding
            # that pose would drive the arm back out of home.
            self._fresh_after_ns = self.get_clock().now().nanoseconds
            self._resetting = False
        if result is None:
            response.success = False
            response.message = (f'{self._arm_reset.srv_name} did not answer within '
                                f'{self._reset_timeout_s:g} s')
            self.get_logger().error(response.message)
        else:
            response.success, response.message = result.success, result.message
        return response

    def _on_joint_states(self, msg: JointState) -> None:
        self._latest_state = msg
        stamp_ns = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        if self._resetting or stamp_ns < self._fresh_after_ns:
            return
        positions = dict(zip(msg.name, msg.position))
        try:
            arm = np.array([positions[name] for name in self._arm_joints])
            gripper = positions[self._gripper_joint]
        except KeyError as missing:
            self._report('joint_states', f'joint_states lacks joint {missing}')
            return
        self._measured_arm = arm
        if self._filter is None:
            self._filter = SafetyFilter(self._kinematics, self._config, arm, gripper,
                                        rest_q=self._rest)
            self.get_logger().info('joint_states received; holding the current pose')
        self._publish_pose(msg)

    def _on_command(self, msg: EndEffectorCommand) -> None:
        if self._filter is None:
            self._report('no joint_states', 'command ignored: no joint_states received yet')
            return
        rotation = list(msg.delta_rotation) if msg.has_rotation else None
        refused_before = self._filter.ik_refused
        reason = self._filter.command(list(msg.delta_xyz), msg.gripper, self._measured_arm,
                                      self._now(), rotation)
        if reason is not None:
            self._report('rejected',
                         f'command rejected ({self._filter.rejected} so far): {reason}')
        elif self._filter.ik_refused > refused_before:
            self._report('ik', f'target {self._filter.tcp_target.round(3).tolist()} is out of '
                         'reach in the held orientation; keeping the previous goal')
        self._last_command_s = time.monotonic()
        if self._ticks_per_command:
            # A lock-stepped arm moves only when ticked: each command gets the same number
            # of ticks, the first now and the rest one timer period apart, so every
            # command moves the arm alike however late it arrived.
            self._ticks_left = self._ticks_per_command
            self._timer.reset()
            self._on_timer()

    def _on_timer(self) -> None:
        if not self._ticks_per_command:
            self._tick()
        elif self._ticks_left > 0:
            self._ticks_left -= 1
            self._tick()
        elif time.monotonic() - self._last_command_s > self._config.command_timeout_s:
            self._tick()  # nobody commands: hold the pose in real time

    def _tick(self) -> None:
        if self._filter is None:
            return
        arm, gripper = self._filter.tick(self._now())
        self._command_publisher.publish(Float64MultiArray(data=[*arm.tolist(), gripper]))
        self._publish_markers()

    def _publish_pose(self, msg: JointState) -> None:
        position, rotation = self._kinematics.forward(self._measured_arm)
        pose = PoseStamped()
        pose.header.stamp = msg.header.stamp
        pose.header.frame_id = self._base_frame
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = position.tolist()
        quaternion = rotation_to_quaternion(rotation)
        (pose.pose.orientation.x, pose.pose.orientation.y, pose.pose.orientation.z,
         pose.pose.orientation.w) = quaternion
        self._pose_publisher.publish(pose)

    def _publish_markers(self) -> None:
        markers = MarkerArray()
        box = bounds_marker(self._base_frame, self._config.bounds_min, self._config.bounds_max)
        markers.markers.append(box)
        target = Marker(type=Marker.SPHERE, action=Marker.ADD, ns='tcp_target', id=1)
        target.header.frame_id = self._base_frame
        target.pose.orientation.w = 1.0
        target.scale.x = target.scale.y = target.scale.z = 0.015
        target.color.g, target.color.a = 1.0, 0.9
        if self._filter.tcp_target is None:
            target.action = Marker.DELETE
        else:
            x, y, z = self._filter.tcp_target.tolist()
            target.pose.position = Point(x=x, y=y, z=z)
        markers.markers.append(target)
        self._marker_publisher.publish(markers)

    def _report(self, kind: str, problem: str) -> None:
        suppressed = self._throttle.check(kind)
        if suppressed is not None:
            more = f' ({suppressed} similar since the last report)' if suppressed else ''
            self.get_logger().error(problem + more)


def main(args=None):
    """Run the safety filter until shut down."""
    run_node(SafetyFilterNode, args)


if __name__ == '__main__':
    main()
