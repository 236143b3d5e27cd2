"""
``hilserl crop --live``: crops chosen on the frames of running cameras.

The demo mode's managed test-pattern cameras publish /front/image_raw and
/wrist/image_raw (640x480); the crop command, a separate process, takes a frame of
each, writes the crop into a parameter file and the processed preview next to it.
"""

import subprocess
import sys

import cv2
from hilserl_testing.processes import wait_for_output
import yaml

PARAMS_TEXT = """\
# kept: the crop tool edits this file in place
image_processor:
  ros__parameters:
    camera_names: [front, wrist]
    resize_size: [64, 80]
"""


def crop(*arguments):
    return subprocess.run([sys.executable, '-m', 'hilserl', 'crop', *arguments],
                          capture_output=True, text=True, timeout=120)


def test_crops_from_live_cameras_are_written_with_their_previews(processes, tmp_path):
    params = tmp_path / 'image_processor.yaml'
    params.write_text(PARAMS_TEXT)
    demo = processes.start_mode('demo', duration=0)
    wait_for_output(demo, 'managed nodes active', timeout=90)

    result = crop('--live', '--wait', '60', '--params', str(params), '--preview-dir',
                  str(tmp_path), '--camera', 'front=0,80,480,480',
                  '--camera', 'wrist=40,120,400,400')
    assert result.returncode == 0, result.stderr
    assert 'front: [0, 80, 480, 480]  (of the 480x640 raw frame)' in result.stdout
    written = yaml.safe_load(params.read_text())['image_processor']['ros__parameters']
    assert written['front']['crop'] == [0, 80, 480, 480]
    assert written['wrist']['crop'] == [40, 120, 400, 400]
    assert params.read_text().startswith('# kept')
    for camera in ('front', 'wrist'):
        preview = cv2.imread(str(tmp_path / f'{camera}_crop.png'))
        assert preview.shape == (64, 80, 3) and preview.std() > 0   # a pattern, not a blank

    # A crop that leaves the frame, and a camera that publishes nothing: one line each.
    result = crop('--live', '--wait', '60', '--params', str(params),
                  '--camera', 'front=0,300,480,480')
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and 'front' in result.stderr
    result = crop('--live', '--wait', '2', '--params', str(params),
                  '--camera', 'side=0,0,10,10')
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert '/side/image_raw: no frame' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_live_or_bag_not_both_and_not_neither(tmp_path):
    params = tmp_path / 'image_processor.yaml'
    params.write_text(PARAMS_TEXT)
    for arguments in (['--params', str(params), '--camera', 'front=0,0,8,8'],
                      [str(tmp_path), '--live', '--params', str(params)]):
        result = crop(*arguments)
        assert result.returncode == 2
        assert 'give either a bag (or dataset) or --live' in result.stderr
