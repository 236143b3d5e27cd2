"""
The modes of the suite: which nodes run, with which parameter files.

One function per mode returns its :class:`~hilserl.graph.NodeSpec` list; the
launch files and the pip-only runner both start exactly these nodes.
"""

from dataclasses import replace
import os
from typing import Dict, List

from hilserl.graph import argument_as_float, GraphError, LaunchArgument, Mode, NodeSpec

DEMO_CAMERAS = ('front', 'wrist')


def config_file(name: str) -> str:
    """Return the installed path of a file under share/hilserl/config."""
    from ament_index_python.packages import get_package_share_directory
    return os.path.join(get_package_share_directory('hilserl'), 'config', name)


def demo_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return two test-pattern cameras, the image processor and a monitor of its output."""
    duration_s = argument_as_float(args, 'duration')
    cameras = [
        NodeSpec('camera_publisher', 'camera', namespace=camera,
                 parameter_files=('test_pattern_cameras.yaml',))
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


def sim_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return a simulated arm behind the safety filter, its cameras processed for the policy."""
    robot_file = f"sim_{args['robot']}.yaml"
    overrides = {'task': args['task'], 'lock_step': args['lock_step'] == 'true'}
    nodes = [
        NodeSpec('sim_arm', 'sim_arm', parameter_files=(robot_file,), parameters=overrides),
        NodeSpec('safety_filter', 'safety_filter', parameter_files=(robot_file,),
                 parameters={'tick_on_joint_states': args['lock_step'] == 'true'}),
        NodeSpec('image_processor', 'image_processor',
                 parameter_files=('sim_image_processor.yaml',)),
    ]
    if args['rviz'] == 'true':
        nodes += visualisation_nodes(args['robot'])
    return nodes


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


SIM = Mode(
    name='sim',
    description='A MuJoCo arm (SO-101 or Panda) behind the safety filter: send '
                'end_effector_command, watch joint_states, cameras and sim/ground_truth.',
    arguments=(
        LaunchArgument('robot', 'so101', 'Which simulated arm.', ('so101', 'panda')),
        LaunchArgument('task', 'pick_lift', 'Which task.', ('reach', 'push', 'pick_lift')),
        LaunchArgument('lock_step', 'false',
                       'Step the physics once per joint command instead of in real time.',
                       ('true', 'false')),
        LaunchArgument('rviz', 'false',
                       'Start robot_state_publisher and rviz2 (when installed).',
                       ('true', 'false')),
    ),
    build=sim_nodes,
)

# Which nodes play the human in record mode; each publishes teleop/command,
# teleop/intervention and episode_events (the teleop contract, README).
TELEOP_CHOICES = ('scripted', 'keyboard', 'gamepad', 'leader')


def package_installed(package: str) -> bool:
    """Return whether ``package`` is in the ament index."""
    from ament_index_python.packages import get_package_prefix, PackageNotFoundError
    try:
        get_package_prefix(package)
    except PackageNotFoundError:
        return False
    return True


def robot_joint_names(robot_file: str) -> Dict[str, object]:
    """Return the arm and gripper joint names the safety filter's section of a robot file sets."""
    import yaml
    with open(config_file(robot_file), encoding='utf-8') as stream:
        parameters = yaml.safe_load(stream)['safety_filter']['ros__parameters']
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
        return [NodeSpec('scripted_human', 'scripted_human', parameter_files=('record.yaml',),
                         parameters=parameters)]
    if teleop == 'keyboard':
        # keyboard_teleop reads keys from a terminal of its own, which a node started by a
        # launcher does not have: the user runs it beside the mode (README).
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


