"""
The pieces the modes are built from: the arm, its cameras, the human; no ROS import.

:mod:`hilserl.launching.modes` and :mod:`hilserl.launching.train_mode` assemble them into
the modes' node graphs; the two small modes that need nothing else, demo and sim, are here.
The default arm is the robot registry's (:func:`hilserl.arm.robot_registry.default_robot`):
no module here names one.
"""

from dataclasses import replace
import os
from typing import Dict, List, Union

from hilserl.arm.robot_registry import default_robot, load_robot, RobotFile, RobotFileError
from hilserl.defaults import CONTROL_FPS
from hilserl.sim.gym.env_file import environment_file_path, EnvRobot, load_environment
from hilserl.sim.gym.env_file import NODE_NAME as ENV_NODE_NAME
from hilserl.sim.gym.environment import EnvError
from hilserl.launching.graph import argument_as_float, GraphError, LaunchArgument, Mode, NodeSpec

DEMO_CAMERAS = ('front', 'wrist')

TASKS = ('reach', 'push', 'pick_lift')
# The arm and task arguments of the modes that run a whole arm (record, train, classifier).
ROBOT_ARGUMENT = LaunchArgument(
    'robot', default_robot,
    'Which arm: a name from the robot registry (config/robots/NAME.yaml: the simulated '
    'arms and the real ones the suite ships) or the path of your own robot file '
    '(docs/robots.md).')
TASK_ARGUMENT = LaunchArgument('task', 'pick_lift', 'Which task (simulation).', TASKS)
ENV_ARGUMENT = LaunchArgument(
    'env', '',
    'With an environment file for robot:= (robot:=gym, docs/gymnasium.md): the entry or '
    'Gymnasium id to train on; empty: the file\'s default.')
LOCK_STEP = LaunchArgument(
    'lock_step', 'false',
    'Simulation: advance the physics only when commanded, one control period (1/fps) per '
    'end-effector command however late it comes, instead of in real time.',
    ('true', 'false'))
VISUAL_VARIATION = LaunchArgument(
    'visual_variation', 'none',
    "Simulation: 'randomized' draws new lighting, table, floor and backdrop textures, "
    'distractor objects and a slightly moved camera at every reset (a visually harder '
    "scene for image policies); 'none' keeps the plain scene.",
    ('none', 'randomized'))


def config_file(name: str) -> str:
    """Return the installed path of a file under share/hilserl/config."""
    from ament_index_python.packages import get_package_share_directory
    return os.path.join(get_package_share_directory('hilserl'), 'config', name)


def robot_file(args: Dict[str, str]) -> Union[RobotFile, EnvRobot]:
    """
    Return the robot file ``robot:=`` names, or a GraphError naming the bad field.

    An environment file (``config/environments/NAME.yaml``) gives an EnvRobot instead:
    the environment ``env:=`` picks, which plays the arm (:mod:`hilserl.sim.gym.env_file`).
    """
    try:
        path = environment_file_path(args['robot'])
        if path is not None:
            robot = load_environment(path, args.get('env', ''))
            robot.layout   # makes the environment once: its errors are the launcher's
            return robot
        if args.get('env'):
            raise GraphError(f"env:={args['env']} needs an environment file for robot:= "
                             f"(robot:={args['robot']} is an arm)")
        return load_robot(args['robot'])
    except (RobotFileError, EnvError) as error:
        raise GraphError(str(error)) from None


def environment_nodes(robot: EnvRobot, cameras: bool) -> List[NodeSpec]:
    """Return the node that plays the arm with an environment, and its image processor."""
    environment = NodeSpec(ENV_NODE_NAME, ENV_NODE_NAME, parameters={
        **robot.node_parameters(), 'render_cameras_enabled': cameras})
    names = list(robot.layout.cameras)
    if not cameras or not names:
        return [environment]
    # Resized to the processor's default size, the one the policy's encoder takes.
    return [environment, NodeSpec('image_processor', 'image_processor',
                                  parameters={'camera_names': names})]


