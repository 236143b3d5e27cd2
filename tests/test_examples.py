"""
The scripts of examples/ run and print what their docstrings promise.

Each runs as a subprocess, as a user would run it, on small inputs made here: a
synthetic recording (hilserl_testing.bags), a run directory whose checkpoint was trained
for a few updates on it, and the simulated arm (sim mode, in this session's ROS domain).
"""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / 'examples'
SCRIPTS = ('drive_sim_arm.py', 'read_dataset.py', 'run_checkpoint.py')


def _run(script, *arguments, timeout=120, cwd=None):
    return subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, arguments)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """Two recorded episodes of 5 steps, two 8x8 cameras: the first succeeds."""
    from hilserl_testing.bags import write_dataset
    directory = tmp_path_factory.mktemp('examples') / 'dataset'
    write_dataset(str(directory), num_episodes=2, steps=5)
    return directory


@pytest.mark.parametrize('script', SCRIPTS)
def test_each_example_says_what_it_shows(script):
    result = _run(script, '--help', timeout=60)
    assert result.returncode == 0, result.stderr
    docstring_title = (EXAMPLES / script).read_text().split('"""')[1].strip().splitlines()[0]
    assert docstring_title.rstrip('.') in ' '.join(result.stdout.split())
    assert len((EXAMPLES / script).read_text().splitlines()) <= 80


def test_read_dataset_prints_episodes_steps_rewards_and_frames(dataset):
    result = _run('read_dataset.py', dataset, '--steps', 2)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'state: tcp_x, tcp_y, tcp_z, gripper_position'
    assert ('episode 0000: 5 steps, reward 1, success, terminated, 2 intervention steps'
            in lines)
    assert ('episode 0001: 5 steps, reward 0, no success, truncated, 2 intervention steps'
            in lines)
    assert '  events: episode_start@0, success@4, episode_end@5' in lines
    assert lines.count('  front: 6 processed frames of 8x8x3 uint8 (one per step + the '
                       'last)') == 2
    assert sum(line.startswith('  step ') for line in lines) == 4
    assert lines[-1] == '2 episodes, 10 steps, 1 successes, 4 intervention steps'


def test_read_dataset_says_what_is_wrong(tmp_path):
    result = _run('read_dataset.py', tmp_path / 'nothing')
    assert result.returncode == 1
    assert result.stderr.strip() == f'read_dataset: {tmp_path / "nothing"} does not exist'


def test_run_checkpoint_acts_on_every_step_of_the_episode(dataset, tmp_path):
    from hilserl.learner.core import LearnerCore, LearnerSettings
    from hilserl.ros.transition_messages import transition_from_bytes
    run_dir = tmp_path / 'run'
    core = LearnerCore(LearnerSettings(run_dir=str(run_dir), camera_names=[], batch_size=8,
                                       offline_pretrain_updates=3), transition_from_bytes)
    core.start_fresh([str(dataset)])
    while core.pretraining_left():
        core.pretrain_step()
    core.checkpoint()
    core.close()
    result = _run('run_checkpoint.py', run_dir, dataset, '--episode', 1)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r'.*checkpoint_\d+: 3 actor updates, state tcp_x, tcp_y, tcp_z, '
                        r'gripper_position, cameras none', lines[0])
    steps = [line for line in lines if line.startswith('step ')]
    assert len(steps) == 5
    # Four values (move x, y, z, the gripper) of the policy's action and the recorded one.
    assert all(len(re.findall(r'-?\d+\.\d*', line)) == 8 for line in steps), steps
    assert re.fullmatch(r'episode 1: 5 steps, mean \|policy - recorded\| move \d\.\d{3} .*',
                        lines[-1])
    result = _run('run_checkpoint.py', tmp_path / 'no_run', dataset)
    assert result.returncode == 1
    assert 'holds no checkpoint' in result.stderr and 'Traceback' not in result.stderr


def _poses(output):
    """Return {label: (x, y, z) in cm} from drive_sim_arm's pose lines."""
    found = {}
    for line in output.splitlines():
        match = re.match(r'(\w+)\s+tcp x\s+(\S+) y\s+(\S+) z\s+(\S+) cm', line)
        if match:
            found[match.group(1)] = tuple(float(value) for value in match.groups()[1:])
    return found


def test_drive_sim_arm_moves_the_tcp_and_back(tmp_path):
    result = _run('drive_sim_arm.py', '--distance', 0.03, '--log', tmp_path / 'nodes.log',
                  timeout=420, cwd=tmp_path)
    log = (tmp_path / 'nodes.log').read_text() if (tmp_path / 'nodes.log').exists() else ''
    assert result.returncode == 0, f'{result.stderr}\n--- nodes:\n{log[-4000:]}'
    poses = _poses(result.stdout)
    assert list(poses) == ['start', 'down', 'left', 'right', 'up']
    start = poses['start']
    # The goals are counted from the start pose; the commander stops within 5 mm of each
    # (the poses are shown to 1 mm). Differences of two poses could be off by twice that.
    tolerance = 0.6   # cm
    goals = {'down': (0, 0, -3), 'left': (0, 3, -3), 'right': (0, 0, -3), 'up': (0, 0, 0)}
    for name, offset in goals.items():
        expected = [origin + change for origin, change in zip(start, offset)]
        assert list(poses[name]) == pytest.approx(expected, abs=tolerance), (name, poses)
    assert 'started /sim_arm' in log and 'stopping the mode' in log
