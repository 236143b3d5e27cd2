"""
The launch files, on machines that have ROS's launch packages.

pip-only machines have neither `launch` nor `launch_ros`; there the same node graph is
tested through `hilserl launch` (test_modes.py), and these tests say why they skip.
"""

import os
import subprocess
import sys

import pytest

pytest.importorskip('launch_ros', reason='launch_ros is not installed (pip-only machine); '
                    'the mode graphs are tested through `hilserl launch` instead')

RUN_LAUNCH = '''
import sys
from ament_index_python.packages import get_package_share_directory
from launch import LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
path = get_package_share_directory('hilserl') + '/launch/' + sys.argv[1]
service = LaunchService()
service.include_launch_description(IncludeLaunchDescription(
    PythonLaunchDescriptionSource(path),
    launch_arguments=[tuple(word.split(':=', 1)) for word in sys.argv[2:]]))
sys.exit(service.run())
'''


def test_demo_launch_file_runs_and_shuts_down_when_the_monitor_exits(tmp_path):
    result = subprocess.run(
        [sys.executable, '-c', RUN_LAUNCH, 'demo.launch.py', 'duration:=4',
         f'preview_dir:={tmp_path}'],
        capture_output=True, text=True, timeout=120, env=dict(os.environ))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert 'front: 128x128 rgb8' in output
    assert 'was required: shutting down launched system' in output
    assert (tmp_path / 'front.png').is_file() and (tmp_path / 'wrist.png').is_file()