def sim_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return a simulated arm behind the safety filter, its cameras processed for the policy."""
    robot = robot_file(args)
    if isinstance(robot, EnvRobot):
        raise GraphError(f"robot:={args['robot']} is a set of Gymnasium environments; they "
                         'play the arm in train and record mode, not in sim mode')
    if not robot.simulated:
        raise GraphError(f"robot:={args['robot']} is not a simulated arm (its driver.kind is "
                         f'{robot.driver.kind}); the sim mode needs a robot file with a sim '
                         'section')
    lock_step = args['lock_step'] == 'true'
    cameras = robot.cameras
    # Frames at the control rate where the mode has one: the actor acts on each camera's
    # newest frame, so a slower camera would add up to a camera period to its latency.
    camera_fps = argument_as_float(args, 'fps') if 'fps' in args else cameras.fps
    arm_parameters = {'robot': robot.path, 'task': args['task'], 'lock_step': lock_step,
                      'visual_variation': args['visual_variation'],
                      'control_rate_hz': robot.safety.control_rate_hz,
                      'camera_names': list(cameras.names), 'camera_width': cameras.width,
                      'camera_height': cameras.height, 'camera_fps': camera_fps,
                      'base_frame': robot.description.base_frame}
    nodes = [
        NodeSpec('sim_arm', 'sim_arm', parameters=arm_parameters),
        NodeSpec('safety_filter', 'safety_filter', parameters={
            **robot.safety_filter_parameters(),
            'ticks_per_command': ticks_per_command(robot, args) if lock_step else 0}),
        NodeSpec('image_processor', 'image_processor',
                 parameter_files=(cameras.image_processor,)),
    ]
    if args['rviz'] == 'true':
        nodes += visualisation_nodes(robot)
    return nodes


def ticks_per_command(robot: RobotFile, args: Dict[str, str]) -> int:
    """
    Return the filter ticks (= physics control steps) of one command of a lock-stepped arm.

    The control loop's period over the filter's: what the arm would move in real time
    between two commands at ``fps`` (10 where the mode sets no rate: a teleop stream).
    """
    fps = argument_as_float(args, 'fps') if 'fps' in args else CONTROL_FPS
    return max(1, round(robot.safety.control_rate_hz / fps))


def visualisation_nodes(robot: RobotFile) -> List[NodeSpec]:
    """Return robot_state_publisher and rviz2 with the suite's layout, both optional."""
    # Imported here: building the URDF loads the robot model, needed only with rviz.
    from hilserl.sim.description import robot_description_for
    return [
        NodeSpec('robot_state_publisher', 'robot_state_publisher',
                 package='robot_state_publisher', optional=True,
                 parameters={'robot_description': robot_description_for(robot.path)}),
        NodeSpec('rviz2', 'rviz2', package='rviz2', optional=True,
                 arguments=('-d', config_file('hilserl.rviz'))),
    ]


# Which nodes play the human in record mode; each publishes teleop/command,
# teleop/intervention and episode_events (the teleop contract, docs/teleop.md).
TELEOP_CHOICES = ('scripted', 'keyboard', 'gamepad', 'leader')
# Record and classifier collect: whether the scripted human does the task or fails it.
SCRIPTED_OUTCOME = LaunchArgument(
    'scripted_outcome', 'success',
    "teleop:=scripted only: 'success' does the task; 'failure' plays every episode badly "
    '(moves to a wrong place, stops short, drops the cube, lifts the jaws empty, wanders, '
    'in turn) until it stalls or times out: negative examples for the reward classifier, '
    'never demonstrations.',
    ('success', 'failure'))


def package_installed(package: str) -> bool:
    """Return whether ``package`` is in the ament index."""
    from ament_index_python.packages import get_package_prefix, PackageNotFoundError
    try:
        get_package_prefix(package)
    except PackageNotFoundError:
        return False
    return True


def rerecord_episodes(args: Dict[str, str]) -> List[int]:
    """Return the episode numbers of ``rerecord_episodes:=3,7``, or a clear error."""
    words = [word.strip() for word in args['rerecord_episodes'].split(',') if word.strip()]
    if not all(word.isdigit() for word in words):
        raise GraphError(f"rerecord_episodes:={args['rerecord_episodes']} is not a "
                         'comma-separated list of episode numbers')
    return [int(word) for word in words]


