"""The sim parameter files say what the scripted-task tests proved (closed_loop.SIM_SAFETY)."""

import os

import numpy as np
import pytest
import yaml

from hilserl.sim.closed_loop import KINEMATICS, SIM_SAFETY

CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'config')


def parameters(robot, node):
    with open(os.path.join(CONFIG, f'sim_{robot}.yaml')) as stream:
        return yaml.safe_load(stream)[node]['ros__parameters']


@pytest.mark.parametrize('robot', ['so101', 'panda'])
def test_safety_filter_parameters_match_the_tested_settings(robot):
    filter_parameters = parameters(robot, 'safety_filter')
    tested = SIM_SAFETY[robot]
    np.testing.assert_allclose(filter_parameters['end_effector_bounds']['min'],
                               tested['bounds_min'])
    np.testing.assert_allclose(filter_parameters['end_effector_bounds']['max'],
                               tested['bounds_max'])
    assert filter_parameters['hold_orientation'] == tested['hold_orientation']
    for name in ('end_effector_step_sizes', 'max_joint_step', 'max_gripper_step',
                 'orientation_weight'):
        np.testing.assert_allclose(filter_parameters[name], tested[name], err_msg=name)
    kinematics = KINEMATICS[robot]
    assert filter_parameters['tcp_frame'] == kinematics['tcp_frame']
    np.testing.assert_allclose(filter_parameters['tcp_offset'], kinematics['tcp_offset'])
    np.testing.assert_allclose(filter_parameters['tcp_rpy'], kinematics['tcp_rpy'])
    assert filter_parameters['robot_description_path'].endswith(kinematics['description'])
    assert parameters(robot, 'sim_arm')['robot'] == robot
