"""Managed nodes in the mode graphs: which ones, their autostart, and their order."""

import os

from hilserl.arm.robot_registry import registry_directory
from hilserl.launching.graph import Mode, NodeSpec
from hilserl.launching.modes import MODES
import yaml


def names(nodes):
    return [spec.full_name for spec in nodes]


def test_the_driver_cameras_and_actor_are_managed_and_come_up_in_graph_order():
    nodes = MODES['train'].nodes({'robot': 'so100', 'reward': 'human', 'teleop': 'gamepad',
                                  'run_dir': '/tmp/run'})
    managed = [spec for spec in nodes if spec.lifecycle]
    # The driver and the cameras before the actor that commands the arm.
    assert names(managed) == ['/so100_follower', '/front/camera', '/wrist/camera', '/actor']
    for spec in managed:
        assert spec.node_parameters() == {**spec.parameters, 'autostart': False}
    others = [spec for spec in nodes if not spec.lifecycle]
    assert others and all('autostart' not in spec.node_parameters() for spec in others)
    assert names(spec for spec in MODES['demo'].nodes({}) if spec.lifecycle) == [
        '/front/camera', '/wrist/camera']


def test_a_node_started_by_hand_keeps_its_autostart():
    spec = NodeSpec('camera_publisher', 'camera', parameters={'fps': 5.0})
    assert not spec.lifecycle and spec.node_parameters() == {'fps': 5.0}
    # A mode returns its specs as built: being managed is the spec's own property.
    mode = Mode('test', 'one camera', (), lambda arguments: [spec])
    assert not mode.nodes({})[0].lifecycle


def test_a_driver_is_managed_when_its_robot_file_says_so(tmp_path):
    with open(os.path.join(registry_directory(), 'so100.yaml'), encoding='utf-8') as stream:
        content = yaml.safe_load(stream)
    content['driver']['managed'] = False
    path = tmp_path / 'my_arm.yaml'
    path.write_text(yaml.safe_dump(content))
    nodes = MODES['record'].nodes({'robot': str(path), 'teleop': 'gamepad'})
    assert nodes[0].executable == 'so100_follower' and not nodes[0].lifecycle
    assert 'autostart' not in nodes[0].node_parameters()
    # The driver publishes the robot file's URDF, which the mode reads for it.
    assert '<robot' in nodes[0].parameters['robot_description']
