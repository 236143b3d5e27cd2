"""
MuJoCo simulation of any arm whose robot file has a sim section; no ROS imports.

``SimArm`` is the entry point: build it from a ``SimArmConfig`` (robot: a registry name
or a robot file, config/robots/ and :mod:`hilserl.arm.robot_registry`; task,
cameras, regions), then ``reset``, ``set_joint_targets``, ``step``, ``render`` and
read ``ground_truth``. Rendering needs an OpenGL backend: set ``MUJOCO_GL=egl``
(or ``osmesa``) before importing mujoco on a headless machine.
"""

from hilserl.sim.sim_arm import GroundTruth, SimArm, SimArmConfig
from hilserl.sim.tasks import TASKS

__all__ = ['GroundTruth', 'SimArm', 'SimArmConfig', 'TASKS']
