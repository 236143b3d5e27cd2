"""Mode descriptions: arguments, defaults, errors; the same graph for launch and runner."""

import subprocess
import sys

import pytest

from hilserl.launching.graph import (EXIT_BAD_CONFIG, GraphError, LaunchArgument, Mode, NodeSpec,
                                     argument_as_float, parse_assignments)
from hilserl.arm.robot_registry import default_robot, load_robot
from hilserl.launching.modes import MODES


def test_parse_assignments_as_ros2_launch_does():
    assert parse_assignments(['a:=1', 'b:=x:=y', 'c:=']) == {'a': '1', 'b': 'x:=y', 'c': ''}
    with pytest.raises(GraphError, match="expected name:=value, got 'a=1'"):
        parse_assignments(['a=1'])


def test_arguments_default_and_unknown_ones_are_refused():
    mode = Mode('m', 'test', (LaunchArgument('speed', '1', 'how fast', ('1', '2')),),
                lambda args: [NodeSpec('exe', args['speed'])])
    assert mode.nodes({})[0].name == '1'
    assert mode.nodes({'speed': '2'})[0].name == '2'
    with pytest.raises(GraphError, match='has no argument colour; it takes: speed'):
        mode.nodes({'colour': 'red'})
    with pytest.raises(GraphError, match='speed:=3 is not one of 1, 2'):
        mode.nodes({'speed': '3'})


def test_a_default_given_as_a_function_is_asked_each_time_it_is_needed():
    asked = []

    def default():
        asked.append(1)
        return str(len(asked))
    mode = Mode('m', 'test', (LaunchArgument('n', default, 'a count'),),
                lambda args: [NodeSpec('exe', args['n'])])
    assert asked == []
    assert mode.nodes({})[0].name == '1' and mode.nodes({'n': '7'})[0].name == '7'
    assert mode.arguments[0].default == '2'


# Reports every file the interpreter opens after the hook is set, but code and packages.
IMPORT_WATCH = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == 'open' else None)
import hilserl.commands.cli, hilserl.launching.modes, hilserl.launching.runner
print('\\n'.join(p for p in opened if not p.endswith(('.py', '.pyc', '.so'))
                  and '__pycache__' not in p and 'site-packages' not in p
                  and not p.startswith(sys.base_prefix)))
