"""Task logic (layouts, success, shaped reward), success states in the sim, a scripted grasp."""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.sim import SimArm, SimArmConfig  # noqa: E402
from hilserl.sim import tasks  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

PARAMS = tasks.TaskParameters(
    task='reach', cube_region=((0.2, -0.1), (0.3, 0.1)),
    target_region=((0.1, -0.1, 0.05), (0.3, 0.1, 0.2)), goal_region=((0.15, -0.15), (0.3, 0.15)),
    cube_half_size=0.02)

# Where the cube sits in a grasp, in a gripper body's frame: between the SO-101 pads at
# the jaw angle that makes them parallel; the Panda's 'pinch' site. Axes are those of the
# TCP site: z is the approach (down in a grasp from above), jaw_axis the closing direction.
GRASP = {
    'so101': dict(body='gripper', point=(0.0185, -0.0002, -0.094), down_axis=2, jaw_axis=0,
                  parallel_jaw=0.46),
    'panda': dict(body='base', point=(0.0, 0.0, 0.145), down_axis=2, jaw_axis=1,
                  parallel_jaw=None),
}


class JointSpaceGrasper:
    """
    Damped-least-squares resolved-rate control of a grasp point, pointing the gripper down.

    Joint-space only: each call turns the task-space error of the current state into a
    joint increment with the point Jacobian (``mj_jac``) and the TCP site's rotation
    Jacobian, and adds it to the joint targets.
    """

    def __init__(self, arm):
        self.arm = arm
        spec = GRASP[arm.robot.name]
        self.body = arm.model.body(spec['body']).id
        self.point = np.array(spec['point'])
        self.down_axis, self.jaw_axis = spec['down_axis'], spec['jaw_axis']
        self.site = arm.model.site(arm.robot.tcp_site).id
        self.dofs = np.array([arm.model.joint(name).dofadr[0] for name in arm.joint_names[:-1]])

    def grasp_point(self):
        data = self.arm.data
        return data.xpos[self.body] + data.xmat[self.body].reshape(3, 3) @ self.point

    def increment(self, goal, orientation_weight=0.3):
        model, data = self.arm.model, self.arm.data
        point = self.grasp_point()
        rotation = data.site_xmat[self.site].reshape(3, 3)
        pointing_error = np.cross(rotation[:, self.down_axis], [0.0, 0.0, -1.0])
        jaw = rotation[:, self.jaw_axis]
        square = np.eye(3)[int(abs(jaw[1]) > abs(jaw[0]))] * np.sign(jaw[np.argmax(abs(jaw[:2]))])
        jaw_error = np.cross(jaw, square)  # keep the jaws square to the (unrotated) cube
        jac_point, jac_rot = np.zeros((3, model.nv)), np.zeros((3, model.nv))
        mujoco.mj_jac(model, data, jac_point, jac_rot, point, self.body)
        w = orientation_weight
        jac = np.vstack([jac_point[:, self.dofs], w * jac_rot[:, self.dofs],
                         w * jac_rot[:, self.dofs]])
        error = np.concatenate([np.asarray(goal) - point, w * pointing_error, w * jaw_error])
        return jac.T @ np.linalg.solve(jac @ jac.T + 1e-3 * np.eye(len(error)), error)

    def control(self, goal, gripper, steps, gain=0.6):
        """Servo the grasp point to ``goal`` for ``steps`` control steps of physics."""
        for _ in range(steps):
            target = self.arm.joint_targets()
            target[:-1] += gain * self.increment(goal)
            target[-1] = gripper
            self.arm.set_joint_targets(target)
            self.arm.step()

    def teleport(self, goal, gripper=None, orientation_weight=0.3, iterations=200):
        """Solve the same IK kinematically and put the arm there (no physics)."""
        for _ in range(iterations):
            q = self.arm.joint_positions()
            q[:-1] += 0.5 * self.increment(goal, orientation_weight)
            if gripper is not None:
                q[-1] = gripper
            self.arm.set_joint_positions(q)
        return float(np.linalg.norm(self.grasp_point() - goal))

    def body_pose(self):
        data = self.arm.data
        return data.xpos[self.body].copy(), data.xmat[self.body].reshape(3, 3).copy()


@pytest.fixture(scope='module')
def arms():
    """
    Build each (robot, task) scene once for the module, without cameras.

    The cube is lifted 10 cm on both arms here (the SO-101's task default is 8 cm, for
    the safety filter's pointing-down gripper): joint-space control may tilt it.
    """
    built = {}

    def get(robot, task):
        if (robot, task) not in built:
            built[robot, task] = SimArm(SimArmConfig(robot=robot, task=task, cameras={},
                                                     lift_height=0.1))
        return built[robot, task]

    yield get
    for arm in built.values():
        arm.close()