def record_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return the simulated arm, the human (scripted or a teleop device) and the recorder."""
    if not args['num_episodes'].isdigit() or int(args['num_episodes']) < 1:
        raise GraphError(f"num_episodes:={args['num_episodes']} must be a whole number, 1 or more")
    for name in ('fps', 'control_time_s'):
        if not argument_as_float(args, name) > 0:
            raise GraphError(f'{name}:={args[name]} must be positive')
    if not args['dataset_dir']:
        raise GraphError('dataset_dir:= needs a directory')
    robot_file = robot_parameter_file(args['robot'])
    recorder = NodeSpec(
        'episode_recorder', 'episode_recorder', parameter_files=('record.yaml',),
        parameters={'dataset_dir': os.path.abspath(args['dataset_dir']),
                    'num_episodes': int(args['num_episodes']),
                    'fps': argument_as_float(args, 'fps'),
                    'control_time_s': argument_as_float(args, 'control_time_s'),
                    'image_kind': args['image_kind'],
                    'arm_node': 'so100_follower' if args['robot'] == 'so100' else 'sim_arm',
                    'state_from_ground_truth': (args['robot'] != 'so100'
                                                and args['object_in_state'] == 'true'),
                    **robot_joint_names(robot_file)},
        required=True)
    if args['robot'] == 'so100' and args['teleop'] == 'scripted':
        raise GraphError('teleop:=scripted plays the human from simulator ground truth; '
                         'the real arm needs keyboard, gamepad or leader')
    return arm_nodes(args) + teleop_nodes(args) + [recorder]


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


RECORD = Mode(
    name='record',
    description='Record demonstrations: a human (or, in simulation, the scripted one) '
                'drives the arm through the safety filter; each episode becomes a bag '
                'under dataset_dir.',
    arguments=(
        LaunchArgument('robot', 'so101',
                       'Which arm: a simulated SO-101 or Panda, or the real SO100/SO101 '
                       '(config/so100_follower.yaml, config/so100_cameras.yaml).',
                       ('so101', 'panda', 'so100')),
        LaunchArgument('task', 'pick_lift', 'Which task (simulation).',
                       ('reach', 'push', 'pick_lift')),
        LaunchArgument('teleop', 'scripted',
                       'Who drives: the scripted human (simulation, unattended), the '
                       'keyboard (run keyboard_teleop in a terminal of its own), a gamepad '
                       '(config/teleop_joy_xbox.yaml) or an SO-101 leader arm.',
                       TELEOP_CHOICES),
        LaunchArgument('dataset_dir', 'dataset',
                       'Directory of the dataset; episodes are appended after any '
                       'already there.'),
        LaunchArgument('num_episodes', '10', 'Episodes to keep before stopping.'),
        LaunchArgument('fps', '10', 'Control steps per second (recorded steps).'),
        LaunchArgument('control_time_s', '20',
                       'Time limit of an episode (s); it is truncated there.'),
        LaunchArgument('image_kind', 'processed',
                       'Record the processed (cropped, resized) or the raw camera frames.',
                       ('processed', 'raw')),
        LaunchArgument('lock_step', 'false',
                       'Step the physics once per joint command instead of in real time.',
                       ('true', 'false')),
        LaunchArgument('object_in_state', 'true',
                       'Simulation only: append the cube position from ground truth to the '
                       'recorded state, as train mode does by default.',
                       ('true', 'false')),
        LaunchArgument('rerecord_episodes', '',
                       'teleop:=scripted only: comma-separated episode numbers the '
                       'scripted human rerecords once (tests of the discard path).'),
    ),
    build=record_nodes,
)


def split_paths(value: str) -> List[str]:
    """Return the absolute paths of a comma-separated list (empty for '')."""
    return [os.path.abspath(word.strip()) for word in value.split(',') if word.strip()]


def train_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return the arm, the human, the actor and the learner (and the reward classifier)."""
    if not args['num_episodes'].isdigit():
        raise GraphError(f"num_episodes:={args['num_episodes']} must be a whole number "
                         '(0 runs until stopped)')
    if not args['run_dir']:
        raise GraphError('run_dir:= needs a directory')
    simulated = args['robot'] != 'so100'
    if args['reward'] == 'ground_truth' and not simulated:
        raise GraphError('reward:=ground_truth needs a simulated arm; on the real arm use '
                         'reward:=classifier or reward:=human')
    if args['reward'] == 'classifier' and not args['classifier_model']:
        raise GraphError('reward:=classifier needs classifier_model:=<trained model dir>')
    evaluate = args['evaluate'] == 'true'
    run_dir = os.path.abspath(args['run_dir'])
    robot_file = robot_parameter_file(args['robot'])
    object_in_state = simulated and args['object_in_state'] == 'true'
    inputs = args['policy_inputs']
    if inputs == 'auto':
        inputs = 'state' if object_in_state else 'images'
    if inputs == 'state' and not object_in_state:
        raise GraphError('policy_inputs:=state needs the object position in the state '
                         '(a simulated arm with object_in_state:=true); the policy could not '
                         'see the object otherwise')
    actor = NodeSpec('actor', 'actor', parameter_files=('train.yaml',), parameters={
        'fps': argument_as_float(args, 'fps'),
        'control_time_s': argument_as_float(args, 'control_time_s'),
        'num_episodes': int(args['num_episodes']),
        'reward_source': args['reward'],
        'deterministic': evaluate,
        'allow_interventions': not evaluate,
        'state_from_ground_truth': object_in_state,
        'spill_dir': os.path.join(run_dir, 'actor_spill'),
        'eval_log': os.path.join(run_dir, 'evaluation.json') if evaluate else '',
        # The learner has a policy from the start only with demonstrations or a
        # checkpoint; otherwise it builds one from the actor's first transition.
        'wait_for_policy': (evaluate or args['resume'] == 'true'
                            or bool(split_paths(args['demos']))),
        'use_cameras': inputs == 'images',
        'send_transitions': not evaluate,
        **robot_joint_names(robot_file)}, required=args['num_episodes'] != '0')
    learner_parameters = {'run_dir': run_dir, 'resume': args['resume'] == 'true' or evaluate,
                          'learn': not evaluate, 'use_cameras': inputs == 'images'}
    if split_paths(args['demos']) and not evaluate:
        learner_parameters['demo_datasets'] = split_paths(args['demos'])
    learner = NodeSpec('learner', 'learner', parameter_files=('train.yaml',),
                       parameters=learner_parameters)
    cameras_needed = inputs == 'images' or args['reward'] == 'classifier'
    nodes = arm_nodes(args, cameras=cameras_needed) + [actor, learner]
    if args['reward'] == 'classifier':
        nodes.append(NodeSpec('reward_classifier', 'reward_classifier', parameters={
            'model_path': os.path.abspath(args['classifier_model']),
            'terminate_on_success': True}))
    if evaluate or args['teleop'] == 'none':
        return nodes
    if args['teleop'] == 'scripted':
        if not simulated:
            raise GraphError('teleop:=scripted needs a simulated arm')
        return nodes + [NodeSpec('scripted_human', 'scripted_human',
                                 parameter_files=('train.yaml',),
                                 parameters={'robot': args['robot'], 'task': args['task'],
                                             'fps': argument_as_float(args, 'fps')})]
    return nodes + teleop_nodes(args)


