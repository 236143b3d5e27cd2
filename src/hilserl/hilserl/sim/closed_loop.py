"""
Run simulated episodes through the safety filter, without ROS.

The same chain as on the ROS graph (commands every policy step, the filter
ticking once per physics control step, the arm tracking its targets) in one
process, for tests, benchmarks and demonstration scripts. The kinematics, the
filter's limits and the scripted controller's settings come from the arm's robot
file (config/robots/, :mod:`hilserl.arm.robot_registry`), as the nodes read them.
"""

import dataclasses
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np

from hilserl.arm.kinematics import Kinematics
from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.robot_registry import load_robot
from hilserl.arm.safety_filter import SafetyConfig, SafetyFilter
from hilserl.human.scripted_policy import ScriptedConfig, ScriptedController
# control_period(robot): the arm's control period from its robot file, for the closed
# loop's users (SimArmConfig.control_dt), as the sim_arm node uses it.
from hilserl.sim.scene import control_period  # noqa: F401
from hilserl.sim.sim_arm import SimArm


def robot_kinematics(robot: str) -> Kinematics:
    """Return the kinematics of ``robot`` (a registry name or a robot file)."""
    file = load_robot(robot)
    return Kinematics(resolve_description(file.description.path), file.tcp.frame,
                      list(file.arm.joints), tcp_offset=file.tcp.offset,
                      tcp_rpy=file.tcp.rpy)


def sim_kinematics(arm: SimArm) -> Kinematics:
    """Return the kinematics of ``arm``'s robot, as its safety filter sees it."""
    return robot_kinematics(arm.config.robot)


def scripted_settings(robot: str) -> ScriptedConfig:
    """Return the scripted controller's settings for ``robot``: its step sizes and sim."""
    file = load_robot(robot)
    return ScriptedConfig(step_sizes=tuple(file.safety.end_effector_step_sizes),
                          **(file.sim.scripted if file.sim is not None else {}))


@dataclass
class EpisodeResult:
    """What one episode did."""

    success: bool
    steps: int
    rejected_commands: int
    tcp_targets: List[np.ndarray]


def make_filter(arm: SimArm, kinematics: Kinematics, bounds_min, bounds_max,
                **limits) -> SafetyFilter:
    """Return a safety filter holding the arm where it is."""
    config = SafetyConfig(bounds_min=bounds_min, bounds_max=bounds_max,
                          gripper_open=arm.gripper_open_position,
                          gripper_closed=arm.gripper_closed_position, **limits)
    q = arm.joint_positions()
    return SafetyFilter(kinematics, config, q[:-1], q[-1], rest_q=q[:-1])


def sim_controller(arm: SimArm, **overrides) -> ScriptedController:
    """Return a scripted controller for ``arm``'s robot and task (its robot file's settings)."""
    settings = dataclasses.replace(scripted_settings(arm.config.robot), **overrides)
    return ScriptedController(arm.config.task, settings)


def sim_filter(arm: SimArm, kinematics: Optional[Kinematics] = None,
               **overrides) -> SafetyFilter:
    """Return the safety filter of ``arm``'s robot file, with ``overrides``."""
    settings = {**load_robot(arm.config.robot).safety_limits(), **overrides}
    return make_filter(arm, kinematics or sim_kinematics(arm), **settings)


def run_episode(arm: SimArm, safety: SafetyFilter, policy: Callable, seed: int,
                max_policy_steps: int = 100, ticks_per_step: int = 3,
                stop_on_success: bool = True,
                on_tick: Optional[Callable[[np.ndarray, float], None]] = None
                ) -> EpisodeResult:
    """
    Reset with ``seed`` and run ``policy(ground_truth) -> (delta, gripper)`` until done.

    The policy acts once every ``ticks_per_step`` control steps of the arm (10 Hz
    policy over a 30 Hz arm by default); the filter ticks on every control step, and
    ``on_tick(arm_target, gripper_target)`` (if given) sees what each tick sends.
    """
    arm.reset(seed=seed)
    q = arm.joint_positions()
    safety.reset(q[:-1], q[-1])
    now = 0.0
    targets = []
    truth = arm.ground_truth()
    for step in range(1, max_policy_steps + 1):
        delta, gripper = policy(truth)
        q = arm.joint_positions()
        safety.command(delta, int(gripper), q[:-1], now)
        for _ in range(ticks_per_step):
            arm_target, gripper_target = safety.tick(now)
            if on_tick is not None:
                on_tick(arm_target, gripper_target)
            arm.set_joint_targets([*arm_target, gripper_target])
            arm.step()
            now += arm.control_dt
        targets.append(None if safety.tcp_target is None else safety.tcp_target.copy())
        truth = arm.ground_truth()
        if truth.success and stop_on_success:
            return EpisodeResult(True, step, safety.rejected, targets)
    return EpisodeResult(bool(truth.success), max_policy_steps, safety.rejected, targets)


def scripted_policy(controller) -> Callable:
    """Adapt a :class:`hilserl.human.scripted_policy.ScriptedController` to ground truth."""
    def policy(truth):
        return controller.act(truth.tcp_position, truth.cube_position,
                              truth.target_position, truth.grasped)
    return policy


def success_rate(robot_task_episodes: List[bool]) -> Optional[float]:
    """Return the fraction of successes, or None for no episodes."""
    if not robot_task_episodes:
        return None
    return float(np.mean(robot_task_episodes))
