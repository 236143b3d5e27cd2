"""
LeRobotDataset v3 round trip through LeRobot's own library (in its venv apart).

Recorded episodes (bags as record mode writes them) -> ``hilserl dataset export --format
lerobot`` -> LeRobot's ``LeRobotDataset`` reads the directory (frame count, feature shapes,
rewards, done and intervention flags) -> ``hilserl dataset import`` -> the same
transitions. The LeRobot venv is ``make lerobot-env``'s .venv-peers (or
$HILSERL_LEROBOT_PYTHON); without it these tests skip, saying so: ``make test`` does not
build it.
"""

import json
import subprocess

import numpy as np
import pytest

from hilserl.commands.cli import main
from hilserl.dataset import lerobot_bridge
from hilserl.dataset.reader import read_dataset
from hilserl_testing import bags

STEPS = 6
SIZE = (32, 32)

# Run with the LeRobot python: open a dataset with LeRobot's class and print what it holds.
LEROBOT_READS = '''
import json, sys
from hilserl.dataset.lerobot_convert import load_lerobot
dataset = load_lerobot(sys.argv[1])
item = dataset[0]
column = lambda key: [float(dataset[i][key]) for i in range(len(dataset))]
print(json.dumps({
    'frames': len(dataset), 'episodes': dataset.num_episodes, 'fps': dataset.fps,
    'version': dataset.meta.info['codebase_version'],
    'shapes': {key: list(getattr(value, 'shape', ())) for key, value in item.items()
               if hasattr(value, 'shape')},
    'dtypes': {key: feature['dtype'] for key, feature in dataset.meta.features.items()},
    'reward': column('next.reward'), 'done': column('next.done'),
    'intervention': column('complementary_info.is_intervention'),
    'final': column('complementary_info.final_observation'),
    'task': item['task']}))
'''

# Run with the LeRobot python: record a dataset the way LeRobot's gym_manipulator does
# (no truncation or final-observation features, a discrete_penalty we do not use).
LEROBOT_RECORDS = '''
import sys
import numpy as np
from hilserl.dataset.lerobot_convert import _lerobot_dataset
features = {
    'observation.state': {'dtype': 'float32', 'shape': (4,), 'names': None},
    'observation.images.front': {'dtype': 'video', 'shape': (32, 32, 3),
                                 'names': ['height', 'width', 'channels']},
    'action': {'dtype': 'float32', 'shape': (4,), 'names': None},
    'next.reward': {'dtype': 'float32', 'shape': (1,), 'names': None},
    'next.done': {'dtype': 'bool', 'shape': (1,), 'names': None},
    'complementary_info.discrete_penalty': {'dtype': 'float32', 'shape': (1,), 'names': None},
}
dataset = _lerobot_dataset().create('local/gym', fps=10, features=features, root=sys.argv[1],
                                    use_videos=True, vcodec='h264')
for step in range(5):
    dataset.add_frame({
        'observation.state': np.full(4, step, np.float32),
        'observation.images.front': np.full((32, 32, 3), 40 * step, np.uint8),
        'action': np.full(4, step / 10, np.float32),
        'next.reward': np.array([float(step == 4)], np.float32),
        'next.done': np.array([step == 4]),
        'complementary_info.discrete_penalty': np.zeros(1, np.float32), 'task': 'pick'})
dataset.save_episode()
dataset.finalize()
'''


@pytest.fixture
def lerobot_python():
    """Return the LeRobot venv's python, or skip saying how to make it."""
    try:
        return lerobot_bridge.lerobot_python()
    except lerobot_bridge.LeRobotBridgeError as error:
        pytest.skip(str(error))


