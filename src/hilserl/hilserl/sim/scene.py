"""
Build the MuJoCo model of one arm on a table with a cube, cameras and a target marker.

The arm's MJCF is loaded from its asset package with ``mujoco.MjSpec`` and the rest
of the scene is added in code, so nothing is copied out of the packages. Physics
options (timestep, no-slip iterations) come from the package's own scene file.

Rendering is made cheap enough for a software OpenGL: no shadows, reflections,
multisampling or skybox, and every visual mesh is drawn from a vertex-clustered copy
(``mesh_simplify``). The original visual geoms stay in the model, in the hidden
geom group ``HIDDEN_GROUP``, so body inertias computed from them do not change;
collision geoms keep MuJoCo's convex hulls of the original meshes.
"""

import os
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import mujoco
import numpy as np

from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.robot_registry import load_robot
from hilserl.sim.mesh_simplify import simplified_mesh
from hilserl.sim.robots import adjust_model, look_at_quat, robot_description, RobotDescription
from hilserl.sim.tasks import TASKS
from hilserl.sim.visual_variation import add_variation_elements, VISUAL_VARIATIONS

CUBE_HALF_SIZE = 0.02  # metres: a 4 cm cube
CUBE_MASS = 0.1  # kg
CUBE_FRICTION = (1.0, 0.01, 0.0001)
TABLE_HALF_THICKNESS = 0.02
FLOOR_Z = -0.75
RENDER_GROUP = 2  # the MJCFs' visual group, drawn by default
HIDDEN_GROUP = 5  # not drawn by default: the full-resolution originals
# Smallest simplified mesh worth drawing; below this the cell is halved and retried.
_MIN_RENDER_FACES = 12


@dataclass(frozen=True)
class SceneSettings:
    """What the scene needs besides the robot: task, image sizes, marker size."""

    task: str = 'reach'
    max_image_size: Tuple[int, int] = (128, 128)  # (width, height) of the largest camera
    target_radius: float = 0.02  # reach: radius of the target sphere drawn
    goal_radius: float = 0.03  # push: radius of the goal disc drawn on the table
    # 'randomized' adds what hilserl.sim.visual_variation redraws at every reset.
    visual_variation: str = 'none'


def _mesh_path(spec: mujoco.MjSpec, mjcf_dir: str, mesh) -> str:
    """Return the file a mesh element reads, resolved like MuJoCo's compiler does."""
    if os.path.isabs(mesh.file):
        return mesh.file
    return os.path.normpath(os.path.join(mjcf_dir, spec.meshdir or '', mesh.file))


def _render_mesh(spec, mjcf_dir, source, cell) -> str:
    """Add a vertex-clustered copy of mesh ``source``; return its name ('' if too small)."""
    scale = tuple(float(value) for value in source.scale)
    path = _mesh_path(spec, mjcf_dir, source)
    while cell > 2.5e-4:
        vertices, faces = simplified_mesh(path, scale, float(cell))
        if len(faces) >= _MIN_RENDER_FACES:
            break
        cell /= 2.0
    else:
        return ''
    mesh = spec.add_mesh()
    mesh.name = f'{source.name}__render'
    mesh.uservert = vertices.reshape(-1).tolist()
    mesh.userface = faces.reshape(-1).tolist()
    return mesh.name


def add_render_meshes(spec: mujoco.MjSpec, mjcf_dir: str, cell: float) -> int:
    """
    Draw every visual mesh geom from a simplified copy; return how many were replaced.

    A visual geom is a mesh geom that collides with nothing. It moves to
    ``HIDDEN_GROUP`` unchanged (so inertia from geoms is unaffected) and a massless
    twin in ``RENDER_GROUP`` draws the simplified mesh in its place.
    """
    meshes = {mesh.name: mesh for mesh in spec.meshes}
    render_names: Dict[str, str] = {}
    replaced = 0
    for geom in list(spec.geoms):
        if geom.type != mujoco.mjtGeom.mjGEOM_MESH or geom.contype or geom.conaffinity:
            continue
        if geom.group != RENDER_GROUP:
            continue
        if geom.meshname not in render_names:
            render_names[geom.meshname] = _render_mesh(
                spec, mjcf_dir, meshes[geom.meshname], cell)
        twin = geom.parent.add_geom()
        twin.type = mujoco.mjtGeom.mjGEOM_MESH
        twin.meshname = render_names[geom.meshname] or geom.meshname
        twin.pos = np.array(geom.pos)
        twin.quat = np.array(geom.quat)
        twin.alt = geom.alt
        twin.material = geom.material
        twin.rgba = np.array(geom.rgba)
        twin.contype = 0
        twin.conaffinity = 0
        twin.group = RENDER_GROUP
        twin.mass = 0.0
        geom.group = HIDDEN_GROUP
        replaced += 1
    return replaced


