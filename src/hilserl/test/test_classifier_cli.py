"""``hilserl classifier train`` / ``test`` on small recorded datasets (real MCAP bags)."""

import json
import os

from hilserl.commands.cli import main
from hilserl.commands.classifier import load_labelled_frames
from hilserl.dataset import bag_format
from hilserl_testing.bags import synthetic_episode, write_episode
import numpy as np
import pytest

STEPS = 12
FIRST_SUCCESS = 8   # steps 8..11 are rewarded 1, so observations 8..12 are successes
SIZE = (32, 32)


def write_lift_dataset(directory, episodes, cameras=('front', 'wrist'), first_episode=0,
                       rewarded=True):
    """Write episodes whose rewarded observations show a bright square on the front camera."""
    for index in range(first_episode, first_episode + episodes):
        episode = synthetic_episode(index, STEPS, cameras=cameras, image_size=SIZE)
        episode.rewards[:] = 0.0
        if rewarded:
            episode.rewards[FIRST_SUCCESS:] = 1.0
        rng = np.random.default_rng(index)
        for camera in cameras:
            episode.images[camera] = rng.integers(0, 90, (STEPS + 1, *SIZE, 3), dtype=np.uint8)
        if rewarded:
            episode.images[cameras[0]][FIRST_SUCCESS:, 6:18, 8:20] = 255
        write_episode(bag_format.episode_directory(str(directory), index), episode)
    return str(directory)


@pytest.fixture(scope='module')
def datasets(tmp_path_factory):
    """Write a training dataset, a test dataset and a front-camera-only dataset once."""
    root = tmp_path_factory.mktemp('classifier_data')
    return {'train': write_lift_dataset(root / 'train', 6),
            'test': write_lift_dataset(root / 'test', 2, first_episode=6),
            'front_only': write_lift_dataset(root / 'front_only', 2, cameras=('front',))}


@pytest.fixture(scope='module')
def trained_model(datasets, tmp_path_factory):
    """Train once through the CLI; return the model directory."""
    out = str(tmp_path_factory.mktemp('model') / 'classifier')
    status = main(['classifier', 'train', datasets['train'], '--out', out, '--epochs', '10',
                   '--patience', '4', '--validation-fraction', '0.34', '--threads', '1',
                   '--no-progress'])
    assert status == 0
    return out


def run(capsys, *argv):
    """Run the hilserl command; return (status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_labels_are_the_step_rewards_and_the_final_observation_takes_the_last(datasets):
    frames, labels, episode_ids, cameras, size = load_labelled_frames(
        [datasets['test']], None, None, progress=False)
    assert cameras == ['front', 'wrist'] and size == SIZE
    assert frames['front'].shape == (2 * (STEPS + 1), *SIZE, 3)
    expected = np.r_[np.zeros(FIRST_SUCCESS), np.ones(STEPS + 1 - FIRST_SUCCESS)]
    np.testing.assert_array_equal(labels, np.r_[expected, expected])
    np.testing.assert_array_equal(episode_ids, np.repeat([0, 1], STEPS + 1))


def test_train_writes_model_report_and_roc_plot(trained_model):
    assert sorted(os.listdir(trained_model)) == ['classifier.json', 'classifier.safetensors',
                                                 'report.json', 'roc.png']
    with open(os.path.join(trained_model, 'report.json')) as stream:
        report = json.load(stream)
    assert report['split'] == 'validation'
    assert report['frames'] == 2 * (STEPS + 1)   # 2 of the 6 episodes held out
    assert report['accuracy'] >= 0.9
    assert len(report['history']) == report['epochs_run']
    with open(os.path.join(trained_model, 'classifier.json')) as stream:
        metadata = json.load(stream)
    assert metadata['threshold'] == report['suggested_threshold']
    assert metadata['config']['camera_names'] == {'__tuple__': ['front', 'wrist']}


def test_test_prints_the_report_on_other_data(trained_model, datasets, capsys, tmp_path):
    status, out, err = run(capsys, 'classifier', 'test', trained_model, datasets['test'],
                           '--out', str(tmp_path / 'test_report'), '--no-progress')
    assert status == 0, err
    assert f'frames: {2 * (STEPS + 1)} (10 successes)' in out
    assert 'accuracy' in out and 'ROC AUC' in out
    assert os.path.isfile(tmp_path / 'test_report' / 'roc.png')
    with open(tmp_path / 'test_report' / 'report.json') as stream:
        assert json.load(stream)['accuracy'] >= 0.9


def test_test_names_the_missing_camera(trained_model, datasets, capsys):
    status, out, err = run(capsys, 'classifier', 'test', trained_model,
                           datasets['front_only'], '--no-progress')
    assert status == 2
    assert err.strip() == ("hilserl classifier: error: classifier expects cameras "
                           "['front', 'wrist'], the stream has ['front']")


def test_bad_input_is_one_line_and_exit_status_2(datasets, trained_model, capsys, tmp_path):
    cases = [
        (['train', str(tmp_path / 'nothing'), '--out', str(tmp_path / 'a')], 'does not exist'),
        (['train', datasets['front_only'], '--cameras', 'front,side', '--out',
          str(tmp_path / 'b')], "classifier expects cameras ['front', 'side']"),
        (['train', datasets['train'], '--out', trained_model], 'holds a classifier already'),
        (['train', datasets['train'], '--backbone', 'resnet10', '--out', str(tmp_path / 'c')],
         'needs --backbone-weights'),
        (['test', str(tmp_path), datasets['test']], 'not a reward classifier'),
    ]
    for argv, message in cases:
        status, _, err = run(capsys, 'classifier', *argv, '--no-progress')
        assert status == 2, argv
        assert len(err.strip().splitlines()) == 1 and message in err, err


def test_training_needs_both_classes(tmp_path, capsys):
    dataset = write_lift_dataset(tmp_path / 'failures', 2, rewarded=False)
    status, _, err = run(capsys, 'classifier', 'train', dataset, '--out', str(tmp_path / 'm'),
                         '--no-progress')
    assert status == 2
    assert 'labels are all 0' in err and 'Traceback' not in err


@pytest.mark.parametrize('action', ['train', 'test'])
def test_help(action, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(['classifier', action, '--help'])
    assert exit_info.value.code == 0
    assert '--image-kind' in capsys.readouterr().out


def test_the_backbone_choices_are_the_classifiers():
    from hilserl.commands.classifier import BACKBONE_CHOICES
    from hilserl_learning.reward_classifier import BACKBONES
    assert BACKBONE_CHOICES == BACKBONES
