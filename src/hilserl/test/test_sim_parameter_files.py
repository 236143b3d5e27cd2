"""
The stand-alone parameter files say what the robot files say.

config/sim_so101.yaml, config/sim_panda.yaml and config/so100_follower.yaml start an arm
and its safety filter by hand (``--params-file``); the modes take the same values from
the robot registry (config/robots/). Their safety_filter sections and sim_arm sections
must not drift from the robot files.
"""

import os

import numpy as np
import pytest
import yaml

from hilserl.robot_registry import load_robot

CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'config')
FILES = {'so101': 'sim_so101.yaml', 'panda': 'sim_panda.yaml', 'so100': 'so100_follower.yaml'}


def parameters(file_name, node):
    with open(os.path.join(CONFIG, file_name)) as stream:
        return yaml.safe_load(stream)[node]['ros__parameters']


@pytest.mark.parametrize('robot', sorted(FILES))
def test_safety_filter_parameters_match_the_robot_file(robot):
    in_file = dict(parameters(FILES[robot], 'safety_filter'))
    bounds = in_file.pop('end_effector_bounds')
    in_file['end_effector_bounds.min'] = bounds['min']
    in_file['end_effector_bounds.max'] = bounds['max']
    expected = load_robot(robot).safety_filter_parameters()
    assert sorted(in_file) == sorted(expected)
    for name, value in expected.items():
        if isinstance(value, str) or name == 'arm_joint_names':
            assert in_file[name] == value, name
        else:
            np.testing.assert_allclose(in_file[name], value, err_msg=name)


@pytest.mark.parametrize('robot', ['so101', 'panda'])
def test_sim_arm_parameters_match_the_robot_file(robot):
    in_file = parameters(FILES[robot], 'sim_arm')
    file = load_robot(robot)
    assert in_file['robot'] == robot
    assert in_file['base_frame'] == file.description.base_frame
    assert in_file['control_rate_hz'] == file.safety.control_rate_hz
    assert in_file['camera_names'] == list(file.cameras.names)
    assert (in_file['camera_width'], in_file['camera_height'], in_file['camera_fps']) == (
        file.cameras.width, file.cameras.height, file.cameras.fps)
    assert in_file.get('lift_height', file.sim.lift_height) == file.sim.lift_height


def test_the_follower_driver_homes_where_the_robot_file_says():
    home = parameters(FILES['so100'], 'so100_follower')['home_joint_positions']
    np.testing.assert_allclose(home, load_robot('so100').home_joint_positions)
