"""
Train mode: the actor, the learner and who can take over, on any arm or environment.

Its graph is :func:`train_nodes`; :func:`policy_inputs` decides what the policy sees (the
state alone or the state and camera frames) from the arm, the environment and the
arguments. :mod:`hilserl.launching.modes` lists it with the other modes.
"""

import os
from typing import Dict, List, Tuple, Union

from hilserl.actor.observation_state import state_names
from hilserl.arm.robot_registry import RobotFile
from hilserl.sim.gym.env_file import EnvRobot
from hilserl.launching.graph import argument_as_float, GraphError, LaunchArgument, Mode, NodeSpec
from hilserl.launching.mode_parts import (arm_nodes, DEMO_CAMERAS, ENV_ARGUMENT, LOCK_STEP,
                                          ROBOT_ARGUMENT, robot_file, split_paths,
                                          success_frames, success_threshold, TASK_ARGUMENT,
                                          TELEOP_CHOICES, teleop_nodes, VISUAL_VARIATION)
from hilserl.vision.success_decision import DEFAULT_SUCCESS_FRAMES


def policy_inputs(args: Dict[str, str], robot: Union[RobotFile, EnvRobot]
                  ) -> Tuple[str, bool, Dict[str, List[str]]]:
    """
    Return what the policy sees: 'state' or 'images', the object in the state, the cameras.

    ``policy_inputs:=auto`` gives the state alone in the suite's simulator with the object
    in the state, images on a real arm, and an environment's own choice (images when it
    observes some). An environment's state is the whole observation (the object in it, if
    any); its cameras are named for the actor and learner (``{}``: the arm's defaults).
    """
    environment = isinstance(robot, EnvRobot)
    object_in_state = robot.simulated and args['object_in_state'] == 'true' and not environment
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
    return inputs, object_in_state, cameras


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
    environment = isinstance(robot, EnvRobot)
    if args['reward'] == 'ground_truth' and not simulated:
        raise GraphError('reward:=ground_truth needs a simulated arm; on the real arm use '
                         'reward:=classifier or reward:=human')
    if args['reward'] == 'classifier' and not args['classifier_model']:
        raise GraphError('reward:=classifier needs classifier_model:=<trained model dir>')
    evaluate = args['evaluate'] == 'true'
    run_dir = os.path.abspath(args['run_dir'])
    inputs, object_in_state, cameras = policy_inputs(args, robot)
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
            'success_frames': success_frames(args, 'classifier_success_frames'),
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
        LaunchArgument('classifier_success_frames', str(DEFAULT_SUCCESS_FRAMES),
                       'reward:=classifier: consecutive frame sets at or above the threshold '
                       'that make a success (1: each set on its own).'),
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
