"""
The modes of the suite: which nodes run, with which parameter files.

One function per mode returns its :class:`~hilserl.launching.graph.NodeSpec` list; the
launch files and the pip-only runner both start exactly these nodes. Demo and sim
mode are in :mod:`hilserl.launching.mode_parts`.
"""

from dataclasses import replace
import os
from typing import Dict, List

from hilserl.actor.observation_state import state_names
from hilserl.gym.env_file import EnvRobot
from hilserl.launching.graph import argument_as_float, GraphError, LaunchArgument, Mode, NodeSpec
from hilserl.launching.mode_parts import (arm_nodes, DEMO, DEMO_CAMERAS, ENV_ARGUMENT, LOCK_STEP,
                                          ROBOT_ARGUMENT,
                                          robot_file, SCRIPTED_OUTCOME, SIM, split_paths,
                                          TASK_ARGUMENT, TELEOP_CHOICES, teleop_nodes,
                                          visualisation_nodes)
from hilserl.launching.mode_parts import VISUAL_VARIATION


def record_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return the simulated arm, the human (scripted or a teleop device) and the recorder."""
    if not args['num_episodes'].isdigit() or int(args['num_episodes']) < 1:
        raise GraphError(f"num_episodes:={args['num_episodes']} must be a whole number, 1 or more")
    for name in ('fps', 'control_time_s'):
        if not argument_as_float(args, name) > 0:
            raise GraphError(f'{name}:={args[name]} must be positive')
    if not args['dataset_dir']:
        raise GraphError('dataset_dir:= needs a directory')
    if not args['steps_after_success'].isdigit():
        raise GraphError(f"steps_after_success:={args['steps_after_success']} must be a "
                         'whole number')
    if args['scripted_outcome'] != 'success' and args['teleop'] != 'scripted':
        raise GraphError(f"scripted_outcome:={args['scripted_outcome']} needs "
                         'teleop:=scripted (a person fails episodes by themselves)')
    robot = robot_file(args)
    environment = isinstance(robot, EnvRobot)
    recorder = NodeSpec(
        'episode_recorder', 'episode_recorder', parameter_files=('record.yaml',),
        parameters={'dataset_dir': os.path.abspath(args['dataset_dir']),
                    'num_episodes': int(args['num_episodes']),
                    'fps': argument_as_float(args, 'fps'),
                    'control_time_s': argument_as_float(args, 'control_time_s'),
                    'image_kind': args['image_kind'],
                    'number_of_steps_after_success': int(args['steps_after_success']),
                    'arm_node': robot.driver.node_name,
                    'state_from_ground_truth': (robot.simulated and not environment
                                                and args['object_in_state'] == 'true'),
                    **robot.joint_parameters()},
        required=True)
    if (not robot.simulated or environment) and args['teleop'] == 'scripted':
        raise GraphError("teleop:=scripted plays the human from the suite simulator's "
                         'ground truth; the real arm and an environment need keyboard, '
                         'gamepad or leader')
    return arm_nodes(args) + teleop_nodes(args) + [recorder]


RECORD = Mode(
    name='record',
    description='Record demonstrations: a human (or, in simulation, the scripted one) '
                'drives the arm through the safety filter; each episode becomes a bag '
                'under dataset_dir.',
    arguments=(
        ROBOT_ARGUMENT,
        ENV_ARGUMENT,
        TASK_ARGUMENT,
        LaunchArgument('teleop', 'scripted',
                       'Who drives: the scripted human (simulation, unattended), the '
                       'keyboard (run keyboard_teleop in a terminal of its own), a gamepad '
                       '(config/teleop_joy_xbox.yaml) or a leader arm (the robot file\'s '
                       'teleop_leader).',
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
        LOCK_STEP,
        LaunchArgument('object_in_state', 'true',
                       'Simulation only: append the cube position from ground truth to the '
                       'recorded state, as train mode does by default.',
                       ('true', 'false')),
        LaunchArgument('rerecord_episodes', '',
                       'teleop:=scripted only: comma-separated episode numbers the '
                       'scripted human rerecords once (tests of the discard path).'),
        LaunchArgument('steps_after_success', '2',
                       'Steps recorded after a success, with reward 1, before the episode '
                       'ends: positive frames for the reward classifier (training cuts a '
                       'demonstration at its success).'),
        SCRIPTED_OUTCOME,
        VISUAL_VARIATION,
    ),
    build=record_nodes,
)


# Seconds the learner gets from SIGINT to SIGTERM when the mode stops (launch's default
# is 5): it stops training (a learner step under way finishes), writes its final
# checkpoint, which holds only the buffer rows that arrived since the previous one
# (bench/final_save.py, 30 s of data after a checkpoint: 40-70 MB whatever the buffers
# hold; 0.1-0.5 s for 100,000 transitions with cached features or pixels on a loaded
# 2-core machine), then its final plots, and finishes wandb, which may wait on the
# network: the margin is for those.
LEARNER_SIGTERM_TIMEOUT_S = 30.0


def train_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return the arm, the human, the actor and the learner (and the reward classifier)."""
    if not args['num_episodes'].isdigit():
        raise GraphError(f"num_episodes:={args['num_episodes']} must be a whole number "
                         '(0 runs until stopped)')
    if not args['run_dir']:
        raise GraphError('run_dir:= needs a directory')
    max_minutes = argument_as_float(args, 'max_minutes')
    if not max_minutes >= 0:
        raise GraphError(f"max_minutes:={args['max_minutes']} must be 0 (no limit) or more")
    robot = robot_file(args)
    simulated = robot.simulated
    # An environment's own state is the whole observation (the object in it, if any).
    environment = isinstance(robot, EnvRobot)
    if args['reward'] == 'ground_truth' and not simulated:
        raise GraphError('reward:=ground_truth needs a simulated arm; on the real arm use '
                         'reward:=classifier or reward:=human')
    if args['reward'] == 'classifier' and not args['classifier_model']:
        raise GraphError('reward:=classifier needs classifier_model:=<trained model dir>')
    evaluate = args['evaluate'] == 'true'
    run_dir = os.path.abspath(args['run_dir'])
    object_in_state = simulated and args['object_in_state'] == 'true' and not environment
    inputs = args['policy_inputs']
    if inputs == 'auto' and environment:
        inputs = 'images' if robot.layout.observed_images else 'state'
    elif inputs == 'auto':
        inputs = 'state' if object_in_state else 'images'
    if inputs == 'state' and not (object_in_state or environment):
        raise GraphError('policy_inputs:=state needs the object position in the state '
                         '(a simulated arm with object_in_state:=true); the policy could not '
                         'see the object otherwise')
    cameras = {}
    if environment and inputs == 'images':
        if not robot.layout.cameras:
            raise GraphError(f'policy_inputs:=images: {robot.settings.env_id} has no image '
                             'observation and renders no frame')
        cameras = {'camera_names': list(robot.layout.cameras)}
    actor = NodeSpec('actor', 'actor', parameter_files=('train.yaml',), parameters={
        'fps': argument_as_float(args, 'fps'),
        'control_time_s': argument_as_float(args, 'control_time_s'),
        'num_episodes': int(args['num_episodes']),
        'max_minutes': max_minutes,
        'reward_source': args['reward'],
        # In simulation the classifier's decisions are scored against the ground truth.
        'check_reward_against_ground_truth': simulated and args['reward'] == 'classifier',
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
        **cameras, **robot.joint_parameters()},
        required=args['num_episodes'] != '0' or max_minutes > 0, lifecycle=True)
    joints = robot.joint_parameters()
    learner_parameters = {'run_dir': run_dir, 'resume': args['resume'] == 'true' or evaluate,
                          'learn': not evaluate, 'use_cameras': inputs == 'images',
                          'device': args['learner_device'],
                          # The actor's layout; demonstrations give these entries of theirs.
                          'state_names': state_names(joints['arm_joint_names'],
                                                     object_in_state),
                          'agent.allow_random_encoder': args['allow_random_encoder'] == 'true',
                          **cameras}
    if args['frozen_encoder']:
        learner_parameters['agent.frozen_weights_path'] = os.path.abspath(args['frozen_encoder'])
    if split_paths(args['demos']) and not evaluate:
        learner_parameters['demo_datasets'] = split_paths(args['demos'])
    learner = NodeSpec('learner', 'learner', parameter_files=('train.yaml',),
                       parameters=learner_parameters,
                       sigterm_timeout=LEARNER_SIGTERM_TIMEOUT_S)
    if args['role'] == 'learner':
        return [learner]   # the GPU computer; the robot computer runs role:=actor
    cameras_needed = inputs == 'images' or args['reward'] == 'classifier'
    nodes = arm_nodes(args, cameras=cameras_needed) + [actor]
    if args['role'] == 'all':
        nodes.append(learner)
    if args['reward'] == 'classifier':
        nodes.append(NodeSpec('reward_classifier', 'reward_classifier', parameters={
            'model_path': os.path.abspath(args['classifier_model']),
            'camera_names': list(DEMO_CAMERAS),   # as `hilserl classifier train` uses
            'terminate_on_success': True,
            **success_threshold(args, 'classifier_threshold')}))
    if evaluate or args['teleop'] == 'none':
        return nodes
    if args['teleop'] == 'scripted':
        if not simulated or environment:
            raise GraphError("teleop:=scripted needs the suite's simulated arm; with "
                             'robot:=' + args['robot'] + ' use teleop:=keyboard, gamepad or '
                             'none')
        return nodes + [NodeSpec('scripted_human', 'scripted_human',
                                 parameter_files=('train.yaml',),
                                 parameters={'robot': robot.path, 'task': args['task'],
                                             'fps': argument_as_float(args, 'fps')})]
    return nodes + teleop_nodes(args)


