"""
An arm whose URDF comes from its stack's robot_description topic (description.source: topic).

robot_state_publisher, in every ros2_control stack, publishes the URDF as a
std_msgs/String with transient-local durability. Here the probe does so, with the URDF
the so101 robot file points at, before the safety filter starts; the filter, started
with the parameters of a robot file that says ``description: {source: topic}``, must
clamp a command that leaves the workspace box exactly as the same filter reading the
file does. Without a description on the topic it stops with one line naming it.
"""

from dataclasses import replace

from hilserl_interfaces.msg import EndEffectorCommand
import numpy as np
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String
from visualization_msgs.msg import Marker, MarkerArray
import yaml

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.robot_registry import load_robot, robot_file_path
from hilserl.launching.mode_parts import safety_filter_node

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
COMMANDS = '/forward_position_controller/commands'
# Half a metre per full command: one command leaves the box on x and z at once.
STEP = 0.5


def external_arm_file(tmp_path, name, description):
    """Write the so101 arm as an external ros2_control arm with ``description``."""
    with open(robot_file_path('so101'), encoding='utf-8') as stream:
        content = yaml.safe_load(stream)
    del content['sim'], content['teleop_leader']
    content['description'] = description
    content['driver'] = {'kind': 'external', 'joint_states': '/joint_states',
                         'joint_commands': COMMANDS, 'reset_service': '/arm/reset_to_home'}
    content['cameras'] = {'kind': 'external', 'names': ['front'],
                          'image_processor': 'image_processor.yaml'}
    path = tmp_path / f'{name}.yaml'
    path.write_text(yaml.safe_dump(content))
    return load_robot(str(path))


def filter_spec(robot):
    """Return the safety filter of ``robot`` as the modes start it, with a long step."""
    spec = safety_filter_node(robot)
    return replace(spec, name=f'safety_filter_{robot.name}', parameters={
        **spec.parameters, 'end_effector_step_sizes': [STEP] * 3,
        'command_timeout_s': 60.0, 'control_rate_hz': 50.0})


def clamp_once(processes, probe, robot):
    """Start ``robot``'s filter, command out of the box once; return (targets, tcp target)."""
    node = processes.start_node(filter_spec(robot))
    state = probe.publisher(JointState, '/joint_states', 10)
    targets = probe.subscribe(Float64MultiArray, COMMANDS, 100)
    markers = probe.subscribe(MarkerArray, '/safety_markers', 100)
    commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
    probe.wait_for_subscribers(state, timeout=60)
    probe.wait_for_subscribers(commands, timeout=60)
    home = [*robot.arm.home, robot.gripper.home]
    message = JointState(name=list(robot.joint_names), position=home)
    message.header.stamp = probe.node.get_clock().now().to_msg()
    state.publish(message)
    targets.wait_for_messages(1, timeout=30)   # holding the pose it was told
    commands.publish(EndEffectorCommand(delta_xyz=[1.0, 0.0, -1.0],
                                        gripper=EndEffectorCommand.GRIPPER_STAY))
    # The targets step toward the IK goal, max_joint_step per tick, then stay there.
    probe.spin_until(lambda: len(targets.messages) > 3 and not np.allclose(
        targets.messages[-1].data, home) and np.array_equal(
        targets.messages[-1].data, targets.messages[-3].data), 30, 'the goal reached')
    sphere = [marker for marker in markers.messages[-1].markers
              if marker.ns == 'tcp_target'][0]
    assert sphere.action == Marker.ADD
    node.stop()
    for subscription in (targets, markers):
        probe.node.destroy_subscription(subscription.subscription)
    for publisher in (state, commands):
        probe.node.destroy_publisher(publisher)
    position = sphere.pose.position
    return np.array(targets.messages[-1].data), np.array([position.x, position.y, position.z])


def test_a_urdf_from_the_topic_clamps_as_the_file_does(processes, probe, tmp_path):
    so101 = load_robot('so101')
    from_file = external_arm_file(tmp_path, 'arm_with_file',
                                  {'source': so101.description.path, 'base_frame': 'base_link'})
    from_topic = external_arm_file(tmp_path, 'arm_with_topic',
                                   {'source': 'topic', 'base_frame': 'base_link'})
    assert from_topic.safety_filter_parameters()['robot_description_topic'] == \
        '/robot_description'
    urdf_path = resolve_description(so101.description.path)
    with open(urdf_path, encoding='utf-8') as stream:
        urdf = stream.read()
    # Published once, before the filter exists: transient local keeps it for late joiners.
    description = probe.publisher(String, '/robot_description', LATCHED)
    description.publish(String(data=urdf))

    file_targets, file_tcp = clamp_once(processes, probe, from_file)
    topic_targets, topic_tcp = clamp_once(processes, probe, from_topic)

    kinematics = Kinematics(urdf_path, so101.tcp.frame, list(so101.arm.joints),
                            tcp_offset=so101.tcp.offset, tcp_rpy=so101.tcp.rpy)
    start, _ = kinematics.forward(np.array(so101.arm.home))
    expected = np.clip(start + STEP * np.array([1.0, 0.0, -1.0]),
                       so101.safety.bounds_min, so101.safety.bounds_max)
    # Clamped onto the box on x (max) and z (min), y untouched: from either source.
    assert expected[0] == so101.safety.bounds_max[0]
    assert expected[2] == so101.safety.bounds_min[2]
    np.testing.assert_allclose(topic_tcp, expected, atol=1e-9)
    np.testing.assert_allclose(file_tcp, expected, atol=1e-9)
    # The same IK goal, joint for joint.
    np.testing.assert_allclose(topic_targets, file_targets, atol=1e-9)


def test_no_description_on_the_topic_is_a_one_line_error(processes, tmp_path):
    robot = external_arm_file(tmp_path, 'arm_with_topic',
                              {'source': 'topic', 'topic': '/my_arm/robot_description',
                               'base_frame': 'base_link'})
    spec = filter_spec(robot)
    node = processes.start_node(replace(spec, parameters={
        **spec.parameters, 'robot_description_timeout_s': 1.5}))
    assert node.wait(timeout=30) == 78
    output = node.output()
    assert ('bad configuration: no robot description on /my_arm/robot_description within '
            '1.5 s') in output
    assert 'Traceback' not in output
