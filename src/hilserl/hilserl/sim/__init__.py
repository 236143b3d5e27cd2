"""
Simulated arms, no ROS: MuJoCo arms and Gymnasium environments (:mod:`hilserl.sim.gym`).

MuJoCo simulates any arm whose robot file has a sim section.

``SimArm`` is the MuJoCo entry point: build it from a ``SimArmConfig`` (robot: a
registry name or a robot file, config/robots/ and :mod:`hilserl.arm.robot_registry`;
task, cameras, regions), then ``reset``, ``set_joint_targets``, ``step``, ``render``
and read ``ground_truth``. Rendering needs an OpenGL backend: set ``MUJOCO_GL=egl``
(or ``osmesa``) before importing mujoco on a headless machine.

The names below are imported on first use, so that importing :mod:`hilserl.sim.gym`
(the ``hilserl`` command, the Gymnasium node) does not load MuJoCo.
"""

import importlib

_LAZY = {'GroundTruth': 'hilserl.sim.sim_arm', 'SimArm': 'hilserl.sim.sim_arm',
         'SimArmConfig': 'hilserl.sim.sim_arm', 'TASKS': 'hilserl.sim.tasks'}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(_LAZY[name]), name)
