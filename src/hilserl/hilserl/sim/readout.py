"""Read joints and cameras of a MuJoCo model by name, for publishing; no ROS."""

from typing import List, Sequence

import mujoco
import numpy as np

_MOVING = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))


def moving_joint_names(model: mujoco.MjModel) -> List[str]:
    """Return the names of every hinge and slide joint (free joints of objects excluded)."""
    return [model.joint(j).name for j in range(model.njnt)
            if int(model.jnt_type[j]) in _MOVING and model.joint(j).name]


class JointReadout:
    """Positions and velocities of named one-DOF joints, in a fixed order."""

    def __init__(self, model: mujoco.MjModel, names: Sequence[str]):
        """Resolve the names once; unknown names raise ValueError."""
        missing = [n for n in names if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) < 0]
        if missing:
            raise ValueError(f'joints {missing} are not in the model')
        ids = [model.joint(name).id for name in names]
        self.names = list(names)
        self._qpos = np.array([model.jnt_qposadr[j] for j in ids])
        self._qvel = np.array([model.jnt_dofadr[j] for j in ids])

    def positions(self, data: mujoco.MjData) -> np.ndarray:
        """Return the joint positions."""
        return data.qpos[self._qpos].copy()

    def velocities(self, data: mujoco.MjData) -> np.ndarray:
        """Return the joint velocities."""
        return data.qvel[self._qvel].copy()


def camera_fovy(model: mujoco.MjModel, name: str) -> float:
    """Return the vertical field of view of camera ``name`` in degrees."""
    return float(model.cam_fovy[model.camera(name).id])
