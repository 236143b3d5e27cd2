"""
The robot registry: one YAML file per arm says everything the suite needs about it; no ROS.

``robot:=NAME`` picks the installed ``share/hilserl/config/robots/NAME.yaml``;
``robot:=/path/to/my_arm.yaml`` (anything ending in ``.yaml``/``.yml`` or holding a
``/``) takes a user's file. Parameter files it names are looked up next to it, then
in hilserl's installed ``config/``, so a copy of a shipped file works anywhere.
:func:`load_robot` reads and checks a file and returns a :class:`RobotFile`; a bad
value is a :class:`RobotFileError` naming the file and the field (``my_arm.yaml:
arm.joints: expected a list of joint names, got 3``). docs/robots.md describes the
format field by field. The sections and their checks are in
:mod:`hilserl.arm.robot_file_sections`, the checks of single values in
:mod:`hilserl.arm.robot_file_fields`.
"""

from dataclasses import dataclass
import os
import re
from typing import Dict, List, Optional, Tuple

from hilserl.arm.robot_file_fields import Floats, Names, RobotFileError, Section, vector3
from hilserl.arm.robot_file_sections import (Arm, Cameras, Description, Driver, Gripper,
                                             parse_cameras, parse_description, parse_driver,
                                             parse_safety, parse_sim,
                                             parse_teleop_leader, Safety, Sim, SimCamera, Tcp,
                                             TeleopLeader)

__all__ = ['Arm', 'Cameras', 'default_joint_names', 'default_robot', 'Description', 'Driver',
           'Gripper', 'load_robot', 'registry_directory', 'robot_file_path', 'RobotFile',
           'RobotFileError', 'robot_names', 'Safety', 'Sim', 'SimCamera', 'Tcp', 'TeleopLeader']

NAME_PATTERN = re.compile(r'^[a-z][a-z0-9_]*$')
# In hilserl's installed config/: the registry name used when no robot is given.
DEFAULT_ROBOT_FILE = 'default_robot.yaml'


@dataclass(frozen=True)
class RobotFile:
    """One arm of the registry, checked; see the module docstring."""

    name: str
    path: str
    description: Description
    arm: Arm
    gripper: Gripper
    tcp: Tcp
    safety: Safety
    driver: Driver
    cameras: Cameras
    sim: Optional[Sim]
    # None: no leader arm drives this one.
    teleop_leader: Optional[TeleopLeader]

    @property
    def joint_names(self) -> Tuple[str, ...]:
        """Arm joints then the gripper joint, as joint_commands orders them."""
        return self.arm.joints + (self.gripper.joint,)

    @property
    def simulated(self) -> bool:
        """Whether the simulator drives this arm."""
        return self.driver.kind == 'simulator'

    @property
    def home_joint_positions(self) -> Tuple[float, ...]:
        """Return the home pose, arm joints then gripper."""
        return self.arm.home + (self.gripper.home,)

    def safety_limits(self) -> Dict[str, object]:
        """Return the filter's limits as hilserl.arm.safety_filter.SafetyConfig names them."""
        safety = self.safety
        return dict(bounds_min=safety.bounds_min, bounds_max=safety.bounds_max,
                    end_effector_step_sizes=safety.end_effector_step_sizes,
                    max_joint_step=safety.max_joint_step,
                    max_gripper_step=safety.max_gripper_step,
                    hold_orientation=safety.hold_orientation,
                    orientation_weight=safety.orientation_weight)

    def safety_filter_parameters(self) -> Dict[str, object]:
        """Return the parameters of the safety_filter node for this arm."""
        safety = self.safety
        description = self.description
        return {
            **({'robot_description_topic': description.topic} if description.topic
               else {'robot_description_path': description.path}),
            'base_frame': self.description.base_frame,
            'tcp_frame': self.tcp.frame, 'tcp_offset': list(self.tcp.offset),
            'tcp_rpy': list(self.tcp.rpy),
            'arm_joint_names': list(self.arm.joints),
            'gripper_joint_name': self.gripper.joint,
            'gripper_open': self.gripper.open, 'gripper_closed': self.gripper.closed,
            'rest_joint_positions': list(self.arm.home),
            'end_effector_bounds.min': list(safety.bounds_min),
            'end_effector_bounds.max': list(safety.bounds_max),
            'end_effector_step_sizes': list(safety.end_effector_step_sizes),
            'hold_orientation': safety.hold_orientation,
            'orientation_weight': safety.orientation_weight,
            'max_joint_step': safety.max_joint_step,
            'max_gripper_step': safety.max_gripper_step,
            'command_timeout_s': safety.command_timeout_s,
            'reanchor_distance': safety.reanchor_distance,
            'control_rate_hz': safety.control_rate_hz}

    def joint_parameters(self) -> Dict[str, object]:
        """Return the arm_joint_names and gripper_joint_name parameters of the nodes."""
        return {'arm_joint_names': list(self.arm.joints),
                'gripper_joint_name': self.gripper.joint}


def registry_directory() -> str:
    """Return the installed ``share/hilserl/config/robots`` folder."""
    return os.path.join(config_directory(), 'robots')


