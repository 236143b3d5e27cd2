"""
Every simulated task is solvable through the safety filter, by the scripted controller.

For each arm and task, 20 seeded episodes run the whole chain of ``closed_loop``
(policy at 10 Hz, filter and arm at about 30 Hz, the per-robot settings of
its robot file's safety and sim.scripted settings); each must end in success within 100 policy
steps for 90 % of the seeds, and the filter's guarantees must hold on every tick.
"""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.arm.robot_registry import load_robot  # noqa: E402
from hilserl.sim import SimArm, SimArmConfig  # noqa: E402
from hilserl.sim.closed_loop import (control_period, run_episode, scripted_policy,  # noqa: E402
                                     sim_controller, sim_filter,
                                     sim_kinematics)
from hilserl.sim.robots import robot_description  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROBOTS = ('so101', 'panda')
TASKS = ('reach', 'push', 'pick_lift')
SEEDS = range(20)
MAX_POLICY_STEPS = 100
# The bounds box keeps this far around every task region (metres).
REGION_MARGIN = 0.02


@pytest.fixture(scope='module')
def kinematics():
    """Load each robot's kinematics once for the module."""
    loaded = {}

    def get(arm):
        if arm.config.robot not in loaded:
            loaded[arm.config.robot] = sim_kinematics(arm)
        return loaded[arm.config.robot]

    return get


class TickChecker:
    """Assert the safety filter's guarantees on every tick of an episode."""

    def __init__(self, safety):
        self.safety = safety
        self.ticks = 0
        self.previous_arm, self.previous_gripper = None, None

    def start(self, joint_positions):
        """Begin an episode whose filter holds ``joint_positions`` (arm, then gripper)."""
        self.previous_arm = np.array(joint_positions[:-1], dtype=float)
        self.previous_gripper = float(joint_positions[-1])

    def __call__(self, arm_target, gripper_target):
        config, kinematics = self.safety.config, self.safety.kinematics
        target = self.safety.tcp_target
        if target is not None:
            assert np.all(target >= config.bounds_min - 1e-12), target
            assert np.all(target <= config.bounds_max + 1e-12), target
        assert np.all(arm_target >= kinematics.lower), arm_target
        assert np.all(arm_target <= kinematics.upper), arm_target
        assert np.max(np.abs(arm_target - self.previous_arm)) <= config.max_joint_step + 1e-12
        assert abs(gripper_target - self.previous_gripper) <= config.max_gripper_step + 1e-12
        self.previous_arm, self.previous_gripper = arm_target.copy(), gripper_target
        self.ticks += 1


@pytest.mark.parametrize('robot', ROBOTS)
def test_safety_box_holds_every_task_region_with_margin(robot):
    description = robot_description(robot)
    safety = load_robot(robot).safety
    low = np.array(safety.bounds_min) + REGION_MARGIN - 1e-9
    high = np.array(safety.bounds_max) - REGION_MARGIN + 1e-9
    for region in (description.cube_region, description.goal_region):
        assert np.all(np.array(region[0]) >= low[:2]) and np.all(np.array(region[1]) <= high[:2])
    target_low, target_high = (np.array(corner) for corner in description.target_region)
    assert np.all(target_low >= low) and np.all(target_high <= high)
    # The lift point (a cube resting on the table, raised by lift_height) is inside too.
    assert 0.02 + description.lift_height <= high[2]


@pytest.mark.parametrize('task', TASKS)
@pytest.mark.parametrize('robot', ROBOTS)
def test_scripted_controller_solves_the_task_through_the_safety_filter(robot, task,
                                                                       kinematics):
    arm = SimArm(SimArmConfig(robot=robot, task=task, cameras={},
                              control_dt=control_period(robot)))
    try:
        safety = sim_filter(arm, kinematics(arm))
        checker = TickChecker(safety)
        results = []
        for seed in SEEDS:
            checker.start(arm.config.home_joint_positions)  # run_episode resets to home
            result = run_episode(arm, safety, scripted_policy(sim_controller(arm)), seed,
                                 max_policy_steps=MAX_POLICY_STEPS, on_tick=checker)
            assert result.rejected_commands == 0
            results.append(result)
    finally:
        arm.close()
    successes = [result.success for result in results]
    print(f'{robot} {task}: {sum(successes)}/{len(successes)} successes, steps '
          f'{[result.steps for result in results]}')
    assert np.mean(successes) >= 0.9
    assert checker.ticks >= len(SEEDS)
