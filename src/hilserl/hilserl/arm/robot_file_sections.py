"""
The sections of a robot file (:mod:`hilserl.arm.robot_registry`) as dataclasses, and their parsers.

Each ``parse_*`` function takes a :class:`hilserl.arm.robot_file_fields.Section`, checks every
field it reads and refuses the ones it does not know.
"""

from dataclasses import dataclass
import re
from typing import Dict, Optional, Tuple

from hilserl.arm.robot_file_fields import Floats, Names, Section, vector3
from hilserl.defaults import CONTROL_FPS

DRIVER_KINDS = ('simulator', 'hilserl', 'external')
CAMERA_KINDS = ('simulator', 'hilserl', 'external')
HOLD_ORIENTATIONS = ('initial', 'down', 'free')
INTEGRATORS = ('euler', 'implicit', 'implicitfast', 'rk4')


@dataclass(frozen=True)
class Description:
    """Where the arm's URDF or MJCF comes from (a file or a topic) and its base frame."""

    path: str          # '' when the URDF comes from a topic
    base_frame: str
    topic: str = ''    # source 'topic': the robot_description topic of the arm's stack


# description.source: topic, the URDF robot_state_publisher publishes (transient local).
DESCRIPTION_TOPIC = '/robot_description'
_TOPIC_NAME = re.compile(r'^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$')


@dataclass(frozen=True)
class Arm:
    """The arm joints in command order and their home positions (rad or m)."""

    joints: Tuple[str, ...]
    home: Tuple[float, ...]


@dataclass(frozen=True)
class Gripper:
    """The one gripper joint, its open and closed positions and its home position."""

    joint: str
    open: float
    closed: float
    home: float


@dataclass(frozen=True)
class Tcp:
    """The tool centre point: a frame of the description plus an offset and a rotation."""

    frame: str
    offset: Tuple[float, float, float]
    rpy: Tuple[float, float, float]


@dataclass(frozen=True)
class Safety:
    """The safety filter's limits (hilserl.arm.safety_filter.SafetyConfig) and tick rate."""

    bounds_min: Tuple[float, float, float]
    bounds_max: Tuple[float, float, float]
    end_effector_step_sizes: Tuple[float, float, float]
    hold_orientation: str
    orientation_weight: float
    max_joint_step: float
    max_gripper_step: float
    command_timeout_s: float
    reanchor_distance: float
    control_rate_hz: float


@dataclass(frozen=True)
class Driver:
    """What puts the arm on the arm contract: the simulator, a node, or the user's stack."""

    kind: str
    # kind 'hilserl': the node's package, executable, node name and parameter file.
    package: str = ''
    executable: str = ''
    node_name: str = ''
    parameter_file: str = ''
    # kind 'hilserl': a managed (lifecycle) node, brought up by the mode in graph order.
    managed: bool = False
    # kind 'external': the topics and service of the user's ros2_control stack.
    joint_states: str = 'joint_states'
    joint_commands: str = 'joint_commands'
    reset_service: str = 'reset_to_home'


@dataclass(frozen=True)
class Cameras:
    """The arm's cameras: rendered by the simulator, hilserl camera nodes, or external."""

    kind: str
    names: Tuple[str, ...]
    # The image processor's parameter file (crops and sizes for the policy).
    image_processor: str
    # kind 'simulator': rendered image size and rate.
    width: int = 128
    height: int = 128
    fps: float = CONTROL_FPS
    # kind 'hilserl': the camera_publisher parameter file.
    parameter_file: str = ''


@dataclass(frozen=True)
class TeleopLeader:
    """A leader arm that can drive this one (teleop:=leader): its node and joint mapping."""

    package: str
    executable: str
    parameter_file: str
    # leader_teleop's parameter file: the leader's joints onto this arm's TCP.
    mapping: str


@dataclass(frozen=True)
class SimCamera:
    """A camera the simulation adds: in ``body`` ('' = the world), looking at ``lookat``."""

    body: str
    pos: Tuple[float, float, float]
    lookat: Tuple[float, float, float]
    up: Tuple[float, float, float]
    fovy: float


@dataclass(frozen=True)
class SimAttachment:
    """A second MJCF (a gripper shipped apart from its arm) attached at a site of the model."""

    model: str
    site: str
    # Put before every name of the attached model (its joints, bodies, geoms, actuators).
    prefix: str