def _add_world(spec: mujoco.MjSpec, robot: RobotDescription, settings: SceneSettings) -> None:
    """Add lights, table, floor, cube, target marker and the front camera."""
    world = spec.worldbody
    sky = spec.add_texture()
    sky.name = 'sky'
    sky.type = mujoco.mjtTexture.mjTEXTURE_SKYBOX
    sky.builtin = mujoco.mjtBuiltin.mjBUILTIN_GRADIENT
    sky.rgb1 = [0.55, 0.65, 0.75]
    sky.rgb2 = [0.15, 0.17, 0.2]
    sky.width = 32
    sky.height = 192
    light = world.add_light()
    light.name = 'top'
    light.type = mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
    light.pos = [0.0, 0.0, 2.0]
    light.dir = [0.2, 0.1, -1.0]
    light.diffuse = [0.6, 0.6, 0.6]
    light.specular = [0.1, 0.1, 0.1]
    light.castshadow = False

    table = world.add_geom()
    table.name = 'table'
    table.type = mujoco.mjtGeom.mjGEOM_BOX
    table.size = [*robot.table_half_size, TABLE_HALF_THICKNESS]
    table.pos = [*robot.table_center, -TABLE_HALF_THICKNESS]
    table.rgba = [0.62, 0.5, 0.36, 1.0]
    table.friction = [0.8, 0.005, 0.0001]

    floor = world.add_geom()
    floor.name = 'floor'
    floor.type = mujoco.mjtGeom.mjGEOM_PLANE
    floor.size = [3.0, 3.0, 0.05]
    floor.pos = [0.0, 0.0, FLOOR_Z]
    floor.rgba = [0.3, 0.33, 0.38, 1.0]
    floor.contype = 0
    floor.conaffinity = 0

    cube = world.add_body()
    cube.name = 'cube'
    cube.pos = [*robot.cube_region[0], CUBE_HALF_SIZE]
    joint = cube.add_freejoint()
    joint.name = 'cube'
    box = cube.add_geom()
    box.name = 'cube'
    box.type = mujoco.mjtGeom.mjGEOM_BOX
    box.size = [CUBE_HALF_SIZE] * 3
    box.mass = CUBE_MASS
    box.friction = list(CUBE_FRICTION)
    box.condim = 4
    box.rgba = [0.85, 0.2, 0.15, 1.0]

    target = world.add_body()
    target.name = 'target'
    target.mocap = True
    marker = target.add_geom()
    marker.name = 'target'
    marker.contype = 0
    marker.conaffinity = 0
    marker.mass = 0.0
    if settings.task == 'push':
        marker.type = mujoco.mjtGeom.mjGEOM_CYLINDER
        marker.size = [settings.goal_radius, 0.0005, 0.0]
        marker.rgba = [0.2, 0.75, 0.3, 1.0]
    else:
        marker.type = mujoco.mjtGeom.mjGEOM_SPHERE
        marker.size = [settings.target_radius, 0.0, 0.0]
        marker.rgba = [0.2, 0.75, 0.3, 0.6]
        # pick_lift has no target to see: its marker stays out of the drawn groups.
        marker.group = HIDDEN_GROUP if settings.task == 'pick_lift' else 0

    front = world.add_camera()
    front.name = 'front'
    front.pos = list(robot.front_camera_pos)
    front.quat = look_at_quat(robot.front_camera_pos, robot.front_camera_lookat, (0, 0, 1))
    front.fovy = robot.front_camera_fovy


