"""
MuJoCo simulation of the suite's arms (SO-101, Franka Panda); no ROS imports.

``SimArm`` is the entry point: build it from a ``SimArmConfig`` (robot, task,
cameras, regions), then ``reset``, ``set_joint_targets``, ``step``, ``render`` and
read ``ground_truth``. Rendering needs an OpenGL backend: set ``MUJOCO_GL=egl``
(or ``osmesa``) before importing mujoco on a headless machine.
"""

from hilserl.sim.sim_arm import GroundTruth, SimArm, SimArmConfig
from hilserl.sim.tasks import TASKS

ROBOTS = ('so101', 'panda')

__all__ = ['GroundTruth', 'ROBOTS', 'SimArm', 'SimArmConfig', 'TASKS']