TRAIN = Mode(
    name='train',
    description='HIL-SERL: the actor drives the arm with the policy, the learner trains '
                'it from the actor\'s transitions and the demonstrations, and the human '
                '(or, in simulation, the scripted one) takes over when it goes wrong.',
    arguments=(
        ROBOT_ARGUMENT,
        ENV_ARGUMENT,
        TASK_ARGUMENT,
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
        LaunchArgument('classifier_threshold', '',
                       'reward:=classifier: probability counted as a success; empty: the '
                       'threshold saved with the classifier.'),
        LaunchArgument('teleop', 'scripted', 'Who can take over (none: nobody).',
                       TELEOP_CHOICES + ('none',)),
        LaunchArgument('fps', '10', 'Control steps per second.'),
        LaunchArgument('control_time_s', '10', 'Time limit of an episode (s).'),
        LaunchArgument('num_episodes', '0',
                       'Stop after this many episodes (0: run until stopped).'),
        LaunchArgument('max_minutes', '0',
                       'Stop after the episode during which this many minutes of '
                       'episodes passed (0: no time limit); with num_episodes, whichever '
                       'comes first.'),
        LaunchArgument('evaluate', 'false',
                       'Evaluate the checkpoint in run_dir: deterministic policy, no '
                       'interventions, no learning; results in run_dir/evaluation.json.',
                       ('true', 'false')),
        LaunchArgument('object_in_state', 'true',
                       'Simulation only: append the cube position from ground truth to the '
                       'state (a state-only policy cannot see it otherwise).',
                       ('true', 'false')),
        LaunchArgument('role', 'all',
                       'Which side of the training runs here: all of it, the robot '
                       'computer (arm, cameras, human, actor) or the learner alone (the '
                       'GPU computer); see docs/deploy.md on two machines.',
                       ('all', 'actor', 'learner')),
        LaunchArgument('learner_device', 'cpu',
                       "Torch device of the learner ('cpu', 'cuda', 'cuda:1')."),
        LaunchArgument('policy_inputs', 'auto',
                       'What the policy sees: the state alone (simulation, with the object '
                       'position), or the state and both cameras through the frozen image '
                       'encoder; auto: state in simulation, images on the real arm.',
                       ('auto', 'state', 'images')),
        LaunchArgument('frozen_encoder', '',
                       'Image policy: the frozen image encoder, a file written by '
                       '`hilserl encoder import` (pretrained weights).'),
        LaunchArgument('allow_random_encoder', 'false',
                       'Image policy without frozen_encoder: train on the features of a '
                       'random encoder anyway (a control; refused otherwise).',
                       ('true', 'false')),
        LOCK_STEP,
        VISUAL_VARIATION,
    ),
    build=train_nodes,
)