def teleop_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return the nodes that play the human for ``teleop``."""
    teleop = args['teleop']
    if teleop == 'scripted':
        rerecord = rerecord_episodes(args)
        parameters = {'robot': robot_file(args).path, 'task': args['task'],
                      'fps': argument_as_float(args, 'fps')}
        if rerecord:
            parameters['rerecord_episodes'] = rerecord
        if args.get('scripted_outcome', 'success') != 'success':
            parameters['outcome'] = args['scripted_outcome']
        return [NodeSpec('scripted_human', 'scripted_human', parameter_files=('record.yaml',),
                         parameters=parameters)]
    if teleop == 'keyboard':
        # keyboard_teleop reads keys from a terminal of its own, which a node started by a
        # launcher does not have: the user runs it beside the mode (docs/teleop.md).
        return []
    if teleop == 'leader':
        robot = robot_file(args)
        if isinstance(robot, EnvRobot):
            raise GraphError("teleop:=leader needs a real arm's robot file; "
                             f"robot:={args['robot']} is an environment file (use keyboard or "
                             'gamepad)')
        leader = robot.teleop_leader
        if leader is None:
            raise GraphError(f"teleop:=leader needs a robot file with a teleop_leader section; "
                             f"robot:={args['robot']} has none")
        # The leader is always a real arm on its own serial adapter, torque off.
        return [NodeSpec(leader.executable, leader.executable, package=leader.package,
                         parameter_files=(leader.parameter_file,)),
                NodeSpec('leader_teleop', 'leader_teleop', parameter_files=(leader.mapping,),
                         parameters=leader_geometry(robot))]
    # A gamepad: ROS's joy driver when installed, else the suite's own reader.
    joy = (NodeSpec('joy_node', 'joy', package='joy') if package_installed('joy')
           else NodeSpec('joy_publisher', 'joy_publisher'))
    return [joy, NodeSpec('joy_teleop', 'joy_teleop', parameter_files=('teleop_joy_xbox.yaml',))]


def leader_geometry(robot: RobotFile) -> Dict[str, object]:
    """
    Return leader_teleop's description, TCP and step sizes: the safety filter's.

    FK of the leader's joints must give the TCP the filter reports, and a full command the
    filter's step; the mapping file keeps the rest (a description the filter takes from a
    topic stays the mapping file's, as leader_teleop reads only files).
    """
    names = ['tcp_frame', 'tcp_offset', 'tcp_rpy', 'end_effector_step_sizes']
    parameters = robot.safety_filter_parameters()
    if 'robot_description_path' in parameters:
        names.append('robot_description_path')
    return {name: parameters[name] for name in names}


def arm_nodes(args: Dict[str, str], cameras: bool = True) -> List[NodeSpec]:
    """
    Return the arm behind its safety filter and the processed cameras: sim or real.

    ``cameras=False`` (a state-only policy in simulation) renders no frames at all.
    """
    robot = robot_file(args)
    if isinstance(robot, EnvRobot):
        if args.get('visual_variation', 'none') != 'none':
            raise GraphError(f"visual_variation:={args['visual_variation']} needs the "
                             "suite's simulator; an environment draws its own scenes")
        return environment_nodes(robot, cameras)
    if robot.simulated:
        nodes = sim_nodes(dict(args, rviz='false'))
        if cameras:
            return nodes
        arm, safety_filter, _ = nodes   # no image processor either
        return [replace(arm, parameters={**arm.parameters, 'render_cameras': False}),
                safety_filter]
    if args['visual_variation'] != 'none':
        raise GraphError(f"visual_variation:={args['visual_variation']} needs a simulated "
                         'arm; the real scene varies by itself')
    # A real arm: its driver (or the user's own stack), its cameras, the same filter and
    # processor.
    return (driver_nodes(robot) + [safety_filter_node(robot)] + camera_nodes(robot)
            + [NodeSpec('image_processor', 'image_processor',
                        parameter_files=(robot.cameras.image_processor,))])


def driver_nodes(robot: RobotFile) -> List[NodeSpec]:
    """Return the node that puts a real arm on the arm contract; none for an external one."""
    driver = robot.driver
    if driver.kind != 'hilserl':
        return []
    parameters = {'home_joint_positions': list(robot.home_joint_positions)}
    if robot.description.path.lower().endswith('.urdf'):
        # What the driver publishes on robot_description (it needs no hilserl to read it).
        from hilserl.sim.description import robot_description_for
        try:
            parameters['robot_description'] = robot_description_for(robot.path)
        except OSError as error:   # an asset package that is not installed, say
            raise GraphError(f'{os.path.basename(robot.path)}: description.source: '
                             f'{error}') from None
    return [NodeSpec(driver.executable, driver.node_name, package=driver.package,
                     parameter_files=(driver.parameter_file,), parameters=parameters,
                     lifecycle=driver.managed)]


def safety_filter_node(robot: RobotFile) -> NodeSpec:
    """Return the safety filter of a real arm, wired to an external stack's names."""
    driver = robot.driver
    remappings = ()
    if driver.kind == 'external':
        remappings = tuple((name, topic) for name, topic in (
            ('joint_states', driver.joint_states), ('joint_commands', driver.joint_commands),
            ('reset_to_home', driver.reset_service)) if name != topic)
    return NodeSpec('safety_filter', 'safety_filter',
                    parameters=robot.safety_filter_parameters(), remappings=remappings)


