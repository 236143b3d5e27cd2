"""
An external arm (driver.kind external): the safety filter drives a user's ros2_control stack.

A stand-in for a ros2_control arm runs in its own process (tests/helpers/
ros2_control_standin.py): joint states on /joint_states, joint targets on
/forward_position_controller/commands, homing on /arm/reset_to_home. The robot file,
written into tmp_path, names those; the mode's graph starts no driver and remaps the
filter onto them. End-effector commands must move the stand-in; /reset must home it.
"""

import os
import sys

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand
import numpy as np
from sensor_msgs.msg import JointState
import yaml

from hilserl.arm.robot_registry import load_robot, registry_directory
from hilserl.launching.modes import MODES
from hilserl_testing.processes import wait_for_output

STANDIN = os.path.join(os.path.dirname(__file__), 'helpers', 'ros2_control_standin.py')


def external_robot_file(tmp_path):
    with open(os.path.join(registry_directory(), 'so100.yaml'), encoding='utf-8') as stream:
        content = yaml.safe_load(stream)
    content['driver'] = {'kind': 'external', 'joint_states': '/joint_states',
                         'joint_commands': '/forward_position_controller/commands',
                         'reset_service': '/arm/reset_to_home'}
    content['cameras'] = {'kind': 'external', 'names': ['front', 'wrist'],
                          'image_processor': 'image_processor.yaml'}
    path = tmp_path / 'my_ros2_control_arm.yaml'
    path.write_text(yaml.safe_dump(content))
    return str(path)


def test_the_filter_commands_and_homes_an_external_ros2_control_arm(
        processes, probe, tmp_path):
    path = external_robot_file(tmp_path)
    robot = load_robot(path)
    nodes = MODES['record'].nodes({'robot': path, 'teleop': 'gamepad'})
    # No driver and no camera node: the user's stack has them.
    assert [spec.executable for spec in nodes][:2] == ['safety_filter', 'image_processor']
    safety_filter = nodes[0]
    home = ','.join(str(value) for value in robot.home_joint_positions)
    standin = processes.start([sys.executable, STANDIN, ','.join(robot.joint_names), home],
                              'standin')
    wait_for_output(standin, 'stand-in ready', timeout=30)
    processes.start_node(safety_filter)
    states = probe.subscribe(JointState, '/joint_states', 10)
    poses = probe.subscribe(PoseStamped, '/tcp_pose', 10)
    commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
    probe.wait_for_subscribers(commands, timeout=30)
    poses.wait_for_messages(1, timeout=30)
    start = poses.messages[-1].pose.position.z
    # Down until the stand-in has taken the filter's joint targets and the TCP moved.
    for _ in range(30):
        commands.publish(EndEffectorCommand(delta_xyz=[0.0, 0.0, -1.0],
                                            gripper=EndEffectorCommand.GRIPPER_STAY))
        probe.spin_for(0.1)
    wait_for_output(standin, 'commanded 10', timeout=10)
    lowest = min(msg.pose.position.z for msg in poses.messages)
    assert lowest < start - 0.02
    assert lowest >= robot.safety.bounds_min[2] - 1e-3
    moved = np.array(states.messages[-1].position)
    assert not np.allclose(moved, robot.home_joint_positions, atol=1e-3)
    # /reset: the filter calls the stack's homing service and holds the new pose.
    before = len(states.messages)
    reply = probe.trigger('/reset', timeout=30)
    assert reply.success, reply.message
    wait_for_output(standin, 'reset_to_home called', timeout=10)
    probe.spin_until(lambda: any(np.allclose(msg.position, robot.home_joint_positions,
                                             atol=1e-6) for msg in states.messages[before:]),
                     10, 'the stand-in back at home')
