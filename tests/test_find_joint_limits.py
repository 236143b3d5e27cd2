"""
find_joint_limits on an emulated SO100, then the safety filter with the bounds it wrote.

The servo bus emulator runs in this process; ``so100_leader`` reads it (torque
off) and publishes the joints, which the test turns through a set of poses as
a hand would.  The finder writes ``end_effector_bounds`` into a copy of
config/so100_follower.yaml; a safety filter started with that file, driven
with commands far beyond the box, keeps the TCP inside it.
"""

import math
import os
import shutil

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand
import numpy as np
import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
import yaml

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.launching.graph import NodeSpec
from hilserl.launching.runner import node_command
from hilserl_testing.processes import wait_for_output

pytest.importorskip('scservo_sdk')
from hilserl_so100_driver.bus_emulator import BusEmulator  # noqa: E402
from hilserl_so100_driver.calibration import ArmCalibration  # noqa: E402

ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll']
REST = [0.0, -0.275, 0.15, 1.55, 0.0]
# Offsets from REST (arm joints, rad) the "hand" takes the arm through.
MOVES = [[0.4, 0, 0, 0, 0], [-0.4, 0, 0, 0, 0], [0, 0.3, 0, 0, 0], [0, -0.3, 0, 0, 0],
         [0, 0.3, -0.3, 0, 0], [0, -0.3, 0.3, 0, 0.5], [0, 0, 0, 0, 0]]
GRIPPER = 0.5
MARGIN = 0.005
# Without a calibration file the leader reads every servo over its full range.
CALIBRATION = ArmCalibration.default()
TOLERANCE = 0.003  # m, as in the safety filter's own tests


def raws(arm):
    return CALIBRATION.to_raws(list(arm) + [GRIPPER])


def as_read(arm):
    """Return the arm joints the leader reports for a pose (encoder steps are whole)."""
    return CALIBRATION.to_positions([round(r) for r in raws(arm)])[:5]


def kinematics(arm_parameters):
    return Kinematics(resolve_description(arm_parameters['robot_description_path']),
                      arm_parameters['tcp_frame'], ARM,
                      tcp_offset=arm_parameters['tcp_offset'],
                      tcp_rpy=arm_parameters['tcp_rpy'])


def sweep(probe, emulator, states, poses):
    """Turn the servos to each pose at once; wait until the leader has published it 3 times."""
    for arm in poses:
        with emulator.lock:  # a sync read sees the whole pose or none of it
            for servo_id, raw in zip(range(1, 7), raws(arm)):
                emulator.move_by_hand(servo_id, raw)
        expected = as_read(arm)
        start = len(states.messages)

        def seen(count=3):
            return sum(np.allclose(m.position[:5], expected, atol=1e-9)
                       for m in states.messages[start:]) >= count
        probe.spin_until(seen, 10, f'the leader publishing {np.round(arm, 3)}')


class EchoArm:
    """An arm on the contract that is wherever the safety filter last told it to be."""

    def __init__(self, probe, arm):
        self.probe = probe
        self.position = list(arm) + [GRIPPER]
        self.state = probe.publisher(JointState, '/joint_states', 10)
        self.targets = probe.subscribe(Float64MultiArray, '/joint_commands', 10)
        self.poses = probe.subscribe(PoseStamped, '/tcp_pose', 100)
        self.commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
        probe.wait_for_subscribers(self.state, timeout=30)
        probe.wait_for_subscribers(self.commands)
        self.targets.wait_for_publishers()
        self.report()

    def report(self):
        msg = JointState(name=ARM + ['gripper'], position=[float(v) for v in self.position])
        msg.header.stamp = self.probe.node.get_clock().now().to_msg()
        self.state.publish(msg)

    def push(self, delta, ticks):
        """Command ``delta`` at every tick for ``ticks`` ticks, following each target."""
        for _ in range(ticks):
            self.commands.publish(EndEffectorCommand(delta_xyz=[float(v) for v in delta],
                                                     gripper=EndEffectorCommand.GRIPPER_STAY))
            start = len(self.targets.messages)
            self.targets.wait_for_messages(start + 1)
            self.position = list(self.targets.messages[-1].data)
            self.report()