@dataclass(frozen=True)
class Sim:
    """The MuJoCo model of the arm and its task scene (hilserl.sim.robots)."""

    model: str
    scene: str
    arm_actuators: Tuple[str, ...]
    gripper_actuator: str
    # The TCP: an existing site of the model, or a site added to tcp_body at the TCP
    # offset and rotation (the kinematics' TCP, when that body is the TCP frame).
    tcp_site: str
    tcp_body: str
    finger_bodies: Tuple[Tuple[str, ...], Tuple[str, ...]]
    pad_geoms: Tuple[str, ...]
    position_servo_kp: Tuple[float, ...]
    position_servo_kv: Tuple[float, ...]
    # Force limits of servos created on joints that have no actuator (() = unlimited).
    position_servo_force: Tuple[float, ...]
    # The gripper actuator as a position servo (created when the model lacks it): kp, kv,
    # force limit; () leaves the model's actuator as it is.
    gripper_servo: Tuple[float, ...]
    # Joints held equal to the gripper joint (the other fingers of a multi-finger hand).
    coupled_joints: Tuple[str, ...]
    attach: Optional[SimAttachment]
    gravity_compensation: bool
    integrator: str
    render_mesh_cell: float
    urdf_root_body: str
    wrist_camera: SimCamera
    front_camera: SimCamera
    table_center: Tuple[float, float]
    table_half_size: Tuple[float, float]
    cube_region: Tuple[Tuple[float, ...], Tuple[float, ...]]
    target_region: Tuple[Tuple[float, ...], Tuple[float, ...]]
    goal_region: Tuple[Tuple[float, ...], Tuple[float, ...]]
    lift_height: float
    # hilserl.human.scripted_policy.ScriptedConfig fields for this arm (the scripted human).
    scripted: Dict[str, float]


def parse_safety(section: Section) -> Safety:
    bounds = section.section('end_effector_bounds')
    low, high = bounds.take('min', vector3), bounds.take('max', vector3)
    if any(lo >= hi for lo, hi in zip(low, high)):
        bounds.fail('min', f'must be below end_effector_bounds.max on every axis, got {low} '
                           f'and {high}')
    bounds.finish()
    safety = Safety(
        bounds_min=low, bounds_max=high,
        end_effector_step_sizes=section.take('end_effector_step_sizes', vector3),
        hold_orientation=section.choice('hold_orientation', HOLD_ORIENTATIONS),
        orientation_weight=section.number('orientation_weight', minimum=0.0),
        max_joint_step=section.number('max_joint_step', positive=True),
        max_gripper_step=section.number('max_gripper_step', positive=True),
        command_timeout_s=section.number('command_timeout_s', positive=True),
        reanchor_distance=section.number('reanchor_distance', positive=True),
        control_rate_hz=section.number('control_rate_hz', positive=True))
    section.finish()
    return safety


def parse_description(section: Section) -> Description:
    """Return the description: ``source`` a file (see Section.path) or ``topic``."""
    source = section.text('source')
    base_frame = section.text('base_frame')
    if source == 'topic':
        def topic_name(value):
            if not isinstance(value, str) or not _TOPIC_NAME.match(value):
                raise ValueError(f'expected a topic name such as {DESCRIPTION_TOPIC}, got '
                                 f'{value!r}')
            return value
        return Description('', base_frame, section.take('topic', topic_name,
                                                        DESCRIPTION_TOPIC))
    if 'topic' in section:
        section.fail('topic', 'only with source: topic')
    if '://' in source and not source.startswith('package://') or (
            '/' not in source and '.' not in source):
        section.fail('source', f'unknown source {source!r}; expected topic, '
                               'package://<python package>/<file> or a URDF or MJCF file')
    return Description(section.path('source'), base_frame)


def parse_driver(section: Section) -> Driver:
    kind = section.choice('kind', DRIVER_KINDS)
    if kind == 'hilserl':
        executable = section.text('executable')
        driver = Driver(kind, package=section.text('package'), executable=executable,
                        node_name=section.text('node_name', default='') or executable,
                        parameter_file=section.path('parameter_file'),
                        managed=section.flag('managed', default=False))
    elif kind == 'external':
        driver = Driver(kind, joint_states=section.text('joint_states'),
                        joint_commands=section.text('joint_commands'),
                        reset_service=section.text('reset_service'))
    else:
        driver = Driver(kind, node_name='sim_arm')
    section.finish()
    return driver


def parse_cameras(section: Section) -> Cameras:
    kind = section.choice('kind', CAMERA_KINDS)
    names = section.take('names', Names(what='camera names'))
    processor = section.path('image_processor')
    if kind == 'simulator':
        cameras = Cameras(kind, names, processor,
                          width=section.integer('width', positive=True),
                          height=section.integer('height', positive=True),
                          fps=section.number('fps', positive=True))
    elif kind == 'hilserl':
        cameras = Cameras(kind, names, processor,
                          parameter_file=section.path('parameter_file'))
    else:
        cameras = Cameras(kind, names, processor)
    section.finish()
    return cameras