# ----- pure task logic --------------------------------------------------------------------


def test_layouts_are_deterministic_and_inside_their_regions():
    for task in tasks.TASKS:
        params = tasks.TaskParameters(**{**PARAMS.__dict__, 'task': task})
        a = tasks.sample_layout(params, np.random.default_rng(4))
        b = tasks.sample_layout(params, np.random.default_rng(4))
        np.testing.assert_array_equal(a.cube_position, b.cube_position)
        np.testing.assert_array_equal(a.target_position, b.target_position)
        assert a.cube_position[2] == 0.02 and a.cube_yaw == 0.0


def test_push_goals_keep_their_distance_from_the_cube():
    params = tasks.TaskParameters(**{**PARAMS.__dict__, 'task': 'push',
                                     'goal_min_distance': 0.1})
    rng = np.random.default_rng(0)
    for _ in range(200):
        layout = tasks.sample_layout(params, rng)
        assert np.linalg.norm(layout.target_position[:2] - layout.cube_position[:2]) >= 0.1
        assert layout.target_position[2] == 0.02


def test_cube_yaw_is_drawn_within_its_range():
    params = tasks.TaskParameters(**{**PARAMS.__dict__, 'cube_yaw_range': 0.5})
    yaws = [tasks.sample_layout(params, np.random.default_rng(s)).cube_yaw for s in range(50)]
    assert max(np.abs(yaws)) <= 0.5 and np.std(yaws) > 0.1


def test_reach_success_and_reward():
    target = np.array([0.2, 0.0, 0.1])
    cube = np.array([0.25, 0.0, 0.02])
    rewards = []
    for distance in (0.3, 0.1, 0.05, 0.019, 0.0):
        tcp = target + [distance, 0.0, 0.0]
        success, reward = tasks.evaluate(PARAMS, tcp, cube, 0.02, target, False)
        assert success == (distance <= PARAMS.reach_tolerance)
        rewards.append(reward)
    assert rewards == sorted(rewards) and rewards[-1] == 1.0 and 0.0 < rewards[0]


def test_push_success_needs_the_cube_in_the_goal():
    params = tasks.TaskParameters(**{**PARAMS.__dict__, 'task': 'push'})
    goal = np.array([0.25, 0.1, 0.02])
    tcp = np.array([0.25, 0.0, 0.05])
    assert tasks.evaluate(params, tcp, goal + [0.02, 0.0, 0.0], 0.02, goal, False)[0]
    assert not tasks.evaluate(params, tcp, goal + [0.04, 0.0, 0.0], 0.02, goal, False)[0]
    far = tasks.evaluate(params, tcp, goal + [0.1, 0.0, 0.0], 0.02, goal, False)[1]
    near = tasks.evaluate(params, tcp, goal + [0.05, 0.0, 0.0], 0.02, goal, False)[1]
    assert near > far


def test_pick_lift_success_needs_a_grasp_and_the_height():
    params = tasks.TaskParameters(**{**PARAMS.__dict__, 'task': 'pick_lift'})
    cube = np.array([0.25, 0.0, 0.121])
    target = np.array([0.25, 0.0, 0.12])
    assert tasks.evaluate(params, cube, cube, 0.02, target, True) == (True, 1.0)
    assert not tasks.evaluate(params, cube, cube, 0.02, target, False)[0]
    assert not tasks.evaluate(params, cube, cube - [0, 0, 0.01], 0.02, target, True)[0]
    resting = np.array([0.25, 0.0, 0.02])
    steps = [tasks.evaluate(params, resting + [0, 0, 0.2], resting, 0.02, target, False)[1],
             tasks.evaluate(params, resting + [0, 0, 0.05], resting, 0.02, target, False)[1],
             tasks.evaluate(params, resting, resting, 0.02, target, True)[1],
             tasks.evaluate(params, cube - [0, 0, 0.05], cube - [0, 0, 0.05], 0.02, target,
                            True)[1]]
    assert steps == sorted(steps)


# ----- success states and shaped reward in the simulation ---------------------------------


@pytest.mark.parametrize('robot', ('so101', 'panda'))
def test_reach_succeeds_at_the_target_and_reward_grows_on_the_way(arms, robot):
    arm = arms(robot, 'reach')
    truth = arm.reset(seed=3)
    assert not truth.success
    grasper = JointSpaceGrasper(arm)
    site_offset = arm.tcp_position() - grasper.grasp_point()
    rewards = []
    start = arm.tcp_position()
    for fraction in (0.0, 0.5, 1.0):
        goal = start + fraction * (truth.target_position - start) - site_offset
        grasper.teleport(goal, orientation_weight=0.0)
        site_offset = arm.tcp_position() - grasper.grasp_point()
        rewards.append(arm.ground_truth().dense_reward)
    # One more pass with the final offset, so the TCP site itself is on the target.
    grasper.teleport(truth.target_position - site_offset, orientation_weight=0.0)
    final = arm.ground_truth()
    assert np.linalg.norm(final.tcp_position - truth.target_position) < 0.01
    assert final.success
    assert rewards[0] < rewards[1] < final.dense_reward


