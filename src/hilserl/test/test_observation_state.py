"""The policy's state and action vectors (hilserl.actor.observation_state)."""

import math

from hilserl.actor.observation_state import (action_from_command, command_from_action,
                                             GRIPPER_CLOSE, GRIPPER_OPEN, GRIPPER_STAY,
                                             state_names, state_vector)
import numpy as np
import pytest

ARM = ['shoulder_pan', 'elbow']
JOINTS = {'elbow': 0.5, 'gripper': 0.9, 'shoulder_pan': -0.25, 'cube': 7.0}
# The TCP pointing down: a half turn about x.
DOWN = (1.0, 0.0, 0.0, 0.0)


def test_names_list_arm_joints_gripper_tcp_position_and_quaternion():
    assert state_names(ARM) == ['joint.shoulder_pan', 'joint.elbow', 'gripper', 'tcp.x',
                                'tcp.y', 'tcp.z', 'tcp.qx', 'tcp.qy', 'tcp.qz', 'tcp.qw']


def test_values_follow_the_names_whatever_the_joint_state_order():
    state = state_vector(JOINTS, ARM, 'gripper', (0.2, -0.1, 0.05), DOWN)
    assert state.dtype == np.float32 and state.shape == (10,)
    np.testing.assert_allclose(state, [-0.25, 0.5, 0.9, 0.2, -0.1, 0.05, 1, 0, 0, 0],
                               atol=1e-7)


def test_the_quaternion_is_normalised():
    state = state_vector(JOINTS, ARM, 'gripper', (0, 0, 0), (2.0, 0.0, 0.0, 0.0))
    np.testing.assert_allclose(state[-4:], DOWN)


def test_the_quaternion_sign_does_not_flip_around_the_pointing_down_pose():
    # Half turns about x, a little less and a little more: qw changes sign in between.
    quaternions = []
    for angle in (math.pi - 0.04, math.pi, math.pi + 0.04):
        xyzw = (math.sin(angle / 2), 0.0, 0.0, math.cos(angle / 2))
        for given in (xyzw, [-v for v in xyzw]):  # q and -q: the same rotation
            quaternions.append(state_vector(JOINTS, ARM, 'gripper', (0, 0, 0), given)[-4:])
    quaternions = np.array(quaternions)
    assert np.max(np.abs(np.diff(quaternions, axis=0))) < 0.05
    assert np.all(quaternions[:, 0] > 0.99)


def test_a_missing_joint_is_named():
    with pytest.raises(ValueError, match="'elbow' is missing"):
        state_vector({'shoulder_pan': 0.0, 'gripper': 0.0}, ARM, 'gripper', (0, 0, 0), DOWN)


def test_non_finite_values_are_refused_by_name():
    with pytest.raises(ValueError, match='joint.elbow'):
        state_vector(dict(JOINTS, elbow=math.nan), ARM, 'gripper', (0, 0, 0), DOWN)
    with pytest.raises(ValueError):
        state_vector(JOINTS, ARM, 'gripper', (0, 0, 0), (0, 0, 0, 0))


def test_action_is_the_move_then_the_gripper_as_minus_one_zero_plus_one():
    for gripper, value in ((GRIPPER_CLOSE, -1.0), (GRIPPER_STAY, 0.0), (GRIPPER_OPEN, 1.0)):
        action = action_from_command((0.5, -1.0, 0.25), gripper)
        assert action.dtype == np.float32
        np.testing.assert_allclose(action, [0.5, -1.0, 0.25, value])
    with pytest.raises(ValueError):
        action_from_command((0, 0, 0), 3)


def test_command_from_action_clips_the_move_and_thresholds_the_gripper():
    assert command_from_action([2.0, -3.0, 0.5, -0.9]) == ([1.0, -1.0, 0.5], GRIPPER_CLOSE)
    assert command_from_action([0, 0, 0, 0.5]) == ([0.0, 0.0, 0.0], GRIPPER_STAY)
    assert command_from_action([0, 0, 0, 0.51])[1] == GRIPPER_OPEN
    with pytest.raises(ValueError):
        command_from_action([0, 0, math.inf, 0])
    with pytest.raises(ValueError):
        command_from_action([0, 0, 0])


def test_gripper_values_agree_with_the_grasp_critic():
    gripper = pytest.importorskip('hilserl_learning.gripper')
    for command in (-1.0, -0.6, -0.5, 0.0, 0.5, 0.6, 1.0):
        assert command_from_action([0, 0, 0, command])[1] == gripper.command_to_index(command)
    for index in (GRIPPER_CLOSE, GRIPPER_STAY, GRIPPER_OPEN):
        assert action_from_command((0, 0, 0), index)[3] == gripper.index_to_command(index)


def test_the_object_position_and_its_offset_from_the_tcp_end_the_state():
    from hilserl.actor.observation_state import state_names as names, state_vector as vector
    joints = {'a': 0.1, 'g': 0.5}
    state = vector(joints, ['a'], 'g', (0.2, 0.0, 0.1), (1, 0, 0, 0), (0.3, -0.1, 0.02))
    assert names(['a'], object_position=True)[-6:] == [
        'object.x', 'object.y', 'object.z', 'object.dx', 'object.dy', 'object.dz']
    assert len(state) == len(names(['a'], object_position=True)) == 15
    assert state[-6:].tolist() == pytest.approx([0.3, -0.1, 0.02, 0.1, -0.1, -0.08])
    with pytest.raises(ValueError, match='object.y'):
        vector(joints, ['a'], 'g', (0.2, 0.0, 0.1), (1, 0, 0, 0), (0.3, float('nan'), 0.0))
