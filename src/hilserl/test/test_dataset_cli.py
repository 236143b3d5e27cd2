"""``hilserl dataset info|export`` on synthetic datasets: printed lines and files on disk."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from safetensors.numpy import load_file

from hilserl.commands.cli import main
from hilserl.dataset import bag_format
from hilserl_testing import bags

STEPS = 4


@pytest.fixture
def dataset(tmp_path):
    """Write a dataset of three episodes (success, truncated, success)."""
    path = str(tmp_path / 'dataset')
    return path, bags.write_dataset(path, num_episodes=3, steps=STEPS)


def test_info_prints_each_episode_and_the_totals(dataset, capsys):
    path, _ = dataset
    assert main(['dataset', 'info', path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ('episode_0000: index 0, 4 steps, success yes, 2 intervention steps, '
                        'front 8x8, wrist 8x8 (processed), '
                        'events episode_start@0 success@3 episode_end@4')
    assert lines[1].startswith('episode_0001: index 1, 4 steps, success no,')
    assert lines[3] == 'episodes: 3, steps: 12 (length min 4, mean 4.0, max 4)'
    assert lines[4] == 'successes: 2, intervention steps: 6 (in 3 episodes)'
    assert lines[5] == ('cameras: front 8x8x3, wrist 8x8x3; '
                        'state: tcp_x, tcp_y, tcp_z, gripper_position')


def test_info_json(dataset, capsys):
    path, _ = dataset
    assert main(['dataset', 'info', '--json', bag_format.episode_directory(path, 1)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary['episodes'] == 1 and summary['successes'] == 0


def test_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    assert main(['dataset', 'info', str(tmp_path / 'nothing')]) == 2
    err = capsys.readouterr().err
    assert err == f'hilserl dataset: error: {tmp_path}/nothing does not exist\n'


def test_export_writes_aligned_rows_and_a_sidecar(dataset, tmp_path, capsys):
    path, expected = dataset
    out = str(tmp_path / 'export.safetensors')
    assert main(['dataset', 'export', path, '--out', out]) == 0
    assert 'wrote' in capsys.readouterr().out
    arrays = load_file(out)
    rows = 3 * (STEPS + 1)
    assert arrays['states'].shape == (rows, 4) and arrays['states'].dtype == np.float32
    assert arrays['images_front'].shape == (rows, 8, 8, 3)
    assert arrays['images_front'].dtype == np.uint8
    for name in ('terminated', 'truncated', 'interventions', 'final_observation'):
        assert arrays[name].dtype == np.bool_ and arrays[name].shape == (rows,)
    np.testing.assert_array_equal(arrays['episode_index'], np.repeat([0, 1, 2], STEPS + 1))
    np.testing.assert_array_equal(arrays['step_index'], np.tile(np.arange(STEPS + 1), 3))
    second = slice(STEPS + 1, 2 * (STEPS + 1))
    np.testing.assert_array_equal(arrays['states'][second], expected[1].states)
    np.testing.assert_array_equal(arrays['images_wrist'][second], expected[1].images['wrist'])
    np.testing.assert_array_equal(arrays['actions'][second][:STEPS], expected[1].actions)
    np.testing.assert_array_equal(arrays['truncated'][second],
                                  np.append(expected[1].truncated, False))
    assert arrays['final_observation'].sum() == 3 and arrays['final_observation'][STEPS]
    with open(str(tmp_path / 'export.json')) as stream:
        sidecar = json.load(stream)
    assert sidecar['camera_names'] == ['front', 'wrist']
    assert sidecar['state_names'] == expected[0].state_names
    assert [e['first_row'] for e in sidecar['episodes']] == [0, STEPS + 1, 2 * (STEPS + 1)]
    assert [e['success'] for e in sidecar['episodes']] == [True, False, True]
    assert sidecar['episodes'][0]['events'][1] == [STEPS - 1, 'success']


def test_export_refuses_incompatible_episodes(dataset, tmp_path, capsys):
    path, _ = dataset
    other = str(tmp_path / 'other')
    bags.write_dataset(other, num_episodes=1, cameras=('front',))
    out = str(tmp_path / 'export.safetensors')
    assert main(['dataset', 'export', path, other, '--out', out]) == 2
    assert 'cameras' in capsys.readouterr().err and not os.path.exists(out)
    assert main(['dataset', 'export', path, '--out', str(tmp_path / 'x.json')]) == 2
    assert 'must end with .safetensors' in capsys.readouterr().err


def test_the_installed_command(dataset):
    command = shutil.which('hilserl')
    if command is None:
        pytest.skip('the hilserl command is not on PATH (workspace not sourced)')
    path, _ = dataset
    result = subprocess.run([command, 'dataset', 'info', path], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert 'episodes: 3, steps: 12' in result.stdout
    result = subprocess.run([command, 'dataset', 'info', os.path.join(path, 'nothing')],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1 and 'Traceback' not in result.stderr