# Record mode's arguments that classifier mode's collect use shares; the rest keep their
# record defaults (processed frames, which the classifier trains on).
COLLECT_ARGUMENTS = ('robot', 'task', 'teleop', 'dataset_dir', 'num_episodes', 'fps',
                     'control_time_s', 'lock_step', 'scripted_outcome', 'visual_variation')


def classifier_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return record mode's graph that collects classifier data, or the live classifier's."""
    if args['use'] == 'collect':
        return classifier_collect_nodes(args)
    return classifier_test_nodes(args)


def classifier_collect_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return record mode's nodes, the recorder labelling frames after a success positive."""
    if args['teleop'] == 'none':
        raise GraphError('use:=collect needs someone to drive: teleop:=scripted (simulation), '
                         'keyboard, gamepad or leader')
    if not args['steps_after_success'].isdigit():
        raise GraphError(f"steps_after_success:={args['steps_after_success']} must be a "
                         'whole number')
    nodes = record_nodes(RECORD.resolve_arguments({name: args[name]
                                                   for name in COLLECT_ARGUMENTS}))
    labelling = {'terminate_on_success': args['terminate_on_success'] == 'true',
                 'number_of_steps_after_success': int(args['steps_after_success'])}
    return [replace(spec, parameters={**spec.parameters, **labelling})
            if spec.executable == 'episode_recorder' else spec for spec in nodes]