def _add_wrist_camera(spec: mujoco.MjSpec, robot: RobotDescription) -> None:
    """Attach the ``wrist`` camera to the gripper body unless the MJCF has one."""
    if any(camera.name == 'wrist' for camera in spec.cameras):
        return
    camera = spec.body(robot.wrist_camera_body).add_camera()
    camera.name = 'wrist'
    camera.pos = list(robot.wrist_camera_pos)
    camera.quat = look_at_quat(robot.wrist_camera_pos, robot.wrist_camera_lookat,
                               robot.wrist_camera_up)
    camera.fovy = robot.wrist_camera_fovy


def _configure_visuals(spec: mujoco.MjSpec, settings: SceneSettings) -> None:
    """Turn off what a software renderer pays most for; size the offscreen buffer."""
    spec.visual.quality.shadowsize = 0
    spec.visual.quality.offsamples = 0
    spec.visual.headlight.ambient = [0.4, 0.4, 0.4]
    spec.visual.headlight.diffuse = [0.5, 0.5, 0.5]
    spec.visual.headlight.specular = [0.1, 0.1, 0.1]
    width, height = settings.max_image_size
    spec.visual.global_.offwidth = max(int(width), 64)
    spec.visual.global_.offheight = max(int(height), 64)
    spec.visual.map.znear = 0.005
    for material in spec.materials:
        material.reflectance = 0.0
    for light in spec.lights:
        light.castshadow = False


def build_spec(robot: RobotDescription, settings: SceneSettings) -> mujoco.MjSpec:
    """Return the uncompiled scene of ``robot`` for ``settings.task``."""
    if settings.task not in TASKS:
        raise ValueError(f'unknown task {settings.task!r}; choose one of {list(TASKS)}')
    if settings.visual_variation not in VISUAL_VARIATIONS:
        raise ValueError(f'unknown visual_variation {settings.visual_variation!r}; '
                         f'choose one of {list(VISUAL_VARIATIONS)}')
    mjcf_path = resolve_description(robot.model)
    spec = mujoco.MjSpec.from_file(mjcf_path)
    shipped_scene = mujoco.MjSpec.from_file(resolve_description(robot.scene))
    spec.option.timestep = shipped_scene.option.timestep
    spec.option.noslip_iterations = shipped_scene.option.noslip_iterations
    spec.option.noslip_tolerance = shipped_scene.option.noslip_tolerance
    spec.modelname = f'hilserl_{robot.name}_{settings.task}'
    adjust_model(spec, robot.adjustments)
    add_render_meshes(spec, os.path.dirname(mjcf_path), robot.render_mesh_cell)
    _add_world(spec, robot, settings)
    _add_wrist_camera(spec, robot)
    if settings.visual_variation == 'randomized':
        add_variation_elements(spec, robot, FLOOR_Z)
    _configure_visuals(spec, settings)
    return spec


def control_period(robot: str, rate_hz: Optional[float] = None) -> float:
    """
    Return the control period of ``robot``'s simulated arm, in whole physics steps.

    ``robot`` is a registry name or a robot file; ``rate_hz`` defaults to its
    ``safety.control_rate_hz``. The physics timestep is its ``sim.scene``'s. The
    period is the whole number of timesteps (at least one) nearest ``1 / rate_hz``:
    34 ms for 30 Hz at 2 ms.
    """
    description = robot_description(robot)
    if rate_hz is None:
        rate_hz = load_robot(robot).safety.control_rate_hz
    if not rate_hz > 0:
        raise ValueError(f'control_rate_hz must be positive, got {rate_hz}')
    timestep = float(mujoco.MjSpec.from_file(resolve_description(description.scene))
                     .option.timestep)
    return max(1, round(1.0 / rate_hz / timestep)) * timestep


def build_model(robot: RobotDescription, settings: SceneSettings) -> mujoco.MjModel:
    """Build and compile the scene; see ``build_spec``."""
    return build_spec(robot, settings).compile()