def camera_nodes(robot: RobotFile) -> List[NodeSpec]:
    """Return hilserl camera publishers, one per camera name; none for external cameras."""
    if robot.cameras.kind != 'hilserl':
        return []
    return [NodeSpec('camera_publisher', 'camera', namespace=camera,
                     parameter_files=(robot.cameras.parameter_file,), lifecycle=True)
            for camera in robot.cameras.names]


def success_threshold(args: Dict[str, str], name: str) -> Dict[str, float]:
    """Return the reward classifier's success_threshold from argument ``name`` ({}: unset)."""
    if not args[name]:
        return {}
    threshold = argument_as_float(args, name)
    if not 0.0 <= threshold <= 1.0:
        raise GraphError(f'{name}:={args[name]} must be in [0, 1]')
    return {'success_threshold': threshold}


def success_frames(args: Dict[str, str], name: str) -> int:
    """Return the reward classifier's success_frames from argument ``name``."""
    if not args[name].isdigit() or int(args[name]) < 1:
        raise GraphError(f'{name}:={args[name]} must be a whole number, 1 or more')
    return int(args[name])


def split_paths(value: str) -> List[str]:
    """Return the absolute paths of a comma-separated list (empty for '')."""
    return [os.path.abspath(word.strip()) for word in value.split(',') if word.strip()]


def demo_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return two test-pattern cameras, the image processor and a monitor of its output."""
    duration_s = argument_as_float(args, 'duration')
    cameras = [
        NodeSpec('camera_publisher', 'camera', namespace=camera,
                 parameter_files=('test_pattern_cameras.yaml',), lifecycle=True)
        for camera in DEMO_CAMERAS]
    processor = NodeSpec('image_processor', 'image_processor',
                         parameter_files=('image_processor.yaml',))
    monitor = NodeSpec('image_monitor', 'image_monitor',
                       parameter_files=('image_monitor.yaml',),
                       parameters={'exit_after_s': duration_s,
                                   'preview_dir': args['preview_dir']},
                       required=True)
    return cameras + [processor, monitor]


DEMO = Mode(
    name='demo',
    description='Generated camera frames cropped and resized by the image processor; '
                'a monitor reports what it publishes and saves previews.',
    arguments=(
        LaunchArgument('duration', '0',
                       'Seconds to run before shutting down; 0 runs until Ctrl-C.'),
        LaunchArgument('preview_dir', 'demo_output',
                       'Directory where the monitor writes <camera>.png previews.'),
    ),
    build=demo_nodes,
)


SIM = Mode(
    name='sim',
    description='A MuJoCo arm behind the safety filter: send end_effector_command, watch '
                'joint_states, cameras and sim/ground_truth.',
    arguments=(
        LaunchArgument('robot', default_robot,
                       'Which simulated arm: a name from the robot registry '
                       '(config/robots/NAME.yaml with a sim section) or the path of your '
                       'own robot file (docs/robots.md).'),
        LaunchArgument('task', 'pick_lift', 'Which task.', TASKS),
        LOCK_STEP,
        VISUAL_VARIATION,
        LaunchArgument('rviz', 'false',
                       'Start robot_state_publisher and rviz2 (when installed).',
                       ('true', 'false')),
    ),
    build=sim_nodes,
)
