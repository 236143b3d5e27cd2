"""
The gym_env node keeps the arm contract with a Gymnasium environment (a real process).

The environment is tests/helpers/point_reach_env (imported by the node through its id's
namespace): end_effector_command steps it, joint_states and the rendered camera show
the observation, sim/ground_truth its success, a termination without success is a
FAILURE on episode_events, and reset starts over.
"""

import os

from hilserl.launching.graph import NodeSpec
from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent, SimGroundTruth
import pytest
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState

HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'helpers')
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def test_the_node_steps_renders_reports_and_resets_the_env(processes, probe, monkeypatch):
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        [HELPERS] + [path for path in [os.environ.get('PYTHONPATH', '')] if path]))
    states = probe.subscribe(JointState, '/joint_states', 100)
    frames = probe.subscribe(Image, '/top/image_raw', qos_profile_sensor_data)
    truths = probe.subscribe(SimGroundTruth, '/sim/ground_truth', 100)
    events = probe.subscribe(EpisodeEvent, '/episode_events', RELIABLE)
    commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
    node = processes.start_node(NodeSpec('gym_env', 'gym_env', parameters={
        'env_id': 'point_reach_env/PointReach-v0', 'action': ['dx', 'dy', '-gripper'],
        'render_cameras': ['top'], 'publish_rate_hz': 20.0}))
    states.wait_for_messages(1, timeout=60)
    assert list(states.messages[-1].name) == ['obs.0', 'obs.1', 'gripper']
    frames.wait_for_messages(1, timeout=10)
    assert (frames.messages[-1].height, frames.messages[-1].width) == (12, 16)
    probe.wait_for_subscribers(commands, timeout=10)

    def move(dx, dy, gripper=EndEffectorCommand.GRIPPER_STAY):
        count = len(states.messages)
        commands.publish(EndEffectorCommand(delta_xyz=[dx, dy, 0.0], gripper=gripper))
        probe.spin_until(lambda: len(states.messages) > count, 10, 'the next joint_states')

    for _ in range(3):
        move(1.0, 0.0, EndEffectorCommand.GRIPPER_CLOSE)
    probe.spin_until(lambda: truths.messages[-1].success, 10, 'success on ground truth')
    assert states.messages[-1].position[0] == pytest.approx(0.3, abs=1e-5)
    frames.wait_for(lambda image: image.data[0] == 130, 10, 'the frame of x = 0.3')
    move(1.0, 0.0)   # the episode is over: ignored
    probe.spin_for(0.3)
    assert abs(states.messages[-1].position[0] - 0.3) < 1e-5

    reply = probe.trigger('/reset')
    assert reply.success and reply.message == 'episode 1, seed 1'
    probe.spin_until(lambda: list(states.messages[-1].position[:2]) == [0.0, 0.0]
                     and not truths.messages[-1].success, 10, 'the reset observation')
    for _ in range(3):
        move(0.0, 1.0)
    events.wait_for(lambda msg: msg.event == EpisodeEvent.FAILURE and msg.episode_index == 1,
                    10, 'a FAILURE for the episode the env ended')
    assert not truths.messages[-1].success
    assert node.alive() and 'Traceback' not in node.output(), node.output()