def parse_teleop_leader(section: Section) -> TeleopLeader:
    leader = TeleopLeader(package=section.text('package'),
                          executable=section.text('executable'),
                          parameter_file=section.path('parameter_file'),
                          mapping=section.path('mapping'))
    section.finish()
    return leader


def _sim_camera(section: Section, in_body: bool) -> SimCamera:
    camera = SimCamera(body=section.text('body') if in_body else '',
                       pos=section.take('pos', vector3), lookat=section.take('lookat', vector3),
                       up=section.take('up', vector3, default=(0.0, 0.0, 1.0)),
                       fovy=section.number('fovy', positive=True))
    section.finish()
    return camera


def _region(section: Section, key: str, dims: int):
    box = section.section(key)
    low, high = (box.take(corner, Floats(length=dims)) for corner in ('min', 'max'))
    if any(lo > hi for lo, hi in zip(low, high)):
        box.fail('min', f'must not be above {key}.max, got {low} and {high}')
    box.finish()
    return low, high


def parse_sim(section: Section, arm_joints: int) -> Sim:
    actuators = section.take('arm_actuators', Names(what='actuator names'))
    if len(actuators) != arm_joints:
        section.fail('arm_actuators', f'expected {arm_joints} actuators (one per arm joint), '
                                      f'got {len(actuators)}')
    kp = kv = force = gripper_servo = ()
    if 'position_servos' in section:
        servos = section.section('position_servos')
        kp = servos.take('kp', Floats(length=arm_joints))
        kv = servos.take('kv', Floats(length=arm_joints))
        force = servos.take('force_limit', Floats(length=arm_joints), default=())
        servos.finish()
    if 'gripper_servo' in section:
        servo = section.section('gripper_servo')
        gripper_servo = (servo.number('kp', positive=True), servo.number('kv', minimum=0.0),
                         servo.number('force_limit', positive=True))
        servo.finish()
    tcp_site = section.text('tcp_site', default='')
    tcp_body = section.text('tcp_body', default='')
    if bool(tcp_site) == bool(tcp_body):
        section.fail('tcp_site', 'give either tcp_site (a site of the model) or tcp_body '
                                 '(a body that gets a site at the TCP offset), not both')
    fingers = section.take('finger_bodies', Names(what='two lists of body names', nested=2))
    table = section.section('table')
    regions = section.section('regions')
    sim = Sim(
        model=section.path('model'), scene=section.path('scene'),
        arm_actuators=actuators, gripper_actuator=section.text('gripper_actuator'),
        tcp_site=tcp_site, tcp_body=tcp_body, finger_bodies=fingers,
        pad_geoms=section.take('pad_geoms', Names(what='geom names'), default=()),
        position_servo_kp=kp, position_servo_kv=kv, position_servo_force=force,
        gripper_servo=gripper_servo,
        coupled_joints=section.take('coupled_joints', Names(), default=()),
        attach=_attachment(section.section('attach')) if 'attach' in section else None,
        gravity_compensation=section.flag('gravity_compensation', default=False),
        integrator=section.choice('integrator', INTEGRATORS, default=''),
        render_mesh_cell=section.number('render_mesh_cell', positive=True),
        urdf_root_body=section.text('urdf_root_body', default=''),
        wrist_camera=_sim_camera(section.section('wrist_camera'), in_body=True),
        front_camera=_sim_camera(section.section('front_camera'), in_body=False),
        table_center=table.take('center', Floats(length=2)),
        table_half_size=table.take('half_size', Floats(length=2)),
        cube_region=_region(regions, 'cube', 2),
        target_region=_region(regions, 'target', 3),
        goal_region=_region(regions, 'goal', 2),
        lift_height=section.number('lift_height', positive=True),
        scripted=_scripted(section.section('scripted', optional=True)))
    for part in (table, regions, section):
        part.finish()
    return sim


def _attachment(section: Section) -> SimAttachment:
    attachment = SimAttachment(model=section.path('model'), site=section.text('site'),
                               prefix=section.text('prefix'))
    section.finish()
    return attachment


SCRIPTED_FIELDS = ('grasp_height', 'push_height')


def _scripted(section: Section) -> Dict[str, float]:
    values = {key: section.number(key) for key in SCRIPTED_FIELDS if key in section}
    section.finish()
    return values
