"""
The ``robot_description`` (URDF) an arm publishes for rviz; no ROS.

The robot file's ``description.source`` is used as it is when it is a URDF, with
relative mesh paths made absolute ``file://`` URIs so rviz finds them from any
working directory. An arm that ships only an MJCF gets a URDF exported from its
simulation model from ``sim.urdf_root_body`` on, with the decimated render meshes
(:mod:`hilserl.arm.urdf_export`).
"""

import os
import re

from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.robot_registry import load_robot
from hilserl.arm.urdf_export import export_urdf

CACHE_DIR = os.path.join(os.environ.get('XDG_CACHE_HOME', os.path.expanduser('~/.cache')),
                         'hilserl', 'robot_descriptions')


def absolute_mesh_uris(urdf: str, urdf_dir: str) -> str:
    """Rewrite relative mesh ``filename``s of ``urdf`` as ``file://`` URIs under ``urdf_dir``."""
    def absolute(match):
        path = match.group(1)
        if '://' in path or path.startswith('/'):
            return match.group(0)
        return f'filename="file://{os.path.normpath(os.path.join(urdf_dir, path))}"'
    return re.sub(r'filename="([^"]+)"', absolute, urdf)


def robot_description(robot: str, model=None) -> str:
    """
    Return the URDF text of ``robot`` (a registry name or a robot file).

    An exported URDF comes from ``model`` (the running simulation's MjModel) when given,
    else from the robot file's ``sim.model`` loaded on its own.
    """
    file = load_robot(robot)
    source = file.description.path
    if source.lower().endswith('.urdf'):
        path = resolve_description(source)
        with open(path) as stream:
            return absolute_mesh_uris(stream.read(), os.path.dirname(path))
    if file.sim is None or not file.sim.urdf_root_body:
        raise ValueError(f'{os.path.basename(file.path)}: description.source is not a URDF; '
                         'rviz needs sim.urdf_root_body to export one from the sim model')
    if model is None:
        import mujoco
        model = mujoco.MjModel.from_xml_path(resolve_description(file.sim.model))
    return export_urdf(model, file.sim.urdf_root_body, file.name,
                       os.path.join(CACHE_DIR, file.name))


def robot_description_for(robot: str) -> str:
    """Return the URDF of ``robot`` without a running simulation (loads its MJCF if needed)."""
    return robot_description(robot)