"""


def test_importing_the_modes_and_the_command_reads_no_file():
    # The default robot (config/default_robot.yaml) is read when a mode needs it.
    result = subprocess.run([sys.executable, '-c', IMPORT_WATCH], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []
    assert MODES['sim'].resolve_arguments({})['robot']   # ... and then it is there


def test_numeric_arguments_give_a_clear_error():
    assert argument_as_float({'d': '2.5'}, 'd') == 2.5
    with pytest.raises(GraphError, match='d:=soon is not a number'):
        argument_as_float({'d': 'soon'}, 'd')


def test_full_names_include_the_namespace():
    assert NodeSpec('x', 'camera', namespace='front').full_name == '/front/camera'
    assert NodeSpec('x', 'camera', namespace='/a/b/').full_name == '/a/b/camera'
    assert NodeSpec('x', 'image_processor').full_name == '/image_processor'


def test_demo_mode_graph():
    nodes = MODES['demo'].nodes({'duration': '3'})
    names = [spec.full_name for spec in nodes]
    assert names == ['/front/camera', '/wrist/camera', '/image_processor', '/image_monitor']
    monitor = nodes[-1]
    assert monitor.required and monitor.parameters['exit_after_s'] == 3.0
    assert all(spec.parameter_files for spec in nodes)


def test_sim_mode_swaps_arms_by_robot_file():
    so101 = MODES['sim'].nodes({'robot': 'so101'})
    panda = MODES['sim'].nodes({'robot': 'panda', 'lock_step': 'true'})
    assert [s.full_name for s in so101] == ['/sim_arm', '/safety_filter', '/image_processor']
    assert so101[0].parameters['robot'].endswith('/config/robots/so101.yaml')
    assert panda[1].parameters['arm_joint_names'][0] == 'joint1'
    assert panda[0].parameters['lock_step'] and panda[1].parameters['ticks_per_command'] == 3
    assert so101[1].parameters['ticks_per_command'] == 0  # real time
    with pytest.raises(GraphError, match="no robot 'ur5' in .*; choose one of .*so101"):
        MODES['sim'].nodes({'robot': 'ur5'})


def names(nodes):
    return [spec.full_name for spec in nodes]


def test_record_mode_drives_a_real_so100_with_its_driver_cameras_and_leader():
    nodes = MODES['record'].nodes({'robot': 'so100', 'teleop': 'leader'})
    assert names(nodes) == ['/so100_follower', '/safety_filter', '/front/camera',
                            '/wrist/camera', '/image_processor', '/so100_leader',
                            '/leader_teleop', '/episode_recorder']
    recorder = nodes[-1]
    assert recorder.parameters['arm_node'] == 'so100_follower'
    assert recorder.parameters['state_from_ground_truth'] is False
    # The leader's FK and step sizes are the filter's, from the robot file (this arm's
    # steps are smaller than the mapping file's).
    safety_filter, leader = nodes[1].parameters, nodes[-2].parameters
    for name in ('robot_description_path', 'tcp_frame', 'tcp_offset', 'tcp_rpy',
                 'end_effector_step_sizes'):
        assert leader[name] == safety_filter[name], name
    assert leader['end_effector_step_sizes'] == [0.01, 0.01, 0.01]


def test_the_scripted_human_and_ground_truth_reward_need_a_simulator():
    with pytest.raises(GraphError, match='scripted'):
        MODES['record'].nodes({'robot': 'so100'})
    with pytest.raises(GraphError, match='ground_truth'):
        MODES['train'].nodes({'robot': 'so100', 'teleop': 'gamepad'})


def test_train_mode_runs_actor_learner_and_scripted_human_in_simulation():
    nodes = MODES['train'].nodes({'run_dir': '/tmp/run', 'demos': '/tmp/a,/tmp/b'})
    # A state-only policy (the default in simulation): nothing renders or processes frames.
    assert names(nodes) == ['/sim_arm', '/safety_filter', '/actor', '/learner',
                            '/scripted_human']
    arm, _, actor, learner, _ = nodes
    assert arm.parameters['render_cameras'] is False
    assert learner.parameters['demo_datasets'] == ['/tmp/a', '/tmp/b']
    assert actor.parameters['state_from_ground_truth'] is True
    assert actor.parameters['use_cameras'] is learner.parameters['use_cameras'] is False
    assert actor.parameters['wait_for_policy']   # the learner pretrains on the demos first


def test_image_policy_renders_and_processes_both_cameras():
    nodes = MODES['train'].nodes({'policy_inputs': 'images'})
    assert names(nodes)[:3] == ['/sim_arm', '/safety_filter', '/image_processor']
    actor, learner = nodes[3], nodes[4]
    assert actor.parameters['use_cameras'] and learner.parameters['use_cameras']
    # Without demonstrations the learner builds its policy from the first transition.
    assert not actor.parameters['wait_for_policy']


def test_simulated_cameras_render_at_the_control_rate():
    """The actor acts on each camera's newest frame: frames come as often as it acts."""
    for fps in ('10', '30'):
        nodes = MODES['train'].nodes({'policy_inputs': 'images', 'fps': fps})
        assert nodes[0].parameters['camera_fps'] == float(fps)
    arm = MODES['sim'].nodes({})[0]
    assert arm.parameters['camera_fps'] == load_robot(default_robot()).cameras.fps


def test_the_learner_takes_the_actors_state_layout_from_the_run_configuration():
    for object_in_state in ('true', 'false'):
        nodes = MODES['train'].nodes({'policy_inputs': 'images',
                                      'object_in_state': object_in_state})
        names = next(n for n in nodes if n.name == 'learner').parameters['state_names']
        assert names[:2] == ['joint.shoulder_pan', 'joint.shoulder_lift']
        assert ('object.x' in names) == (object_in_state == 'true')
        assert len(names) == (19 if object_in_state == 'true' else 13)


def test_state_policy_needs_the_object_position():
    with pytest.raises(GraphError, match='object position'):
        MODES['train'].nodes({'policy_inputs': 'state', 'object_in_state': 'false'})
    real = MODES['train'].nodes({'robot': 'so100', 'reward': 'human', 'teleop': 'gamepad'})
    assert next(n for n in real if n.name == 'actor').parameters['use_cameras']


def test_evaluation_has_no_human_and_no_learning():
    nodes = MODES['train'].nodes({'evaluate': 'true', 'num_episodes': '20'})
    actor, learner = nodes[2], nodes[3]
    assert '/scripted_human' not in names(nodes)
    assert actor.parameters['deterministic'] and not actor.parameters['allow_interventions']
    assert actor.required and learner.parameters['resume'] and not learner.parameters['learn']
    assert not actor.parameters['send_transitions'] and actor.parameters['wait_for_policy']


def test_a_node_that_refuses_its_configuration_stops_its_mode():
    optional_node = NodeSpec('learner', 'learner')
    assert not optional_node.exit_stops_mode(0) and not optional_node.exit_stops_mode(-9)
    assert optional_node.exit_stops_mode(EXIT_BAD_CONFIG)
    assert NodeSpec('actor', 'actor', required=True).exit_stops_mode(0)


