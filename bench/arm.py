#!/usr/bin/env python3
"""
Arm layer speed: IK, the safety filter, and the simulation core; no ROS.

Prints `key: value` lines:
  ik_solve_p99_ms        local IK for a 2 cm move from the current pose (as every command asks),
                         99th percentile; SO-101 (5 joints, position + held orientation)
  safety_filter_tick_p99_ms  one control cycle of the filter with a fresh command each
                         cycle (validation, FK, IK, rate limiting), 99th percentile; SO-101
  ik_solve_p99_ms_panda, safety_filter_tick_p99_ms_panda   the same for the Panda
  sim_steps_per_s        control steps per second (each one control_dt = 0.1 s of physics
                         at the MJCF's timestep), arm moving, no rendering; SO-101
  sim_render_fps         frame sets per second, one set = the front and the wrist camera
                         rendered at 128x128; SO-101
  sim_steps_per_s_panda  the same for the Franka Panda
  sim_render_fps_panda
  sim_build_s            seconds to build an SO-101 scene in a fresh process (meshes
                         simplified, model compiled, first reset)
  sim_build_s_panda

Run inside the workspace: `make bench` or `scripts/in_env python bench/arm.py`.
Set MUJOCO_GL (egl or osmesa) on a headless machine; EGL is the default here.
"""

import argparse
import os
import time

import numpy as np

os.environ.setdefault('MUJOCO_GL', 'egl')


def moving_targets(arm, t: float) -> np.ndarray:
    """Joint targets that sweep the arm around home, gripper opening and closing."""
    home = np.array(arm.config.home_joint_positions)
    targets = home.copy()
    targets[:-1] += 0.25 * np.sin(2.0 * np.pi * 0.2 * t + np.arange(len(home) - 1))
    phase = 0.5 + 0.5 * np.sin(2.0 * np.pi * 0.3 * t)
    targets[-1] = arm.gripper_closed_position + phase * (
        arm.gripper_open_position - arm.gripper_closed_position)
    return targets


def steps_per_second(arm, seconds: float) -> float:
    """Control steps per second with moving targets, no rendering."""
    arm.reset(seed=0)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        arm.set_joint_targets(moving_targets(arm, done * arm.control_dt))
        arm.step()
        done += 1
    return done / (time.perf_counter() - start)


def render_fps(arm, seconds: float) -> float:
    """Frame sets (every configured camera once) per second, arm moving between sets."""
    arm.reset(seed=0)
    for camera in arm.camera_names:  # first frames create the OpenGL contexts
        arm.render(camera)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        arm.set_joint_positions(moving_targets(arm, done * arm.control_dt))
        for camera in arm.camera_names:
            arm.render(camera)
        done += 1
    return done / (time.perf_counter() - start)


def kinematics_figures(robot: str, samples: int = 2000) -> dict:
    """Time IK solves and filter cycles for small moves around reachable poses."""
    from hilserl.arm.safety_filter import Gripper
    from hilserl.sim import SimArm, SimArmConfig
    from hilserl.sim.closed_loop import make_filter, sim_kinematics
    arm = SimArm(SimArmConfig(robot=robot, cameras={}))
    kinematics = sim_kinematics(arm)
    home = arm.joint_positions()[:-1]
    rng = np.random.default_rng(0)
    solve_ms = []
    for index in range(samples + 200):  # the first 200 warm caches up and are not counted
        q = home + rng.uniform(-0.3, 0.3, home.shape)
        position, rotation = kinematics.forward(q)
        target = position + rng.uniform(-0.02, 0.02, 3)
        start = time.perf_counter()
        kinematics.solve_from(target, q, target_rotation=rotation, rotation_weight=0.5)
        if index >= 200:
            solve_ms.append((time.perf_counter() - start) * 1e3)
    tcp, _ = kinematics.forward(home)
    safety = make_filter(arm, kinematics, tcp - 0.1, tcp + 0.1, hold_orientation='down')
    tick_ms, measured, now = [], home.copy(), 0.0
    for step in range(samples):
        start = time.perf_counter()
        safety.command(rng.uniform(-1, 1, 3), Gripper.STAY, measured, now)
        arm_target, _ = safety.tick(now)
        tick_ms.append((time.perf_counter() - start) * 1e3)
        measured, now = arm_target, now + 0.033
    arm.close()
    suffix = '' if robot == 'so101' else f'_{robot}'
    return {f'ik_solve_p99_ms{suffix}': float(np.percentile(solve_ms, 99)),
            f'safety_filter_tick_p99_ms{suffix}': float(np.percentile(tick_ms, 99))}


def main() -> None:
    """Measure both robots and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=3.0, help='time per measurement')
    args = parser.parse_args()
    from hilserl.sim import SimArm, SimArmConfig
    for robot in ('so101', 'panda'):
        for key, value in kinematics_figures(robot).items():
            print(f'{key}: {value:.3f}', flush=True)
        suffix = '' if robot == 'so101' else f'_{robot}'
        start = time.perf_counter()
        arm = SimArm(SimArmConfig(robot=robot, task='pick_lift',
                                  cameras={'front': (128, 128), 'wrist': (128, 128)}))
        build = time.perf_counter() - start
        try:
            steps = steps_per_second(arm, args.seconds)
            print(f'sim_steps_per_s{suffix}: {steps:.1f}', flush=True)
            print(f'sim_render_fps{suffix}: {render_fps(arm, args.seconds):.1f}', flush=True)
            print(f'sim_build_s{suffix}: {build:.2f}', flush=True)
        finally:
            arm.close()


if __name__ == '__main__':
    main()
