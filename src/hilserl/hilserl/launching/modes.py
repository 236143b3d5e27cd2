"""
The modes of the suite: which nodes run, with which parameter files.

One function per mode returns its :class:`~hilserl.launching.graph.NodeSpec` list; the
launch files and the pip-only runner both start exactly these nodes. Record and
classifier mode (which collects data with record mode's graph) are here, train mode is in
:mod:`hilserl.launching.train_mode`, demo and sim mode with the pieces they all share in
:mod:`hilserl.launching.mode_parts`; :data:`MODES` lists them all.
"""

from dataclasses import replace
import os
from typing import Dict, List

from hilserl.sim.gym.env_file import EnvRobot
from hilserl.launching.graph import argument_as_float, GraphError, LaunchArgument, Mode, NodeSpec
from hilserl.launching.mode_parts import (arm_nodes, DEMO, ENV_ARGUMENT, LOCK_STEP,
                                          ROBOT_ARGUMENT, robot_file, SCRIPTED_OUTCOME, SIM,
                                          success_threshold, TASK_ARGUMENT, TELEOP_CHOICES,
                                          teleop_nodes, VISUAL_VARIATION, visualisation_nodes)
from hilserl.launching.train_mode import TRAIN


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
