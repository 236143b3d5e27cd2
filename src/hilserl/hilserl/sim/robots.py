"""
What the simulation needs to know about an arm, as plain data from its robot file.

A ``RobotDescription`` is the ``sim`` section of a robot file (config/robots/,
:mod:`hilserl.arm.robot_registry`) with the joints, gripper and home pose: the MJCF to
load, the joints and actuators in the order the suite uses, the TCP site, where the
cameras go, the task regions, and how the arm's model is adjusted (TCP site, gripper
contacts, actuators) while the scene is built. No module of the simulation names a
particular arm.

Frames: the world frame is the robot base frame (the base body sits at the origin),
x points forward from the base, z up; the table top is the plane z = 0.
"""

from dataclasses import dataclass
import os
from typing import Tuple

import mujoco
import numpy as np

from hilserl.arm.robot_descriptions import resolve_description
from hilserl.arm.robot_registry import load_robot

Vector3 = Tuple[float, float, float]
Region = Tuple[Tuple[float, ...], Tuple[float, ...]]

# Friction of the gripper pads: sliding, torsional (metres), rolling. The torsional
# term (condim 4) stops a held cube from pivoting about the axis through the pads.
PAD_FRICTION = (1.5, 0.02, 0.0001)
PAD_CONDIM = 4
# The site a robot file's sim.tcp_body gets at the TCP.
TCP_SITE = 'hilserl_tcp'
INTEGRATORS = {'euler': mujoco.mjtIntegrator.mjINT_EULER,
               'implicit': mujoco.mjtIntegrator.mjINT_IMPLICIT,
               'implicitfast': mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
               'rk4': mujoco.mjtIntegrator.mjINT_RK4}


@dataclass(frozen=True)
class ModelAdjustments:
    """What :func:`adjust_model` changes in a shipped model (the robot file's sim section)."""

    # A second MJCF (model path as resolve_description takes it) attached at a site with
    # a name prefix; '' attaches nothing.
    attach_model: str = ''
    attach_site: str = ''
    attach_prefix: str = ''
    tcp_body: str = ''
    tcp_offset: Vector3 = (0.0, 0.0, 0.0)
    tcp_rpy: Vector3 = (0.0, 0.0, 0.0)
    pad_geoms: Tuple[str, ...] = ()
    # Arm actuators made position servos; one missing from the model is created on the
    # arm joint of the same index, limited to servo_force (() = unlimited).
    servo_actuators: Tuple[str, ...] = ()
    servo_joints: Tuple[str, ...] = ()
    servo_kp: Tuple[float, ...] = ()
    servo_kv: Tuple[float, ...] = ()
    servo_force: Tuple[float, ...] = ()
    # The gripper actuator and joint, and (kp, kv, force limit) to make it a position
    # servo; () leaves it as it is.
    gripper_actuator: str = ''
    gripper_joint: str = ''
    gripper_servo: Tuple[float, ...] = ()
    # Joints held equal to gripper_joint by an equality constraint.
    coupled_joints: Tuple[str, ...] = ()
    gravity_compensation: bool = False
    integrator: str = ''


@dataclass(frozen=True)
class RobotDescription:
    """Static facts about one arm model, from its robot file; see the module docstring."""

    name: str
    # File references as hilserl.arm.robot_descriptions.resolve_description takes them.
    model: str
    scene: str
    arm_joints: Tuple[str, ...]
    arm_actuators: Tuple[str, ...]
    gripper_joint: str
    gripper_actuator: str
    gripper_open: float
    gripper_closed: float
    tcp_site: str
    # Bodies whose geoms touch a held cube from either side of the gripper.
    finger_bodies: Tuple[Tuple[str, ...], Tuple[str, ...]]
    wrist_camera_body: str
    wrist_camera_pos: Vector3
    wrist_camera_lookat: Vector3
    wrist_camera_up: Vector3
    wrist_camera_fovy: float
    front_camera_pos: Vector3
    front_camera_lookat: Vector3
    front_camera_fovy: float
    home_joint_positions: Tuple[float, ...]
    cube_region: Region
    target_region: Region
    goal_region: Region
    table_center: Tuple[float, float]
    table_half_size: Tuple[float, float]
    # pick_lift: how far the cube's centre must rise (metres).
    lift_height: float
    # Grid pitch (metres) of the vertex clustering that makes the render meshes.
    render_mesh_cell: float
    # How the shipped model is adjusted while the scene is built (adjust_model).
    adjustments: ModelAdjustments

    @property
    def joint_names(self) -> Tuple[str, ...]:
        """Arm joints then the one gripper joint, as the suite orders them."""
        return self.arm_joints + (self.gripper_joint,)