def run_lerobot(python: str, script: str, *arguments: str) -> str:
    """Run ``script`` with the LeRobot python as the converter runs; return its stdout."""
    # The converter's own environment: only hilserl's package folder on the path, offline.
    environment = dict(lerobot_bridge.os.environ, PYTHONPATH=lerobot_bridge.PACKAGE_PARENT,
                       HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1')
    done = subprocess.run([python, '-c', script, *arguments], env=environment,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def closest_frame(decoded: np.ndarray, frames: np.ndarray) -> int:
    """Return the index of the original frame nearest to a decoded (lossy) one."""
    return int(np.argmin([np.abs(decoded.astype(int) - frame).mean() for frame in frames]))


def test_record_export_lerobot_reads_import_gives_the_same_transitions(
        lerobot_python, tmp_path, capsys):
    recorded = str(tmp_path / 'recorded')
    expected = bags.write_dataset(recorded, num_episodes=2, steps=STEPS, image_size=SIZE)
    out = str(tmp_path / 'lerobot')
    assert main(['dataset', 'export', recorded, '--format', 'lerobot', '--out', out,
                 '--task', 'reach the cube']) == 0
    assert capsys.readouterr().out.strip() == (
        f"wrote {out}: LeRobotDataset v3.0, {2 * (STEPS + 1)} frames at 10 fps, "
        "task 'reach the cube'")

    seen = json.loads(run_lerobot(lerobot_python, LEROBOT_READS, out).splitlines()[-1])
    assert (seen['frames'], seen['episodes'], seen['fps'], seen['version']) == (
        2 * (STEPS + 1), 2, 10, 'v3.0')
    assert seen['task'] == 'reach the cube'
    assert seen['dtypes']['observation.images.front'] == 'video'
    assert seen['shapes']['observation.state'] == [4]
    assert seen['shapes']['action'] == [4]
    assert seen['shapes']['observation.images.front'] == [3, *SIZE]
    assert seen['shapes']['observation.images.wrist'] == [3, *SIZE]
    for key, name in (('reward', 'rewards'), ('intervention', 'interventions')):
        assert seen[key] == [v for e in expected for v in [*map(float, getattr(e, name)), 0.0]]
    assert seen['done'] == [v for e in expected
                            for v in [*map(float, e.terminated | e.truncated), 1.0]]
    assert seen['final'] == [0.0] * STEPS + [1.0] + [0.0] * STEPS + [1.0]

    back = str(tmp_path / 'imported')
    assert main(['dataset', 'import', out, '--out', back]) == 0
    assert f'wrote 2 episodes ({2 * STEPS} steps)' in capsys.readouterr().out
    episodes = read_dataset([back])
    assert len(episodes) == 2
    for mine, theirs in zip(expected, episodes):
        assert theirs.state_names == mine.state_names
        np.testing.assert_array_equal(theirs.states, mine.states)
        np.testing.assert_array_equal(theirs.actions, mine.actions)
        np.testing.assert_array_equal(theirs.rewards, mine.rewards)
        np.testing.assert_array_equal(theirs.terminated, mine.terminated)
        np.testing.assert_array_equal(theirs.truncated, mine.truncated)
        np.testing.assert_array_equal(theirs.interventions, mine.interventions)
        for camera in mine.camera_names:  # video is lossy: near, and each frame in its place
            decoded = theirs.images[camera]
            assert decoded.shape == mine.images[camera].shape
            assert np.abs(decoded.astype(int) - mine.images[camera]).mean() < 12
            assert [closest_frame(frame, mine.images[camera]) for frame in decoded] == \
                list(range(STEPS + 1))


def test_import_of_a_dataset_lerobot_recorded(lerobot_python, tmp_path, capsys):
    source = str(tmp_path / 'gym')
    run_lerobot(lerobot_python, LEROBOT_RECORDS, source)
    back = str(tmp_path / 'imported')
    assert main(['dataset', 'import', source, '--out', back]) == 0
    capsys.readouterr()
    (episode,) = read_dataset([back])
    assert episode.length == 5   # no final-observation frame: the last one is repeated
    np.testing.assert_array_equal(episode.states[:, 0], [0, 1, 2, 3, 4, 4])
    np.testing.assert_array_equal(episode.rewards, [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(episode.terminated, [False] * 4 + [True])
    assert not episode.truncated.any() and not episode.interventions.any()
    assert episode.camera_names == ['front']
    means = episode.images['front'].reshape(6, -1).mean(axis=1)
    np.testing.assert_allclose(means, [0, 40, 80, 120, 160, 160], atol=4)

    assert main(['dataset', 'import', source, '--out', str(tmp_path / 'so100'),
                 '--robot', 'so100']) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith('hilserl dataset: error: ') and '\n' not in error
    assert 'observation.state lacks joint.' in error and 'robot so100' in error


def test_without_the_lerobot_venv_one_line_names_make_lerobot_env(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(lerobot_bridge.PYTHON_VARIABLE, str(tmp_path / 'no' / 'python'))
    recorded = str(tmp_path / 'recorded')
    bags.write_dataset(recorded, num_episodes=1, steps=2)
    assert main(['dataset', 'export', recorded, '--format', 'lerobot', '--out',
                 str(tmp_path / 'out')]) == 2
    error = capsys.readouterr().err
    assert error.count('\n') == 1 and 'make lerobot-env' in error
    assert not (tmp_path / 'out').exists()
