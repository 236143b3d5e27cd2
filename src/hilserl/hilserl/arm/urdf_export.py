"""
Write a URDF for rviz and robot_state_publisher from a compiled MuJoCo model; no ROS.

Arms that ship only an MJCF (the Panda of gym-hil) still have to publish a
``robot_description``. The compiled model already holds everything resolved:
body placements relative to their parents, joint axes and limits, and each
visual mesh in its geom frame. Meshes are written as binary STL into a cache
directory and the URDF names them with ``file://`` URIs.
"""

import hashlib
import os
from typing import Dict, List
from xml.sax.saxutils import quoteattr

import mujoco
import numpy as np

HINGE, SLIDE = int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)


def write_binary_stl(path: str, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Write triangles ``faces`` (indices into ``vertices``) as a binary STL file."""
    triangles = vertices[faces].astype(np.float32)  # (n, 3, 3)
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = (normals / np.where(lengths > 0, lengths, 1.0)).astype(np.float32)
    record = np.zeros(len(faces), dtype=[('normal', '<f4', 3), ('vertices', '<f4', (3, 3)),
                                         ('attribute', '<u2')])
    record['normal'], record['vertices'] = normals, triangles
    temporary = path + '.tmp'
    with open(temporary, 'wb') as stream:
        stream.write(b'hilserl urdf_export'.ljust(80, b' '))
        stream.write(np.uint32(len(faces)).tobytes())
        stream.write(record.tobytes())
    os.replace(temporary, path)


def quaternion_to_rpy(quaternion: np.ndarray) -> np.ndarray:
    """Return fixed-axis roll, pitch, yaw of a MuJoCo (w, x, y, z) quaternion."""
    w, x, y, z = quaternion
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.array([roll, pitch, yaw])


def _origin(position, quaternion) -> str:
    xyz = ' '.join(f'{v:.6g}' for v in position)
    rpy = ' '.join(f'{v:.6g}' for v in quaternion_to_rpy(quaternion))
    return f'<origin xyz="{xyz}" rpy="{rpy}"/>'


def _subtree(model: mujoco.MjModel, root: int) -> List[int]:
    bodies = [root]
    for body in range(root + 1, model.nbody):
        if model.body_parentid[body] in bodies:
            bodies.append(body)
    return bodies


def export_urdf(model: mujoco.MjModel, root_body: str, robot_name: str, mesh_dir: str,
                visual_group: int = 2) -> str:
    """
    Return a URDF of the subtree under ``root_body``, writing its meshes into ``mesh_dir``.

    Geoms of ``visual_group`` become visuals. A body with one hinge or slide
    joint gets a revolute or prismatic joint; a body without joints a fixed one.
    """
    root = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, root_body)
    if root < 0:
        raise ValueError(f"body '{root_body}' is not in the model")
    os.makedirs(mesh_dir, exist_ok=True)
    links: List[str] = []
    joints: List[str] = []
    written: Dict[int, str] = {}
    for body in _subtree(model, root):
        name = model.body(body).name or f'body{body}'
        visuals = []
        for geom in np.flatnonzero((model.geom_bodyid == body)
                                   & (model.geom_group == visual_group)):
            shape = _geometry(model, geom, mesh_dir, written)
            if shape:
                rgba = ' '.join(f'{v:.3g}' for v in _geom_rgba(model, geom))
                origin = _origin(model.geom_pos[geom], model.geom_quat[geom])
                visuals.append(f'    <visual>{origin}'
                               f'<geometry>{shape}</geometry><material name="m{geom}">'
                               f'<color rgba="{rgba}"/></material></visual>')
        links.append(f'  <link name={quoteattr(name)}>\n' + '\n'.join(visuals) + '\n  </link>')
        if body == root:
            continue
        parent = model.body(model.body_parentid[body]).name
        joint_ids = [j for j in range(model.body_jntadr[body],
                                      model.body_jntadr[body] + model.body_jntnum[body])]
        movable = [j for j in joint_ids if model.jnt_type[j] in (HINGE, SLIDE)]
        origin = _origin(model.body_pos[body], model.body_quat[body])
        if len(movable) == 1:
            j = movable[0]
            kind = 'revolute' if model.jnt_type[j] == HINGE else 'prismatic'
            low, high = model.jnt_range[j] if model.jnt_limited[j] else (-np.pi, np.pi)
            axis = ' '.join(f'{v:.6g}' for v in model.jnt_axis[j])
            joints.append(
                f'  <joint name={quoteattr(model.joint(j).name)} type="{kind}">{origin}'
                f'<parent link={quoteattr(parent)}/><child link={quoteattr(name)}/>'
                f'<axis xyz="{axis}"/><limit lower="{low:.6g}" upper="{high:.6g}" '
                f'effort="100" velocity="10"/></joint>')
        else:
            joints.append(f'  <joint name={quoteattr(name + "_fixed")} type="fixed">{origin}'
                          f'<parent link={quoteattr(parent)}/><child link={quoteattr(name)}/>'
                          '</joint>')
    return (f'<?xml version="1.0"?>\n<robot name={quoteattr(robot_name)}>\n'
            + '\n'.join(links + joints) + '\n</robot>\n')


def _geom_rgba(model: mujoco.MjModel, geom: int) -> np.ndarray:
    material = model.geom_matid[geom]
    return model.mat_rgba[material] if material >= 0 else model.geom_rgba[geom]


def _geometry(model: mujoco.MjModel, geom: int, mesh_dir: str, written: Dict[int, str]) -> str:
    kind, size = int(model.geom_type[geom]), model.geom_size[geom]
    if kind == mujoco.mjtGeom.mjGEOM_MESH:
        mesh = model.geom_dataid[geom]
        if mesh not in written:
            start, count = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
            vertices = model.mesh_vert[start:start + count]
            face_start, face_count = model.mesh_faceadr[mesh], model.mesh_facenum[mesh]
            faces = model.mesh_face[face_start:face_start + face_count]
            digest = hashlib.sha1(vertices.tobytes() + faces.tobytes()).hexdigest()[:12]
            path = os.path.join(mesh_dir, f'{model.mesh(mesh).name or mesh}_{digest}.stl')
            if not os.path.exists(path):
                write_binary_stl(path, vertices, faces)
            written[mesh] = path
        return f'<mesh filename="file://{written[mesh]}"/>'
    if kind == mujoco.mjtGeom.mjGEOM_BOX:
        return f'<box size="{2 * size[0]:.6g} {2 * size[1]:.6g} {2 * size[2]:.6g}"/>'
    if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        return f'<sphere radius="{size[0]:.6g}"/>'
    if kind in (mujoco.mjtGeom.mjGEOM_CYLINDER, mujoco.mjtGeom.mjGEOM_CAPSULE):
        return f'<cylinder radius="{size[0]:.6g}" length="{2 * size[1]:.6g}"/>'
    return ''
