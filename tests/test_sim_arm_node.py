"""The simulated arms fulfil the arm contract, and swap by robot file alone."""

import collections
from dataclasses import replace

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EndEffectorCommand, SimGroundTruth
import numpy as np
import pytest
from rclpy.qos import (DurabilityPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray, String

from hilserl.arm.robot_registry import load_robot
from hilserl.launching.graph import NodeSpec
from hilserl.launching.modes import MODES
from hilserl.ros.image_conversion import image_to_array

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def sim_spec(robot='so101', **parameters):
    """Return the sim_arm node sim mode starts for ``robot`` (from its robot file)."""
    arm = MODES['sim'].nodes({'robot': robot})[0]
    return replace(arm, parameters={**arm.parameters, **parameters})


def filter_spec(robot='so101', **parameters):
    """Return the safety filter of ``robot``'s robot file."""
    return NodeSpec('safety_filter', 'safety_filter',
                    parameters={**load_robot(robot).safety_filter_parameters(), **parameters})


def test_contract_topics_and_reset(processes, probe):
    processes.start_node(sim_spec(task='reach'))
    states = probe.subscribe(JointState, '/joint_states', 10)
    truth = probe.subscribe(SimGroundTruth, '/sim/ground_truth', 10)
    description = probe.subscribe(String, '/robot_description', LATCHED)
    front = probe.subscribe(Image, '/front/image_raw', qos_profile_sensor_data)
    wrist_info = probe.subscribe(CameraInfo, '/wrist/camera_info', qos_profile_sensor_data)
    state = states.wait_for_messages(3, timeout=60)[-1]
    assert state.name[:6] == ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex',
                              'wrist_roll', 'gripper']
    np.testing.assert_allclose(state.position[:6], [0.0, -0.275, 0.15, 1.55, 0.0, 1.0],
                               atol=0.05)
    urdf = description.wait_for_messages(1)[0].data  # latched: arrives after the fact
    assert '<robot' in urdf and 'file:///' in urdf and 'filename="assets/' not in urdf
    image = image_to_array(front.wait_for_messages(1)[0])
    assert image.shape == (128, 128, 3) and image.std() > 5
    assert wrist_info.wait_for_messages(1)[0].width == 128
    first = truth.wait_for_messages(1)[-1]
    assert first.task == 'reach' and not first.success
    goal = np.array([first.goal_position.x, first.goal_position.y, first.goal_position.z])
    reply = probe.trigger('/reset_to_home')
    assert reply.success and 'episode 1' in reply.message
    truth.messages.clear()
    after = truth.wait_for_messages(1)[-1]
    assert not np.allclose(goal, [after.goal_position.x, after.goal_position.y,
                                  after.goal_position.z])  # a new layout


def test_reset_draws_the_cube_from_the_configured_region_reproducibly(processes, probe):
    region = {'cube_region.min': [0.20, -0.03], 'cube_region.max': [0.24, 0.03]}
    processes.start_node(sim_spec(task='pick_lift', camera_names=['front'], seed=7, **region))
    truth = probe.subscribe(SimGroundTruth, '/sim/ground_truth', 10)
    cubes = []
    for _ in range(3):
        truth.messages.clear()
        cubes.append(truth.wait_for_messages(1, timeout=60)[-1].object_pose.position)
        assert probe.trigger('/reset_to_home').success
    for cube in cubes:
        assert 0.20 <= cube.x <= 0.24 and -0.03 <= cube.y <= 0.03
    first_layouts = [(c.x, c.y) for c in cubes]
    processes.stop_all()
    processes.start_node(sim_spec(task='pick_lift', camera_names=['front'], seed=7, **region))
    truth.messages.clear()
    again = truth.wait_for_messages(1, timeout=60)[-1].object_pose.position
    assert (again.x, again.y) == pytest.approx(first_layouts[0], abs=1e-3)  # same seed


def test_joint_commands_are_tracked_and_bad_ones_refused(processes, probe):
    sim = processes.start_node(sim_spec())
    states = probe.subscribe(JointState, '/joint_states', 10)
    commands = probe.publisher(Float64MultiArray, '/joint_commands', 10)
    probe.wait_for_subscribers(commands)
    home = np.array(states.wait_for_messages(1)[-1].position[:6])
    target = home + [0.3, 0.0, 0.0, 0.0, 0.0, 0.0]
    commands.publish(Float64MultiArray(data=[float(v) for v in target]))
    states.wait_for(lambda m: abs(m.position[0] - target[0]) < 0.03, timeout=30,
                    what='shoulder_pan at its target')
    commands.publish(Float64MultiArray(data=[0.0, 1.0]))
    commands.publish(Float64MultiArray(data=[float('nan')] * 6))
    probe.spin_for(0.5)
    output = sim.output()
    assert 'joint_commands needs 6 finite values' in output and 'Traceback' not in output
    assert abs(states.messages[-1].position[0] - target[0]) < 0.03  # still where it was


def distinct_positions(states):
    """Return how many times the published joint positions changed, plus one."""
    positions = [tuple(m.position[:6]) for m in states.messages]
    return 1 + sum(a != b for a, b in zip(positions, positions[1:]))


