"""
The pieces the modes are built from: the arm, its cameras, the human; no ROS import.

:mod:`hilserl.modes` assembles them into the modes' node graphs.
"""

from dataclasses import replace
import os
from typing import Dict, List

from hilserl.graph import argument_as_float, GraphError, LaunchArgument, NodeSpec

DEMO_CAMERAS = ('front', 'wrist')

TASKS = ('reach', 'push', 'pick_lift')
# The arm and task arguments of the modes that run a whole arm (record, train, classifier).
ROBOT_ARGUMENT = LaunchArgument(
    'robot', 'so101',
    'Which arm: a simulated SO-101 or Panda, or the real SO100/SO101 '
    '(config/so100_follower.yaml, config/so100_cameras.yaml).',
    ('so101', 'panda', 'so100'))
TASK_ARGUMENT = LaunchArgument('task', 'pick_lift', 'Which task (simulation).', TASKS)
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


def sim_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return a simulated arm behind the safety filter, its cameras processed for the policy."""
    robot_file = f"sim_{args['robot']}.yaml"
    lock_step = args['lock_step'] == 'true'
    overrides = {'task': args['task'], 'lock_step': lock_step,
                 'visual_variation': args['visual_variation']}
    nodes = [
        NodeSpec('sim_arm', 'sim_arm', parameter_files=(robot_file,), parameters=overrides),
        NodeSpec('safety_filter', 'safety_filter', parameter_files=(robot_file,),
                 parameters={'ticks_per_command': ticks_per_command(robot_file, args)
                             if lock_step else 0}),
        NodeSpec('image_processor', 'image_processor',
                 parameter_files=('sim_image_processor.yaml',)),
    ]
    if args['rviz'] == 'true':
        nodes += visualisation_nodes(args['robot'])
    return nodes


def ticks_per_command(robot_file: str, args: Dict[str, str]) -> int:
    """
    Return the filter ticks (= physics control steps) of one command of a lock-stepped arm.

    The control loop's period over the filter's: what the arm would move in real time
    between two commands at ``fps`` (10 where the mode sets no rate: a teleop stream).
    """
    fps = argument_as_float(args, 'fps') if 'fps' in args else 10.0
    rate = section_parameters(robot_file, 'safety_filter').get('control_rate_hz', 30.0)
    return max(1, round(rate / fps))


def visualisation_nodes(robot: str) -> List[NodeSpec]:
    """Return robot_state_publisher and rviz2 with the suite's layout, both optional."""
    # Imported here: building the URDF loads the robot model, needed only with rviz.
    from hilserl.sim.description import robot_description_for
    return [
        NodeSpec('robot_state_publisher', 'robot_state_publisher',
                 package='robot_state_publisher', optional=True,
                 parameters={'robot_description': robot_description_for(robot)}),
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


def section_parameters(parameter_file: str, node: str) -> Dict[str, object]:
    """Return the ``ros__parameters`` of ``node`` in an installed parameter file."""
    import yaml
    with open(config_file(parameter_file), encoding='utf-8') as stream:
        return yaml.safe_load(stream)[node]['ros__parameters']


def robot_joint_names(robot_file: str) -> Dict[str, object]:
    """Return the arm and gripper joint names the safety filter's section of a robot file sets."""
    parameters = section_parameters(robot_file, 'safety_filter')
    return {'arm_joint_names': list(parameters['arm_joint_names']),
            'gripper_joint_name': parameters['gripper_joint_name']}


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
        parameters = {'robot': args['robot'], 'task': args['task'],
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
        if args['robot'] not in ('so100', 'so101'):
            raise GraphError('teleop:=leader needs an SO100/SO101 follower '
                             '(robot:=so100, or robot:=so101 in simulation)')
        # The leader is always a real arm on its own serial adapter, torque off.
        return [NodeSpec('so100_leader', 'so100_leader', package='hilserl_so100_driver',
                         parameter_files=('so100_leader.yaml',)),
                NodeSpec('leader_teleop', 'leader_teleop',
                         parameter_files=('teleop_leader_so101.yaml',))]
    # A gamepad: ROS's joy driver when installed, else the suite's own reader.
    joy = (NodeSpec('joy_node', 'joy', package='joy') if package_installed('joy')
           else NodeSpec('joy_publisher', 'joy_publisher'))
    return [joy, NodeSpec('joy_teleop', 'joy_teleop', parameter_files=('teleop_joy_xbox.yaml',))]


def robot_parameter_file(robot: str) -> str:
    """Return the parameter file of an arm and its safety filter under config/."""
    return 'so100_follower.yaml' if robot == 'so100' else f'sim_{robot}.yaml'


def arm_nodes(args: Dict[str, str], cameras: bool = True) -> List[NodeSpec]:
    """
    Return the arm behind its safety filter and the processed cameras: sim or real.

    ``cameras=False`` (a state-only policy in simulation) renders no frames at all.
    """
    if args['robot'] != 'so100':
        nodes = sim_nodes(dict(args, rviz='false'))
        if cameras:
            return nodes
        arm, safety_filter, _ = nodes   # no image processor either
        return [replace(arm, parameters={**arm.parameters, 'render_cameras': False}),
                safety_filter]
    if args['visual_variation'] != 'none':
        raise GraphError(f"visual_variation:={args['visual_variation']} needs a simulated "
                         'arm; the real scene varies by itself')
    # The real arm: the Feetech driver, two cameras, and the same filter and processor.
    robot_file = robot_parameter_file('so100')
    cameras = [NodeSpec('camera_publisher', 'camera', namespace=camera,
                        parameter_files=('so100_cameras.yaml',))
               for camera in DEMO_CAMERAS]
    return [NodeSpec('so100_follower', 'so100_follower', package='hilserl_so100_driver',
                     parameter_files=(robot_file,)),
            NodeSpec('safety_filter', 'safety_filter', parameter_files=(robot_file,)),
            *cameras,
            NodeSpec('image_processor', 'image_processor',
                     parameter_files=('image_processor.yaml',))]


def split_paths(value: str) -> List[str]:
    """Return the absolute paths of a comma-separated list (empty for '')."""
    return [os.path.abspath(word.strip()) for word in value.split(',') if word.strip()]