TRAIN = Mode(
    name='train',
    description='HIL-SERL: the actor drives the arm with the policy, the learner trains '
                'it from the actor\'s transitions and the demonstrations, and the human '
                '(or, in simulation, the scripted one) takes over when it goes wrong.',
    arguments=(
        LaunchArgument('robot', 'so101',
                       'Which arm: a simulated SO-101 or Panda, or the real SO100/SO101.',
                       ('so101', 'panda', 'so100')),
        LaunchArgument('task', 'pick_lift', 'Which task (simulation).',
                       ('reach', 'push', 'pick_lift')),
        LaunchArgument('run_dir', 'runs/train',
                       'Checkpoints, write-ahead log, CSV/PNG curves and the wandb run.'),
        LaunchArgument('demos', '',
                       'Recorded demonstration datasets (comma-separated directories) '
                       'for the offline buffer.'),
        LaunchArgument('resume', 'false', 'Continue from the checkpoint in run_dir.',
                       ('true', 'false')),
        LaunchArgument('reward', 'ground_truth',
                       'Reward from the simulator, the reward classifier or the human.',
                       ('ground_truth', 'classifier', 'human')),
        LaunchArgument('classifier_model', '', 'Trained reward classifier (reward:=classifier).'),
        LaunchArgument('teleop', 'scripted', 'Who can take over (none: nobody).',
                       TELEOP_CHOICES + ('none',)),
        LaunchArgument('fps', '10', 'Control steps per second.'),
        LaunchArgument('control_time_s', '10', 'Time limit of an episode (s).'),
        LaunchArgument('num_episodes', '0',
                       'Stop after this many episodes (0: run until stopped).'),
        LaunchArgument('evaluate', 'false',
                       'Evaluate the checkpoint in run_dir: deterministic policy, no '
                       'interventions, no learning; results in run_dir/evaluation.json.',
                       ('true', 'false')),
        LaunchArgument('object_in_state', 'true',
                       'Simulation only: append the cube position from ground truth to the '
                       'state (a state-only policy cannot see it otherwise).',
                       ('true', 'false')),
        LaunchArgument('policy_inputs', 'auto',
                       'What the policy sees: the state alone (simulation, with the object '
                       'position), or the state and both cameras through the frozen image '
                       'encoder; auto: state in simulation, images on the real arm.',
                       ('auto', 'state', 'images')),
        LaunchArgument('lock_step', 'false',
                       'Step the physics once per joint command instead of in real time.',
                       ('true', 'false')),
    ),
    build=train_nodes,
)

MODES = {mode.name: mode for mode in (DEMO, SIM, RECORD, TRAIN)}
