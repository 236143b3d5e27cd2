"""
The stand-alone parameter file of the real follower says what its robot file says.

config/so100_follower.yaml starts the driver and its safety filter by hand
(``--params-file``); the modes take the filter's values from the robot registry
(config/robots/so100.yaml). A simulated arm has no such file: ``hilserl launch sim
robot:=NAME`` starts it and its filter from the robot file alone.
"""

import os

import numpy as np
import pytest
import yaml

from hilserl.arm.robot_registry import load_robot

CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'config')
FILES = {'so100': 'so100_follower.yaml'}


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


def test_the_follower_driver_homes_where_the_robot_file_says():
    home = parameters(FILES['so100'], 'so100_follower')['home_joint_positions']
    np.testing.assert_allclose(home, load_robot('so100').home_joint_positions)
