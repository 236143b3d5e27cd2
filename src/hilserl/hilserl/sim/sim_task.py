"""
A simulated arm behind its safety filter as a task of the in-process loop; no ROS.

:class:`SimTask` is what :mod:`hilserl.sim.training` steps once per policy step: the
arm of a robot file with its safety filter (:mod:`hilserl.sim.closed_loop`) ticking at
the robot file's control rate between two commands, and the actor's observation (its
state vector, with the cube from the simulator or the cameras' frozen features).
"""

from typing import Callable, Dict, Optional

import numpy as np
import pinocchio

from hilserl.actor.observation_state import state_names, state_vector
from hilserl.arm.robot_registry import default_robot
from hilserl.sim import SimArm, SimArmConfig
from hilserl.sim.closed_loop import control_period, sim_controller, sim_filter, sim_kinematics
from hilserl.sim.sim_arm import GroundTruth

FPS = 10.0                  # actor and scripted human, config/record.yaml and train.yaml
CAMERAS = {'front': (128, 128), 'wrist': (128, 128)}   # train mode's processed frames


class SimTask:
    """A simulated arm behind its safety filter, stepped once per policy step."""

    def __init__(self, robot: Optional[str] = None, task: str = 'pick_lift', seed: int = 0,
                 cameras: bool = False, visual_variation: str = 'none'):
        """
        Build the scene; without cameras the policy sees the state vector (with the cube).

        ``robot`` is a registry name or a robot file (None: the registry's default robot).

        With cameras, :meth:`observe` also renders them and gives the frames to ``encode``
        (set it before use: uint8 [N, 3, H, W] -> the features the buffers store).
        """
        self.cameras = dict(CAMERAS) if cameras else {}
        self.encode: Optional[Callable[[np.ndarray], np.ndarray]] = None
        robot = robot or default_robot()
        self.arm = SimArm(SimArmConfig(robot=robot, task=task, cameras=self.cameras, seed=seed,
                                       control_dt=control_period(robot),
                                       visual_variation=visual_variation))
        self.kinematics = sim_kinematics(self.arm)
        self.safety = sim_filter(self.arm, self.kinematics)
        # The filter ticks at the robot file's control rate, the policy at FPS (30 / 10 Hz).
        self.ticks_per_step = max(1, round(1.0 / (FPS * self.arm.control_dt)))
        self.scripted = sim_controller(self.arm).config
        self._now = 0.0

    @property
    def state_dim(self) -> int:
        """Return the length of the state vector."""
        return len(state_names(self.arm.joint_names[:-1], object_position=not self.cameras))

    def reset(self, seed: int) -> GroundTruth:
        """Start an episode with the layout drawn from ``seed``."""
        truth = self.arm.reset(seed=seed)
        q = self.arm.joint_positions()
        self.safety.reset(q[:-1], q[-1])
        self._now = 0.0
        return truth

    def state(self, truth: GroundTruth) -> np.ndarray:
        """Return the actor's state vector: joints, TCP pose by forward kinematics, cube."""
        q, names = self.arm.joint_positions(), self.arm.joint_names
        position, rotation = self.kinematics.forward(q[:-1])
        quaternion_xyzw = pinocchio.Quaternion(rotation).coeffs()
        return state_vector(dict(zip(names, q)), names[:-1], names[-1], position,
                            quaternion_xyzw, None if self.cameras else truth.cube_position)

    def observe(self, truth: GroundTruth) -> Dict[str, np.ndarray]:
        """Return the actor's observation: the state, and the cameras' frozen features."""
        observation = {'state': self.state(truth)}
        if self.cameras:
            frames = np.stack([self.arm.render(name) for name in self.cameras])
            observation['features'] = self.encode(frames.transpose(0, 3, 1, 2))
        return observation

    def step(self, delta_xyz, gripper: int) -> GroundTruth:
        """Send one command through the safety filter, run the arm until the next step."""
        q = self.arm.joint_positions()
        self.safety.command(delta_xyz, gripper, q[:-1], self._now)
        for _ in range(self.ticks_per_step):
            arm_target, gripper_target = self.safety.tick(self._now)
            self.arm.set_joint_targets([*arm_target, gripper_target])
            self.arm.step()
            self._now += self.arm.control_dt
        return self.arm.ground_truth()
