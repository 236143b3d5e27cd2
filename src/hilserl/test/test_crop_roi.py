"""``hilserl crop`` without a display: bag in, parameter file and previews out."""

import os
import re
import shutil

import cv2
import numpy as np
import pytest
import yaml

from hilserl.commands.cli import main
from hilserl.dataset import bag_format
from hilserl_testing import bags
from hilserl.vision.crop_roi import CropToolError, parse_camera_rectangle, ProcessorParameters
from hilserl.vision.image_processing import crop_and_resize, CropBox

REPO_CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'config',
                           'image_processor.yaml')
RAW_SIZE = (24, 32)
PARAMS_TEXT = """\
# The processor's settings; this comment must survive.
image_processor:
  ros__parameters:
    camera_names: [front, wrist]   # both cameras
    resize_size: [8, 10]
    error_report_period_s: 5.0
    front:
      crop: [0, 0, 24, 24]
"""


@pytest.fixture
def dataset(tmp_path):
    """Write a dataset whose episodes have raw 24x32 and processed 8x8 frames."""
    path = str(tmp_path / 'dataset')
    return path, bags.write_dataset(path, num_episodes=2, steps=2, raw_size=RAW_SIZE)


@pytest.fixture
def params(tmp_path):
    path = tmp_path / 'image_processor.yaml'
    path.write_text(PARAMS_TEXT)
    return str(path)


def crop_parameters(path):
    with open(path) as stream:
        return yaml.safe_load(stream)['image_processor']['ros__parameters']


def test_rectangles_from_arguments_are_written_with_previews(dataset, params, tmp_path,
                                                             capsys, monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    path, expected = dataset
    previews = tmp_path / 'previews'
    assert main(['crop', path, '--params', params, '--camera', 'front=2,4,16,20',
                 '--camera', 'wrist=0,0,24,32', '--preview-dir', str(previews)]) == 0
    out = capsys.readouterr().out
    assert 'front: [2, 4, 16, 20]  (of the 24x32 raw frame)' in out
    settings = crop_parameters(params)
    assert settings['front']['crop'] == [2, 4, 16, 20]
    assert settings['wrist']['crop'] == [0, 0, 24, 32]
    assert settings['resize_size'] == [8, 10] and settings['error_report_period_s'] == 5.0
    text = open(params).read()
    assert "# The processor's settings; this comment must survive." in text
    assert 'camera_names: [front, wrist]   # both cameras' in text
    assert '      crop: [2, 4, 16, 20]\n' in text
    first_frame = expected[0].raw_images['front'][0]
    preview = cv2.imread(str(previews / 'front_crop.png'))[..., ::-1]
    np.testing.assert_array_equal(
        preview, crop_and_resize(first_frame, CropBox(2, 4, 16, 20), (8, 10)))
    assert cv2.imread(str(previews / 'wrist_crop.png')).shape == (8, 10, 3)


def test_the_repository_parameter_file_keeps_its_comments(dataset, tmp_path):
    path, _ = dataset
    params = str(tmp_path / 'copy.yaml')
    shutil.copy(REPO_CONFIG, params)
    before = open(params).read()
    assert main(['crop', bag_format.episode_directory(path, 1), '--params', params,
                 '--camera', 'wrist=1,2,3,4', '--preview-dir', str(tmp_path)]) == 0
    after = open(params).read()
    assert after == before.replace('crop: [40, 120, 400, 400]', 'crop: [1, 2, 3, 4]')
    assert os.path.exists(str(tmp_path / 'wrist_crop.png'))


def test_a_plain_camera_bag_works(tmp_path, params):
    episode = bags.synthetic_episode(steps=1, image_size=RAW_SIZE)
    episode.raw_images, episode.images = episode.images, {}
    records = [r for r in bags.episode_records(episode) if r.topic.endswith('image_raw')]
    bags.write_bag(str(tmp_path / 'cameras'), records)
    assert main(['crop', str(tmp_path / 'cameras'), '--params', params,
                 '--camera', 'front=0,0,24,32', '--preview-dir', str(tmp_path)]) == 0
    assert crop_parameters(params)['front']['crop'] == [0, 0, 24, 32]


@pytest.mark.parametrize('camera, problem', [
    ('front=10,0,20,8', r"camera 'front': crop \[10, 0, 20, 8\] reaches outside the 24x32"),
    ('wrist=0,30,4,4', r"camera 'wrist': crop \[0, 30, 4, 4\] reaches outside"),
    ('front=0,0,0,4', 'height and width must be > 0'),
    ('front=1,2,3', r'crop must be \[top, left, height, width\], got 3 values'),
    ('front:1,2,3,4', 'expected CAMERA=top,left,height,width'),
    ('side=0,0,4,4', "camera 'side' has no raw frames"),
])
def test_bad_rectangles_are_rejected_and_nothing_is_written(
        dataset, params, tmp_path, capsys, camera, problem):
    path, _ = dataset
    assert main(['crop', path, '--params', params, '--camera', camera,
                 '--preview-dir', str(tmp_path / 'previews')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('hilserl crop: error: ') and err.count('\n') == 1
    assert re.search(problem, err), err
    assert open(params).read() == PARAMS_TEXT
    assert not os.path.exists(str(tmp_path / 'previews'))


def test_without_display_or_rectangles_it_asks_for_camera(dataset, params, capsys,
                                                          monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    assert main(['crop', dataset[0], '--params', params]) == 2
    assert 'pass each crop with --camera' in capsys.readouterr().err


def test_other_bad_input(tmp_path, params, capsys):
    processed_only = bags.synthetic_episode(steps=1)
    bags.write_episode(str(tmp_path / 'processed'), processed_only)
    assert main(['crop', str(tmp_path / 'processed'), '--params', params,
                 '--camera', 'front=0,0,4,4']) == 2
    assert 'has no image_raw frames' in capsys.readouterr().err
    bags.write_dataset(str(tmp_path / 'data'), 1, raw_size=RAW_SIZE, cameras=('front', 'side'))
    assert main(['crop', str(tmp_path / 'data'), '--params', params,
                 '--camera', 'side=0,0,4,4']) == 2
    assert "camera 'side' is not in camera_names" in capsys.readouterr().err
    (tmp_path / 'other.yaml').write_text('safety_filter:\n  ros__parameters: {a: 1}\n')
    assert main(['crop', str(tmp_path / 'data'), '--params', str(tmp_path / 'other.yaml'),
                 '--camera', 'front=0,0,4,4']) == 2
    assert 'has no image_processor: ros__parameters: section' in capsys.readouterr().err


def test_parameter_file_edits(tmp_path):
    path = tmp_path / 'p.yaml'
    path.write_text(PARAMS_TEXT)
    parameters = ProcessorParameters(str(path))
    assert parameters.camera_names == ['front', 'wrist']
    assert parameters.resize_size == (8, 10)
    parameters.set_crop('wrist', CropBox(1, 2, 3, 4))   # no wrist section yet
    parameters.save()
    assert crop_parameters(str(path))['wrist'] == {'crop': [1, 2, 3, 4]}
    assert parse_camera_rectangle('front=1, 2, 3, 4') == ('front', CropBox(1, 2, 3, 4))
    with pytest.raises(CropToolError, match="'front=a,b,c,d': values must be integers"):
        parse_camera_rectangle('front=a,b,c,d')