def config_directory() -> str:
    """Return hilserl's installed ``share/hilserl/config`` folder ('' when not installed)."""
    from ament_index_python.packages import (get_package_share_directory,
                                             PackageNotFoundError)
    try:
        return os.path.join(get_package_share_directory('hilserl'), 'config')
    except PackageNotFoundError:
        return ''


def default_robot(config_folder: Optional[str] = None) -> str:
    """Return the robot the modes, the demo and the sim use by default (DEFAULT_ROBOT_FILE)."""
    import yaml
    path = os.path.join(config_folder or config_directory(), DEFAULT_ROBOT_FILE)
    try:
        with open(path, encoding='utf-8') as stream:
            name = (yaml.safe_load(stream) or {}).get('default_robot')
    except (OSError, yaml.YAMLError, AttributeError) as error:
        raise RobotFileError(f'{path}: cannot read the default robot ({error})') from None
    if not isinstance(name, str) or not name:
        raise RobotFileError(f'{DEFAULT_ROBOT_FILE}: default_robot: expected a robot name, '
                             f'got {name!r}')
    return name


def default_joint_names() -> Tuple[Tuple[str, ...], str]:
    """Return the default robot's arm joints and gripper joint: a node started alone's."""
    robot = load_robot(default_robot())
    return robot.arm.joints, robot.gripper.joint


def robot_names(directory: Optional[str] = None) -> List[str]:
    """Return the names of the registry's robot files, sorted."""
    directory = directory or registry_directory()
    return sorted(name[:-len('.yaml')] for name in os.listdir(directory)
                  if name.endswith('.yaml'))


def is_robot_path(robot: str) -> bool:
    """Return whether ``robot`` is a file path rather than a registry name."""
    return robot.endswith(('.yaml', '.yml')) or os.sep in robot


def robot_file_path(robot: str, directory: Optional[str] = None) -> str:
    """Return the file of ``robot`` (a registry name or a path), or a RobotFileError."""
    if is_robot_path(robot):
        path = os.path.abspath(os.path.expanduser(robot))
        if not os.path.isfile(path):
            raise RobotFileError(f'robot file {robot} not found')
        return path
    directory = directory or registry_directory()
    path = os.path.join(directory, f'{robot}.yaml')
    if not NAME_PATTERN.match(robot) or not os.path.isfile(path):
        raise RobotFileError(f"no robot '{robot}' in {directory}; choose one of "
                             f"{', '.join(robot_names(directory))}, or give a robot file "
                             '(robot:=/path/to/my_arm.yaml, docs/robots.md)')
    return path


def load_robot(robot: str, directory: Optional[str] = None) -> RobotFile:
    """Read and check the robot file of ``robot`` (a registry name or a path)."""
    import yaml
    path = robot_file_path(robot, directory)
    label = os.path.basename(path)
    try:
        with open(path, encoding='utf-8') as stream:
            content = yaml.safe_load(stream)
    except yaml.YAMLError as error:
        mark = getattr(error, 'problem_mark', None)
        where = f' (line {mark.line + 1})' if mark is not None else ''
        raise RobotFileError(f'{label}: not valid YAML{where}') from None
    except OSError as error:
        raise RobotFileError(f'{label}: cannot read it: {error.strerror}') from None
    return parse_robot(content, path)


def parse_robot(content, path: str) -> RobotFile:
    """Return the checked :class:`RobotFile` of a parsed YAML document read from ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    root = Section(os.path.basename(path), '', content, folder, config_directory())
    name = os.path.splitext(os.path.basename(path))[0]
    description = root.section('description')
    arm_section = root.section('arm')
    arm = Arm(joints=arm_section.take('joints', Names()),
              home=arm_section.take('home', Floats()))
    if len(arm.home) != len(arm.joints):
        arm_section.fail('home', f'expected {len(arm.joints)} positions (one per joint in '
                                 f'arm.joints), got {len(arm.home)}')
    gripper = root.section('gripper')
    tcp = root.section('tcp')
    robot = RobotFile(
        name=name, path=os.path.abspath(path),
        description=parse_description(description),
        arm=arm,
        gripper=Gripper(joint=gripper.text('joint'), open=gripper.number('open'),
                        closed=gripper.number('closed'), home=gripper.number('home')),
        tcp=Tcp(frame=tcp.text('frame'), offset=tcp.take('offset', vector3),
                rpy=tcp.take('rpy', vector3)),
        safety=parse_safety(root.section('safety')),
        driver=parse_driver(root.section('driver')),
        cameras=parse_cameras(root.section('cameras')),
        sim=parse_sim(root.section('sim'), len(arm.joints)) if 'sim' in root else None,
        teleop_leader=(parse_teleop_leader(root.section('teleop_leader'))
                       if 'teleop_leader' in root else None))
    for section in (root, description, arm_section, gripper, tcp):
        section.finish()
    if robot.simulated and robot.sim is None:
        root.fail('sim', 'driver.kind simulator needs a sim section')
    if robot.description.topic and robot.simulated:
        root.fail('description.source', 'topic needs a real arm (driver.kind hilserl or '
                                        "external): the simulator's kinematics read a file")
    if robot.cameras.kind == 'simulator' and not robot.simulated:
        root.fail('cameras.kind', 'simulator cameras need driver.kind simulator')
    return robot