@pytest.mark.parametrize('robot', ('so101', 'panda'))
def test_push_succeeds_with_the_cube_in_the_goal(arms, robot):
    arm = arms(robot, 'push')
    truth = arm.reset(seed=5)
    assert not truth.success
    before = truth.dense_reward
    arm.set_cube_pose(truth.target_position + [0.01, -0.01, 0.0])
    after = arm.ground_truth()
    assert after.success and after.dense_reward > before
    arm.step()
    assert arm.ground_truth().success  # it stays there under physics


@pytest.mark.parametrize('robot', ('so101', 'panda'))
def test_pick_lift_succeeds_with_the_cube_held_up_high(arms, robot):
    arm = arms(robot, 'pick_lift')
    truth = arm.reset(seed=1)
    assert not truth.success and not truth.grasped
    grasper = JointSpaceGrasper(arm)
    # Reward grows as the gripper comes down onto the cube.
    far = truth.dense_reward
    grasper.teleport(truth.cube_position + [0.0, 0.0, 0.05], arm.gripper_open_position)
    near = arm.ground_truth().dense_reward
    assert far < near
    # Lifted cube without a grasp: no success.
    lift_point = truth.target_position + [0.0, 0.0, 0.03]  # margin for the servos to sag
    arm.set_cube_pose(lift_point + [0.0, 0.0, 0.1])
    assert not arm.ground_truth().success
    arm.set_cube_pose(truth.cube_position)
    # Close the gripper on the cube where it lies (physics), then carry gripper and cube
    # up together by writing positions (kinematics only), and check the state.
    assert grasper.teleport(truth.cube_position, arm.gripper_open_position) < 0.005
    target = arm.joint_targets()
    target[-1] = arm.gripper_closed_position
    arm.set_joint_targets(target)
    for _ in range(5):
        arm.step()
    assert arm.ground_truth().grasped
    position, rotation = grasper.body_pose()
    cube_position, cube_quat = arm.cube_pose()
    cube_matrix = np.zeros(9)
    mujoco.mju_quat2Mat(cube_matrix, cube_quat)
    cube_in_body = (rotation.T @ (cube_position - position),
                    rotation.T @ cube_matrix.reshape(3, 3))
    # The SO-101 cannot point straight down that high: let the position win.
    assert grasper.teleport(lift_point, orientation_weight=0.0) < 0.005
    position, rotation = grasper.body_pose()
    new_quat = np.zeros(4)
    mujoco.mju_mat2Quat(new_quat, (rotation @ cube_in_body[1]).reshape(-1))
    arm.set_cube_pose(position + rotation @ cube_in_body[0], new_quat)
    target = arm.joint_targets()
    target[-1] = arm.gripper_closed_position
    arm.set_joint_targets(target)
    held = arm.ground_truth()
    assert held.grasped and held.success, held
    assert held.dense_reward > near
    for _ in range(3):
        arm.step()
    assert arm.ground_truth().success  # and the grip holds it there under physics


# ----- scripted grasp through joint targets and physics -----------------------------------


def scripted_pick(arm, grasper, seed):
    """Open above the cube, descend, close, lift; return the final ground truth."""
    cube = arm.reset(seed=seed).cube_position
    lift = arm.config.lift_height
    grasper.control(cube + [0.0, 0.0, 0.06], arm.gripper_open_position, 25)
    grasper.control(cube, arm.gripper_open_position, 20, gain=0.4)
    grasper.control(cube, arm.gripper_closed_position, 10, gain=0.0)
    grasper.control(cube + [0.0, 0.0, lift + 0.03], arm.gripper_closed_position, 30, gain=0.4)
    return arm.ground_truth()


def test_so101_picks_and_lifts_the_cube_with_joint_targets(arms):
    arm = arms('so101', 'pick_lift')
    grasper = JointSpaceGrasper(arm)
    results = [scripted_pick(arm, grasper, seed) for seed in (0, 1, 2)]
    for truth in results:
        print(f'cube {truth.cube_position} grasped {truth.grasped} success {truth.success}')
    assert sum(truth.success for truth in results) >= 2
    assert all(truth.dense_reward > 0.8 for truth in results if truth.success)


def test_panda_picks_and_lifts_the_cube_with_joint_targets(arms):
    arm = arms('panda', 'pick_lift')
    truth = scripted_pick(arm, JointSpaceGrasper(arm), seed=0)
    assert truth.success, truth