def success_threshold(args: Dict[str, str], name: str) -> Dict[str, float]:
    """Return the reward classifier's success_threshold from argument ``name`` ({}: unset)."""
    if not args[name]:
        return {}
    threshold = argument_as_float(args, name)
    if not 0.0 <= threshold <= 1.0:
        raise GraphError(f'{name}:={args[name]} must be in [0, 1]')
    return {'success_threshold': threshold}


def classifier_test_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return the arm and its cameras, the classifier on them and, optionally, a teleop."""
    if not args['model_path']:
        raise GraphError('use:=test needs model_path:=<directory written by '
                         '`hilserl classifier train --out`>')
    robot = robot_file(args)
    simulated = robot.simulated
    classifier_parameters = {'model_path': os.path.abspath(args['model_path']),
                             'terminate_on_success': False,
                             **success_threshold(args, 'success_threshold')}
    nodes = arm_nodes(args) + [NodeSpec('reward_classifier', 'reward_classifier',
                                        parameter_files=('classifier.yaml',),
                                        parameters=classifier_parameters, required=True)]
    if args['teleop'] == 'scripted':
        if not simulated:
            raise GraphError('teleop:=scripted needs a simulated arm; the real arm needs '
                             'keyboard, gamepad, leader or none')
        # No recorder or actor here: the scripted human runs (and resets) its own episodes.
        human = [NodeSpec('scripted_human', 'scripted_human', parameter_files=('classifier.yaml',),
                          parameters={'robot': robot.path, 'task': args['task'],
                                      'fps': argument_as_float(args, 'fps')})]
    elif args['teleop'] == 'none':
        human = []
    else:
        human = teleop_nodes(args)
    # Nobody forwards teleop/command here (the recorder and the actor do in other modes):
    # the human's commands go straight to the safety filter.
    human = [replace(spec, remappings=spec.remappings + (('teleop/command',
                                                          'end_effector_command'),))
             for spec in human]
    if args['rviz'] == 'true':
        human += visualisation_nodes(robot)
    return nodes + human


CLASSIFIER = Mode(
    name='classifier',
    description='The reward classifier\'s loop: use:=collect records episodes whose frames '
                'from the success on are labelled positive (train on them with `hilserl '
                'classifier train`); use:=test runs a trained classifier live on the arm\'s '
                'cameras, printing and publishing its probability and decision.',
    arguments=(
        LaunchArgument('use', 'collect',
                       'collect: record classifier data; test: run a trained classifier live.',
                       ('collect', 'test')),
        ROBOT_ARGUMENT,
        TASK_ARGUMENT,
        LaunchArgument('teleop', 'scripted',
                       'Who drives: the scripted human (simulation, unattended), the keyboard '
                       '(run keyboard_teleop in a terminal of its own), a gamepad, a leader '
                       'arm (teleop_leader), or nobody (use:=test only).',
                       TELEOP_CHOICES + ('none',)),
        LaunchArgument('fps', '10', 'Control steps per second (recorded steps; the scripted '
                                    'human\'s commands).'),
        LOCK_STEP,
        VISUAL_VARIATION,
        LaunchArgument('dataset_dir', 'classifier_data',
                       'collect: directory of the dataset; episodes are appended.'),
        LaunchArgument('num_episodes', '10', 'collect: episodes to keep before stopping.'),
        LaunchArgument('control_time_s', '10',
                       'collect: length of an episode (s); with terminate_on_success:=false '
                       'every frame from the success to this limit is positive.'),
        LaunchArgument('terminate_on_success', 'false',
                       'collect: true ends an episode steps_after_success frames after the '
                       'success; false (the default) goes on to the time limit.',
                       ('true', 'false')),
        LaunchArgument('steps_after_success', '10',
                       'collect, with terminate_on_success:=true: positive frames recorded '
                       'after the success frame.'),
        SCRIPTED_OUTCOME,
        LaunchArgument('model_path', '',
                       'test: the trained classifier (the --out directory of `hilserl '
                       'classifier train`).'),
        LaunchArgument('success_threshold', '',
                       'test: probability counted as success; empty: the one saved with the '
                       'classifier.'),
        LaunchArgument('rviz', 'false',
                       'test: start robot_state_publisher and rviz2 (when installed); the '
                       'probability is shown as text above the gripper.', ('true', 'false')),
    ),
    build=classifier_nodes,
)


MODES = {mode.name: mode for mode in (DEMO, SIM, RECORD, TRAIN, CLASSIFIER)}