def test_classifier_reward_needs_a_model_and_starts_the_classifier_node():
    with pytest.raises(GraphError, match='classifier_model'):
        MODES['train'].nodes({'reward': 'classifier'})
    nodes = MODES['train'].nodes({'reward': 'classifier', 'classifier_model': '/tmp/m'})
    [classifier] = [node for node in nodes if node.name == 'reward_classifier']
    assert classifier.parameters['camera_names'] == ['front', 'wrist']


def classifier(**given):
    return MODES['classifier'].nodes(given)


def test_classifier_collect_is_record_mode_labelling_frames_after_the_success():
    nodes = classifier(use='collect', dataset_dir='/tmp/cls', num_episodes='3',
                       control_time_s='6')
    assert names(nodes) == names(MODES['record'].nodes({})) == [
        '/sim_arm', '/safety_filter', '/image_processor', '/scripted_human',
        '/episode_recorder']
    recorder = nodes[-1]
    assert recorder.required and recorder.parameter_files == ('record.yaml',)
    assert recorder.parameters['terminate_on_success'] is False
    assert recorder.parameters['number_of_steps_after_success'] == 10
    assert recorder.parameters['dataset_dir'] == '/tmp/cls'
    assert recorder.parameters['num_episodes'] == 3
    assert recorder.parameters['control_time_s'] == 6.0
    assert recorder.parameters['image_kind'] == 'processed'
    # The scripted human follows the recorder's episodes there.
    assert 'run_own_episodes' not in nodes[3].parameters


def test_classifier_collect_can_end_episodes_a_few_frames_after_the_success():
    recorder = classifier(terminate_on_success='true', steps_after_success='4')[-1]
    assert recorder.parameters['terminate_on_success'] is True
    assert recorder.parameters['number_of_steps_after_success'] == 4
    with pytest.raises(GraphError, match='steps_after_success:=-1 must be a whole number'):
        classifier(steps_after_success='-1')
    with pytest.raises(GraphError, match='needs someone to drive'):
        classifier(teleop='none')
    with pytest.raises(GraphError, match='scripted'):
        classifier(robot='so100')
    real = classifier(robot='so100', teleop='gamepad')
    assert '/so100_follower' in names(real) and names(real)[-1] == '/episode_recorder'


def test_classifier_test_needs_a_model():
    with pytest.raises(GraphError, match='use:=test needs model_path:='):
        classifier(use='test')


def test_classifier_test_runs_the_classifier_on_the_arms_cameras_and_the_human_drives():
    nodes = classifier(use='test', model_path='/tmp/model')
    assert names(nodes) == ['/sim_arm', '/safety_filter', '/image_processor',
                            '/reward_classifier', '/scripted_human']
    arm, _, _, classifier_node, human = nodes
    assert arm.parameters.get('render_cameras', True)
    assert classifier_node.required and classifier_node.parameter_files == ('classifier.yaml',)
    assert classifier_node.parameters == {'model_path': '/tmp/model',
                                          'terminate_on_success': False}
    # No recorder or actor forwards teleop/command: it goes straight to the safety filter,
    # and the scripted human runs its own episodes (config/classifier.yaml).
    assert human.remappings == (('teleop/command', 'end_effector_command'),)
    assert human.parameter_files == ('classifier.yaml',)
    threshold = classifier(use='test', model_path='/tmp/model', success_threshold='0.7',
                           teleop='none')
    assert names(threshold)[-1] == '/reward_classifier'
    assert threshold[-1].parameters['success_threshold'] == 0.7
    with pytest.raises(GraphError, match=r'success_threshold:=2 must be in \[0, 1\]'):
        classifier(use='test', model_path='/tmp/model', success_threshold='2')


def test_classifier_test_on_the_real_arm_with_a_gamepad_and_rviz():
    with pytest.raises(GraphError, match='teleop:=scripted needs a simulated arm'):
        classifier(use='test', model_path='/tmp/m', robot='so100')
    nodes = classifier(use='test', model_path='/tmp/m', robot='so100', teleop='gamepad',
                       rviz='true')
    assert names(nodes)[:6] == ['/so100_follower', '/safety_filter', '/front/camera',
                                '/wrist/camera', '/image_processor', '/reward_classifier']
    teleop = next(spec for spec in nodes if spec.name == 'joy_teleop')
    assert ('teleop/command', 'end_effector_command') in teleop.remappings
    assert [spec.name for spec in nodes if spec.optional] == ['robot_state_publisher', 'rviz2']


def test_train_roles_split_the_graph_between_robot_and_gpu_computers():
    robot_side = names(MODES['train'].nodes({'role': 'actor'}))
    assert '/actor' in robot_side and '/learner' not in robot_side
    [learner] = MODES['train'].nodes({'role': 'learner', 'learner_device': 'cuda'})
    assert learner.name == 'learner' and learner.parameters['device'] == 'cuda'
    assert names(MODES['train'].nodes({})) == robot_side[:3] + ['/learner'] + robot_side[3:]
