"""The modes' plumbing of the classifier reward: played failures, positives, the check."""

from hilserl.launching.graph import GraphError
from hilserl.launching.modes import MODES
from hilserl.vision.success_decision import DEFAULT_SUCCESS_FRAMES
import pytest


def node(nodes, name):
    [found] = [spec for spec in nodes if spec.name == name]
    return found


def test_record_mode_plays_failures_with_the_scripted_human_only():
    nodes = MODES['record'].nodes({'scripted_outcome': 'failure'})
    assert node(nodes, 'scripted_human').parameters['outcome'] == 'failure'
    assert 'outcome' not in node(MODES['record'].nodes({}), 'scripted_human').parameters
    with pytest.raises(GraphError, match='scripted_outcome:=failure needs teleop:=scripted'):
        MODES['record'].nodes({'scripted_outcome': 'failure', 'teleop': 'gamepad'})
    with pytest.raises(GraphError, match='success, failure'):
        MODES['record'].nodes({'scripted_outcome': 'sometimes'})


def test_record_mode_keeps_the_steps_after_the_success_it_is_given():
    recorder = node(MODES['record'].nodes({}), 'episode_recorder')
    assert recorder.parameters['number_of_steps_after_success'] == 2   # record.yaml's
    recorder = node(MODES['record'].nodes({'steps_after_success': '15'}), 'episode_recorder')
    assert recorder.parameters['number_of_steps_after_success'] == 15
    with pytest.raises(GraphError, match='steps_after_success:=x must be a whole number'):
        MODES['record'].nodes({'steps_after_success': 'x'})


def test_classifier_collect_passes_the_outcome_on():
    nodes = MODES['classifier'].nodes({'use': 'collect', 'scripted_outcome': 'failure'})
    assert node(nodes, 'scripted_human').parameters['outcome'] == 'failure'


def test_a_classifier_reward_is_checked_against_the_ground_truth_in_simulation_only():
    simulated = node(MODES['train'].nodes({'reward': 'classifier', 'classifier_model': '/m'}),
                     'actor')
    assert simulated.parameters['check_reward_against_ground_truth'] is True
    assert simulated.parameters['reward_source'] == 'classifier'
    real = node(MODES['train'].nodes({'robot': 'so100', 'teleop': 'gamepad',
                                      'reward': 'classifier', 'classifier_model': '/m'}),
                'actor')
    assert real.parameters['check_reward_against_ground_truth'] is False
    plain = node(MODES['train'].nodes({}), 'actor')
    assert plain.parameters['check_reward_against_ground_truth'] is False


def test_train_mode_can_set_the_classifier_threshold():
    given = {'reward': 'classifier', 'classifier_model': '/m'}
    assert 'success_threshold' not in node(MODES['train'].nodes(given),
                                           'reward_classifier').parameters
    classifier = node(MODES['train'].nodes({**given, 'classifier_threshold': '0.7'}),
                      'reward_classifier')
    assert classifier.parameters['success_threshold'] == 0.7
    with pytest.raises(GraphError, match=r'classifier_threshold:=1.5 must be in \[0, 1\]'):
        MODES['train'].nodes({**given, 'classifier_threshold': '1.5'})


def test_train_mode_holds_the_classifier_success_over_consecutive_sets():
    given = {'reward': 'classifier', 'classifier_model': '/m'}
    classifier = node(MODES['train'].nodes(given), 'reward_classifier')
    assert classifier.parameters['success_frames'] == DEFAULT_SUCCESS_FRAMES
    single = node(MODES['train'].nodes({**given, 'classifier_success_frames': '1'}),
                  'reward_classifier')
    assert single.parameters['success_frames'] == 1
    with pytest.raises(GraphError, match='classifier_success_frames:=0 must be a whole number'):
        MODES['train'].nodes({**given, 'classifier_success_frames': '0'})