def test_lock_step_advances_once_per_command(processes, probe):
    processes.start_node(sim_spec(lock_step=True, camera_names=['front']))
    states = probe.subscribe(JointState, '/joint_states', 100)
    commands = probe.publisher(Float64MultiArray, '/joint_commands', 10)
    probe.wait_for_subscribers(commands)
    start = states.wait_for_messages(1)[-1]
    # Waiting for a command, the arm still reports where it stands, at the control rate.
    states.wait_for_messages(10)
    assert distinct_positions(states) == 1
    target = list(start.position[:6])
    target[0] += 0.5  # far: every step moves the joint
    for count in range(1, 6):
        commands.publish(Float64MultiArray(data=target))
        probe.spin_until(lambda: distinct_positions(states) > count, 10, 'a step')
        seen = len(states.messages)
        states.wait_for_messages(seen + 3)  # then it stands still again
        assert distinct_positions(states) == count + 1


def test_the_filter_paces_a_lock_stepped_arm_by_its_commands(processes, probe):
    """Each end-effector command gets ticks_per_command joint targets, so 3 physics steps."""
    processes.start_node(sim_spec(lock_step=True, camera_names=['front']))
    processes.start_node(filter_spec(ticks_per_command=3, command_timeout_s=2.0))
    targets = probe.subscribe(Float64MultiArray, '/joint_commands', 100)
    commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
    probe.wait_for_subscribers(commands)
    # Nobody commands yet: the filter holds the pose in real time.
    targets.wait_for_messages(3, timeout=60)
    up = EndEffectorCommand(delta_xyz=[0.0, 0.0, 1.0], gripper=EndEffectorCommand.GRIPPER_STAY)
    commands.publish(up)  # from here on the commands pace the filter
    probe.spin_for(0.5)
    for _ in range(4):
        targets.messages.clear()
        commands.publish(up)
        targets.wait_for_messages(3)
        probe.spin_for(0.3)  # ample for a tick too many, well inside command_timeout_s
        assert len(targets.messages) == 3
    # Once commands stop for command_timeout_s, it holds the pose in real time again.
    targets.wait_for_messages(10, timeout=10)


@pytest.mark.parametrize('robot', ['so101', 'panda'])
def test_the_same_command_stream_drives_either_arm(processes, probe, robot):
    """Only the robot file differs between the two runs."""
    processes.start_node(sim_spec(robot, task='reach', camera_names=['front']))
    processes.start_node(filter_spec(robot))
    poses = probe.subscribe(PoseStamped, '/tcp_pose', 10)
    commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
    probe.wait_for_subscribers(commands)
    poses.wait_for_messages(1, timeout=60)

    def position():
        p = poses.messages[-1].pose.position
        return np.array([p.x, p.y, p.z])

    def hold(until, seconds=10.0):
        """Send zero commands, as a teleop stream does, until ``until()`` (True) or timeout."""
        for _ in range(round(seconds / 0.1)):
            probe.spin_for(0.1)
            if until():
                return True
            commands.publish(EndEffectorCommand(delta_xyz=[0.0, 0.0, 0.0],
                                                gripper=EndEffectorCommand.GRIPPER_CLOSE))
        return False

    # The probe cannot see when the filter's joint_commands reach the arm; a first small
    # move shows the whole chain is connected before the stream starts. One 1 cm step at
    # a time, each given 2 s to show: a stream of them would bank a load-dependent drop,
    # and the stream's 4 cm down must stay above the box's floor (1 cm on the SO-101).
    first = position()
    for _ in range(15):
        commands.publish(EndEffectorCommand(delta_xyz=[0.0, 0.0, -0.5]))
        if hold(lambda: position()[2] < first[2] - 0.005, seconds=2.0):
            break
    probe.spin_for(0.6)  # longer than command_timeout_s: the arm holds still

    start = position()
    # Each step waits until the arm has covered most of it, sending zero commands
    # meanwhile as a teleop stream does: how fast the servos follow depends on the
    # machine's load, and a step sent too early would start from a lagging arm.
    stream = [([0.0, 1.0, 0.0], 4), ([-1.0, 0.0, 0.0], 3), ([0.0, 0.0, -1.0], 2)]
    for delta, repeats in stream:
        axis = np.array(delta)
        for _ in range(repeats):
            origin = position()
            commands.publish(EndEffectorCommand(delta_xyz=delta,
                                                gripper=EndEffectorCommand.GRIPPER_CLOSE))
            hold(lambda: (position() - origin) @ axis > 0.015)
    recent = collections.deque(maxlen=4)  # the last 0.3 s of positions

    def settled():
        recent.append(position())
        return len(recent) == 4 and np.linalg.norm(recent[-1] - recent[0]) < 5e-4

    hold(settled)
    moved = position() - start
    # 4, 3 and 2 steps of 2 cm (SO-101) or 2.5 cm (Panda), less the servos' steady sag.
    assert moved[1] > 0.06 and moved[0] < -0.045 and moved[2] < -0.03, moved