def test_bounds_found_by_hand_hold_in_the_safety_filter(processes, probe, config_dir,
                                                        tmp_path):
    params = str(tmp_path / 'so100.yaml')
    shutil.copy(os.path.join(config_dir, 'so100_follower.yaml'), params)
    original = yaml.safe_load(open(params))
    link = str(tmp_path / 'ttyArm')
    poses = [np.array(REST) + np.array(move) for move in MOVES]
    with BusEmulator(range(1, 7), positions=raws(REST), link=link) as emulator:
        processes.start_node(NodeSpec('so100_leader', 'so100_leader',
                                      package='hilserl_so100_driver',
                                      parameters={'port': link, 'control_rate_hz': 50.0}))
        finder = processes.start_node(NodeSpec(
            'find_joint_limits', 'find_joint_limits',
            parameters={'safety_params_file': params, 'margin': MARGIN,
                        'report_period_s': 0.5},
            remappings=(('joint_states', '/leader/joint_states'),)))
        states = probe.subscribe(JointState, '/leader/joint_states', 50)
        states.wait_for_messages(1, timeout=30)
        wait_for_output(finder, ' states; TCP (m)', 30)  # the finder hears the leader
        sweep(probe, emulator, states, poses)
        code = finder.stop()  # Ctrl-C: write and exit
    with open(finder.log_path) as stream:  # stop() closed the process's own handle
        output = stream.read()
    assert code == 0, output
    assert 'wrote end_effector_bounds' in output and 'Traceback' not in output

    written = yaml.safe_load(open(params))
    safety = written['safety_filter']['ros__parameters']
    tcp = np.array([kinematics(safety).forward(as_read(arm))[0] for arm in poses])
    low, high = safety['end_effector_bounds']['min'], safety['end_effector_bounds']['max']
    np.testing.assert_allclose(low, tcp.min(axis=0) + MARGIN, atol=1e-4)
    np.testing.assert_allclose(high, tcp.max(axis=0) - MARGIN, atol=1e-4)
    # Everything else in the file is as it was, comments included.
    del safety['end_effector_bounds'], original['safety_filter']['ros__parameters'][
        'end_effector_bounds']
    assert written == original
    text = open(params).read()
    assert '# --- Faults.' in text and '# find_joint_limits:   shoulder_pan: [-0.400, 0.400]' \
        in text

    # The safety filter with that file keeps the TCP in the box, whatever it is told.
    processes.start(node_command(NodeSpec('safety_filter', 'safety_filter'))
                    + ['--params-file', params], 'safety_filter')
    arm = EchoArm(probe, as_read(REST))
    reached_low, reached_high = np.full(3, math.inf), np.full(3, -math.inf)
    for axis in range(3):
        for sign in (1.0, -1.0):
            arm.push(sign * np.eye(3)[axis], 25)
    poses_seen = arm.poses.wait_for_messages(100)
    for pose in poses_seen:
        p = pose.pose.position
        point = np.array([p.x, p.y, p.z])
        assert np.all(point >= np.array(low) - TOLERANCE), (point, low)
        assert np.all(point <= np.array(high) + TOLERANCE), (point, high)
        reached_low = np.minimum(reached_low, point)
        reached_high = np.maximum(reached_high, point)
    # The commands did push the TCP to the walls of the box.
    np.testing.assert_allclose(reached_low, low, atol=0.01)
    np.testing.assert_allclose(reached_high, high, atol=0.01)


def test_a_parameter_file_without_the_arm_is_a_clear_startup_error(processes, tmp_path):
    params = tmp_path / 'bad.yaml'
    params.write_text('safety_filter:\n  ros__parameters:\n    tcp_frame: gripper_link\n')
    finder = processes.start_node(NodeSpec('find_joint_limits', 'find_joint_limits',
                                           parameters={'safety_params_file': str(params)}))
    assert finder.wait(timeout=30) == 78
    output = finder.output()
    assert 'lacks robot_description_path' in output and 'Traceback' not in output
    assert params.read_text().endswith('tcp_frame: gripper_link\n')  # untouched
