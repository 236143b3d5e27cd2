"""
A user's robot file: the modes run an arm from a YAML file outside the registry.

The file is written into tmp_path, so no code path can know it: a copy of the SO-101's
file under another name, with its own safety box, runs the reach task through record
mode; a malformed file stops ``hilserl launch`` with one line naming the field.
"""

import os
import subprocess

from hilserl.arm.robot_registry import registry_directory
from hilserl_testing.recording import record_scripted_episodes
import yaml


def write_robot(tmp_path, change):
    with open(os.path.join(registry_directory(), 'so101.yaml'), encoding='utf-8') as stream:
        content = yaml.safe_load(stream)
    change(content)
    folder = tmp_path / 'x'
    folder.mkdir()
    path = folder / 'my_arm.yaml'
    path.write_text(yaml.safe_dump(content))
    return str(path)


def test_record_mode_runs_the_reach_task_on_a_robot_file_from_a_user_folder(
        processes, probe, tmp_path):
    def narrower_box(content):
        content['safety']['end_effector_bounds']['max'][1] = 0.18
        content['sim']['regions']['target'] = {'min': [0.16, -0.1, 0.04],
                                               'max': [0.26, 0.1, 0.09]}
    path = write_robot(tmp_path, narrower_box)
    recording = record_scripted_episodes(processes, path, tmp_path / 'dataset')
    output = recording.output
    assert 'my_arm.yaml reach' in output, output   # the sim arm names the file it runs


def test_a_malformed_robot_file_stops_the_launch_with_the_field_named(tmp_path):
    path = write_robot(tmp_path, lambda content: content['arm'].update(joints=3))
    result = subprocess.run(['hilserl', 'launch', 'sim', f'robot:={path}', 'task:=reach'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    message = (result.stdout + result.stderr).strip()
    assert 'my_arm.yaml: arm.joints: expected a list of joint names, got 3' in message
    assert 'Traceback' not in message and len(message.splitlines()) <= 2, message
