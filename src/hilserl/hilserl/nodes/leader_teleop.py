"""
Leader-arm teleoperation: the follower's TCP is commanded toward the leader's.

Subscribes ``leader/joint_states`` (from the leader arm's driver, the robot file's
``teleop_leader``) and the follower's ``tcp_pose`` (from the safety filter); FK of the
leader's joints, with the same description and TCP parameters as the safety filter,
gives the leader's TCP (see :mod:`hilserl.human.teleop.leader_mapping`). The modes set
those from the robot file, as for the filter; there is no default arm. Who is in control is
switched by a gamepad button (``joy``, ``intervention_button``) and/or Space in
the terminal on stdin, when there is one.

Commands are published all the time, also while the policy is in control: the
consumer (the actor or the episode manager) executes them only during an
intervention, and can compare them with the policy's actions meanwhile. Put
the leader where the follower is before taking over, or the follower will
travel to the leader at full step speed.
"""

import time

from geometry_msgs.msg import PoseStamped
from rclpy import Parameter
from sensor_msgs.msg import JointState, Joy

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.robot_registry import default_joint_names
from hilserl.human.teleop.common import InterventionSwitch, TeleopCommand
from hilserl.human.teleop.keyboard import SESSION_ACTIONS
from hilserl.human.teleop.leader_mapping import GripperHysteresis, LeaderFollowing
from hilserl.human.teleop.terminal import NotATerminal
from hilserl_common.log_throttle import LogThrottle
from hilserl_common.node_support import declare, run_node
from hilserl.ros.teleop_output import TeleopNode


class LeaderTeleopNode(TeleopNode):
    """Thin ROS shell around :class:`hilserl.human.teleop.leader_mapping.LeaderFollowing`."""

    def __init__(self, **kwargs):
        """Load the kinematics and wire leader, follower, gamepad and terminal."""
        super().__init__('leader_teleop', **kwargs)
        description = declare(self, 'robot_description_path', '',
                              "URDF or MJCF of the leader, the follower's as the safety "
                              'filter has it (required; a mode sets it from the robot file).')
        tcp_frame = declare(self, 'tcp_frame', '',
                            "Frame of the TCP, the safety filter's (required).")
        tcp_offset = declare(self, 'tcp_offset', [0.0, 0.0, 0.0], 'TCP in tcp_frame (m).')
        tcp_rpy = declare(self, 'tcp_rpy', [0.0, 0.0, 0.0], 'TCP rotation in tcp_frame (rad).')
        default_arm, default_gripper = default_joint_names()
        arm_joints = declare(self, 'arm_joint_names', list(default_arm),
                             'Leader arm joints used for FK, in tree order.')
        gripper_joint = declare(self, 'gripper_joint_name', default_gripper,
                                "The leader's gripper joint.")
        offsets = declare(self, 'leader_joint_offsets', Parameter.Type.DOUBLE_ARRAY,
                          "Added to the leader's arm joints before FK (rad); unset: zeros.")
        if not description or not tcp_frame:
            raise ValueError('robot_description_path and tcp_frame are required: the '
                             "follower's description and TCP frame, as the safety filter has "
                             "them (the modes set them from the robot file; the teleop_leader "
                             "mapping file has them for a node started by hand)")
        kinematics = Kinematics(resolve_description(description), tcp_frame, arm_joints,
                                tcp_offset=tcp_offset, tcp_rpy=tcp_rpy)
        gripper = GripperHysteresis(
            declare(self, 'gripper_close_below', 0.3,
                    'Leader gripper position below which the command is CLOSE.'),
            declare(self, 'gripper_open_above', 0.7,
                    'Leader gripper position above which the command is OPEN.'))
        self._following = LeaderFollowing(
            lambda q: kinematics.forward(q)[0], arm_joints, gripper_joint,
            declare(self, 'end_effector_step_sizes', [0.02, 0.02, 0.02],
                    "The safety filter's metres per unit of delta_xyz, per axis."),
            gripper, joint_offsets=offsets,
            input_timeout_s=declare(self, 'input_timeout_s', 0.5,
                                    'Idle command when leader or follower went silent this '
                                    'long, s.'))
        self._button = declare(self, 'intervention_button', -1,
                               'Gamepad button (on joy) that switches control; -1: none.')
        self._switch = InterventionSwitch(declare(
            self, 'intervention_mode', 'toggle',
            "'hold': in control while the button is held; 'toggle': each press."))
        self._throttle = LogThrottle(5.0)
        self.create_subscription(JointState, 'leader/joint_states', self._on_leader, 10)
        self.create_subscription(PoseStamped, 'tcp_pose', self._on_follower, 10)
        if self._button >= 0:
            self.create_subscription(Joy, 'joy', self._on_joy, 10)
        ways = [f'gamepad button {self._button}'] if self._button >= 0 else []
        bindings = self.declare_key_bindings(SESSION_ACTIONS)
        if declare(self, 'use_terminal', True, 'Read keys (Space: take over) when stdin is '
                   'a terminal.'):
            try:
                self.attach_terminal(self._on_key)
                ways.append('keys')
                self.status.print(bindings.help_line())
            except NotATerminal:
                pass
        self._bindings = bindings
        if not ways:
            self.get_logger().warning('no intervention_button and no terminal: nothing can '
                                      'switch control to the human')
        self.get_logger().info(f"leader {arm_joints} + {gripper_joint}; control switched by "
                               f"{' and '.join(ways) or 'nothing'}")

    def _on_leader(self, msg: JointState) -> None:
        problem = self._following.leader_joints(dict(zip(msg.name, msg.position)),
                                                time.monotonic())
        if problem is not None and self._throttle.check(problem) is not None:
            self.get_logger().error(problem)

    def _on_follower(self, msg: PoseStamped) -> None:
        position = msg.pose.position
        self._following.follower_pose([position.x, position.y, position.z], time.monotonic())

    def _on_joy(self, msg: Joy) -> None:
        pressed = self._button < len(msg.buttons) and bool(msg.buttons[self._button])
        self.set_intervention(self._switch.button(pressed))

    def _on_key(self, key: str, now: float) -> None:
        action = self._bindings.action(key)
        if action == 'intervention':
            self.set_intervention(self._switch.toggle())
        else:
            self.session_action(action)

    def current_command(self, now: float) -> TeleopCommand:
        """Return the move toward the leader's TCP and its gripper command."""
        return self._following.command(now)


def main(args=None):
    """Run the leader-arm teleop until shut down."""
    run_node(LeaderTeleopNode, args)


if __name__ == '__main__':
    main()