def look_at_quat(position, target, up) -> np.ndarray:
    """
    Return the quaternion (w, x, y, z) of a MuJoCo camera at ``position`` facing ``target``.

    MuJoCo cameras look along their -z axis with +y up in the image; ``up`` is the
    parent-frame direction that should appear up, and must not be parallel to the
    viewing direction.
    """
    forward = np.asarray(target, dtype=float) - np.asarray(position, dtype=float)
    forward /= np.linalg.norm(forward)
    z_axis = -forward
    x_axis = np.cross(np.asarray(up, dtype=float), z_axis)
    if np.linalg.norm(x_axis) < 1e-9:
        raise ValueError('camera up vector is parallel to its viewing direction')
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(z_axis, x_axis)
    matrix = np.column_stack([x_axis, y_axis, z_axis])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, matrix.reshape(-1))
    return quat


def _set_pad(geom, friction=PAD_FRICTION) -> None:
    """Make a gripper pad geom collide with the cube, with grippy friction."""
    geom.contype = 1
    geom.conaffinity = 1
    geom.condim = PAD_CONDIM
    geom.friction = np.asarray(friction, dtype=float)
    geom.priority = 2


def attach_model(spec: mujoco.MjSpec, path: str, site: str, prefix: str) -> None:
    """Attach the MJCF at ``path`` to ``spec``'s ``site``, every name prefixed by ``prefix``."""
    child = mujoco.MjSpec.from_file(path)
    folder = os.path.dirname(path)
    for mesh in child.meshes:
        # Absolute, so that the parent's meshdir does not apply to the child's meshes.
        if not os.path.isabs(mesh.file):
            mesh.file = os.path.normpath(os.path.join(folder, child.meshdir or '', mesh.file))
    spec.attach(child, site=_named(spec.site(site), 'site', site), prefix=prefix)


def _joint_limited(joint) -> bool:
    """Return whether a joint of a spec has a position range (MuJoCo's autolimits rule)."""
    if joint.limited == mujoco.mjtLimited.mjLIMITED_AUTO:
        return joint.range[0] < joint.range[1]
    return joint.limited == mujoco.mjtLimited.mjLIMITED_TRUE


def make_position_servo(spec: mujoco.MjSpec, name: str, joint_name: str, kp: float,
                        kv: float, force_limit: float = 0.0) -> None:
    """
    Make actuator ``name`` a position servo of ``joint_name`` (created if absent).

    Its control range is the joint's range (none for an unlimited joint); its force
    is limited to ``force_limit`` when given, else to a former motor's control range.
    """
    actuator = spec.actuator(name)
    torque_range = None
    if actuator is None:
        joint = _named(spec.joint(joint_name), 'joint', joint_name)
        actuator = spec.add_actuator(name=name, target=joint_name,
                                     trntype=mujoco.mjtTrn.mjTRN_JOINT)
    else:
        torque_range = np.array(actuator.ctrlrange, dtype=float)
        joint = spec.joint(actuator.target)
    actuator.set_to_position(kp=kp, kv=kv)
    if _joint_limited(joint):
        actuator.ctrlrange = np.array(joint.range, dtype=float)
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    else:
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
    if force_limit:
        torque_range = np.array([-force_limit, force_limit])
    if torque_range is not None:
        actuator.forcerange = torque_range
        actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE


def adjust_model(spec: mujoco.MjSpec, adjustments: ModelAdjustments) -> None:
    """
    Adjust the shipped model as its robot file asks, before the scene is added.

    A second MJCF attached at a site (a gripper shipped apart from its arm); a TCP site
    in ``tcp_body`` at the kinematics' TCP offset and rotation (the body must be the
    TCP frame of the description); gripper pads that collide with the cube with
    grippy friction; arm actuators turned into joint position servos (gains ``kp``,
    ``kv``; :func:`make_position_servo`), created where the model has none, the
    gripper's too; the other fingers' joints held equal to the gripper joint; gravity
    compensation of every body; another integrator (implicitfast keeps stiff actuator
    damping stable at the shipped timestep).
    """
    if adjustments.attach_model:
        attach_model(spec, resolve_description(adjustments.attach_model),
                     adjustments.attach_site, adjustments.attach_prefix)
    if adjustments.tcp_body:
        quat = np.zeros(4)
        mujoco.mju_euler2Quat(quat, np.asarray(adjustments.tcp_rpy, dtype=float), 'XYZ')
        spec.body(adjustments.tcp_body).add_site(
            name=TCP_SITE, pos=list(adjustments.tcp_offset), quat=list(quat), group=3)
    for name in adjustments.pad_geoms:
        _set_pad(_named(spec.geom(name), 'geom', name))
    forces = adjustments.servo_force or (0.0,) * len(adjustments.servo_actuators)
    for name, joint, kp, kv, force in zip(adjustments.servo_actuators,
                                          adjustments.servo_joints, adjustments.servo_kp,
                                          adjustments.servo_kv, forces):
        make_position_servo(spec, name, joint, kp, kv, force)
    if adjustments.gripper_servo:
        make_position_servo(spec, adjustments.gripper_actuator, adjustments.gripper_joint,
                            *adjustments.gripper_servo)
    for name in adjustments.coupled_joints:
        _named(spec.joint(name), 'joint', name)
        spec.add_equality(type=mujoco.mjtEq.mjEQ_JOINT, name1=name,
                          name2=adjustments.gripper_joint,
                          data=[0.0, 1.0] + [0.0] * 10)
    if adjustments.gravity_compensation:
        for body in spec.bodies:
            if body.name and body.name != 'world':
                body.gravcomp = 1.0
    if adjustments.integrator:
        spec.option.integrator = INTEGRATORS[adjustments.integrator]


def _named(element, kind: str, name: str):
    """Return ``element``, or a clear error when the model has no such ``kind``."""
    if element is None:
        raise ValueError(f'the robot model has no {kind} {name!r}')
    return element


def robot_description(robot: str) -> RobotDescription:
    """Return the description of ``robot``: a registry name or a robot file path."""
    file = load_robot(robot)
    if file.sim is None:
        raise ValueError(f'robot {robot!r} has no sim section: it is not a simulated arm '
                         f'({file.path})')
    sim = file.sim
    return RobotDescription(
        name=file.name, model=sim.model, scene=sim.scene,
        arm_joints=file.arm.joints, arm_actuators=sim.arm_actuators,
        gripper_joint=file.gripper.joint, gripper_actuator=sim.gripper_actuator,
        gripper_open=file.gripper.open, gripper_closed=file.gripper.closed,
        tcp_site=sim.tcp_site or TCP_SITE, finger_bodies=sim.finger_bodies,
        wrist_camera_body=sim.wrist_camera.body, wrist_camera_pos=sim.wrist_camera.pos,
        wrist_camera_lookat=sim.wrist_camera.lookat, wrist_camera_up=sim.wrist_camera.up,
        wrist_camera_fovy=sim.wrist_camera.fovy,
        front_camera_pos=sim.front_camera.pos, front_camera_lookat=sim.front_camera.lookat,
        front_camera_fovy=sim.front_camera.fovy,
        home_joint_positions=file.home_joint_positions,
        cube_region=sim.cube_region, target_region=sim.target_region,
        goal_region=sim.goal_region, table_center=sim.table_center,
        table_half_size=sim.table_half_size, lift_height=sim.lift_height,
        render_mesh_cell=sim.render_mesh_cell,
        adjustments=ModelAdjustments(
            attach_model=sim.attach.model if sim.attach else '',
            attach_site=sim.attach.site if sim.attach else '',
            attach_prefix=sim.attach.prefix if sim.attach else '',
            tcp_body=sim.tcp_body, tcp_offset=file.tcp.offset, tcp_rpy=file.tcp.rpy,
            pad_geoms=sim.pad_geoms,
            servo_actuators=sim.arm_actuators if sim.position_servo_kp else (),
            servo_joints=file.arm.joints,
            servo_kp=sim.position_servo_kp, servo_kv=sim.position_servo_kv,
            servo_force=sim.position_servo_force,
            gripper_actuator=sim.gripper_actuator, gripper_joint=file.gripper.joint,
            gripper_servo=sim.gripper_servo, coupled_joints=sim.coupled_joints,
            gravity_compensation=sim.gravity_compensation, integrator=sim.integrator))
