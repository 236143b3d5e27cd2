"""Modes started as a user starts them without ROS's launch: `hilserl launch <mode>`."""

import os
import signal
import subprocess
import sys

import cv2
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from hilserl.launching.graph import NodeSpec
from hilserl.launching.runner import EXIT_INTERRUPTED
from hilserl_testing.processes import wait_for_output


def test_demo_runs_publishes_processed_images_and_stops_by_itself(processes, probe, tmp_path):
    previews = tmp_path / 'previews'
    front = probe.subscribe(Image, '/front/image_processed', qos_profile_sensor_data)
    wrist = probe.subscribe(Image, '/wrist/image_processed', qos_profile_sensor_data)
    demo = processes.start_mode('demo', duration=5, preview_dir=previews)
    front.wait_for_messages(5, timeout=30)
    wrist.wait_for_messages(5, timeout=30)
    assert {(m.height, m.width, m.encoding) for m in front.messages} == {(128, 128, 'rgb8')}
    assert demo.wait(timeout=60) == 0, demo.output()
    output = demo.output()
    assert 'front: 128x128 rgb8' in output and 'wrist: 128x128 rgb8' in output
    assert '/image_monitor exited; shutting down' in output
    assert 'Traceback' not in output, output
    for camera in ('front', 'wrist'):
        preview = cv2.imread(str(previews / f'{camera}.png'))
        assert preview is not None and preview.shape == (128, 128, 3)
        assert preview.std() > 10  # the test pattern, not a blank frame


def test_ctrl_c_stops_every_node_of_a_mode(processes, probe):
    raw = probe.subscribe(Image, '/front/image_raw', qos_profile_sensor_data)
    demo = processes.start_mode('demo', duration=0)
    raw.wait_for_messages(1, timeout=30)
    pids = [int(line.split('[pid ')[1].rstrip(']'))
            for line in demo.output().splitlines() if '[pid ' in line]
    assert len(pids) == 4
    demo.process.send_signal(signal.SIGINT)  # the runner alone, as a terminal's Ctrl-C would
    # 130 as a shell reports Ctrl-C: `hilserl launch a && hilserl launch b` stops there.
    assert demo.wait(timeout=30) == EXIT_INTERRUPTED, demo.output()
    for pid in pids:
        assert not os.path.exists(f'/proc/{pid}') or _is_zombie(pid), f'node {pid} survived'


def _is_zombie(pid):
    with open(f'/proc/{pid}/stat') as stream:
        return stream.read().split(') ')[1].startswith('Z')


def test_unknown_mode_argument_is_a_clear_error():
    result = subprocess.run([sys.executable, '-m', 'hilserl', 'launch', 'demo', 'speed:=3'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "mode 'demo' has no argument speed; it takes: duration, preview_dir" in result.stderr
    assert 'Traceback' not in result.stderr


def test_every_command_has_help():
    for words in ([], ['launch']):
        result = subprocess.run([sys.executable, '-m', 'hilserl', *words, '--help'],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and 'usage: hilserl' in result.stdout
    assert 'duration:=' in result.stdout  # launch --help lists the modes' arguments


def test_camera_publisher_publishes_frames_and_camera_info(processes, probe):
    spec = NodeSpec('camera_publisher', 'camera', namespace='side',
                    parameters={'width': 64, 'height': 48, 'fps': 20.0, 'frame_id': 'side_cam'})
    camera = processes.start_node(spec)
    images = probe.subscribe(Image, '/side/image_raw', qos_profile_sensor_data)
    infos = probe.subscribe(CameraInfo, '/side/camera_info', qos_profile_sensor_data)
    images.wait_for_messages(3, timeout=30)
    infos.wait_for_messages(3, timeout=30)
    first = images.messages[0]
    assert (first.width, first.height, first.encoding) == (64, 48, 'rgb8')
    assert first.header.frame_id == 'side_cam'
    assert bytes(images.messages[0].data) != bytes(images.messages[2].data)  # it moves
    info = infos.messages[0]
    assert (info.width, info.height) == (64, 48) and info.k[2] == 32.0 and info.k[5] == 24.0
    assert camera.alive()


def test_camera_publisher_keeps_retrying_a_missing_device(processes, probe):
    spec = NodeSpec('camera_publisher', 'camera', namespace='gone',
                    parameters={'source': '/nonexistent/video0', 'retry_interval_s': 0.2})
    camera = processes.start_node(spec)
    output = wait_for_output(camera, 'retrying in 0.2 s', timeout=30)
    assert 'cannot open device /nonexistent/video0' in output
    wait_for_output(camera, 'retrying', timeout=30)
    assert camera.alive() and 'Traceback' not in camera.output()


def test_optional_nodes_that_are_not_installed_are_skipped_with_a_notice():
    result = subprocess.run([sys.executable, '-m', 'hilserl', 'launch', 'sim', 'rviz:=true',
                             '--show-args'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for package in ('robot_state_publisher', 'rviz2'):
        assert (f'skipped, {package} is not installed' in result.stdout
                or f'/{package}: /' in result.stdout)
