"""Pixels of image records (the fields of sensor_msgs/Image), decoded without ROS."""

from types import SimpleNamespace

from hilserl.vision.image_decoding import image_pixels, rgb_pixels
from hilserl.vision.image_processing import ImageProcessingError
import numpy as np
import pytest


def record(pixels, encoding, step=None):
    """Return an image record of ``pixels`` [H, W, C], rows padded to ``step`` bytes."""
    height, width, channels = pixels.shape
    step = step or width * channels
    rows = np.zeros((height, step), np.uint8)
    rows[:, :width * channels] = pixels.reshape(height, -1)
    return SimpleNamespace(height=height, width=width, encoding=encoding, step=step,
                           data=rows.tobytes())


def random_pixels(height, width, channels):
    """Return reproducible random uint8 pixels."""
    return np.random.default_rng(0).integers(0, 256, (height, width, channels), np.uint8)


@pytest.mark.parametrize('encoding, channels', [('rgb8', 3), ('bgr8', 3), ('mono8', 1),
                                                ('rgba8', 4), ('bgra8', 4)])
def test_every_pixel_comes_back_as_encoded(encoding, channels):
    pixels = random_pixels(7, 11, channels)
    np.testing.assert_array_equal(image_pixels(record(pixels, encoding)), pixels)


def test_padded_rows_are_skipped():
    pixels = random_pixels(3, 5, 3)
    np.testing.assert_array_equal(image_pixels(record(pixels, 'rgb8', step=16)), pixels)


def test_rgb_swaps_bgr_drops_alpha_and_repeats_mono():
    bgra = random_pixels(4, 6, 4)
    np.testing.assert_array_equal(rgb_pixels(record(bgra, 'bgra8')), bgra[..., 2::-1])
    np.testing.assert_array_equal(rgb_pixels(record(bgra[..., :3], 'bgr8')),
                                  bgra[..., 2::-1])
    np.testing.assert_array_equal(rgb_pixels(record(bgra, 'rgba8')), bgra[..., :3])
    mono = bgra[..., :1]
    np.testing.assert_array_equal(rgb_pixels(record(mono, 'mono8')),
                                  np.repeat(mono, 3, axis=2))


@pytest.mark.parametrize('fields, message', [
    ({'encoding': '16UC1', 'step': 4, 'data': bytes(8)}, "unsupported encoding '16UC1'"),
    ({'height': 4, 'width': 4, 'step': 12, 'data': bytes(20)}, '20 bytes, 48 expected'),
    ({'width': 4, 'step': 8, 'data': bytes(16)}, 'step 8 is smaller'),
    ({'height': 0, 'width': 4, 'step': 12, 'data': b''}, 'empty image 0x4'),
])
def test_bad_records_are_refused_with_a_reason(fields, message):
    image = SimpleNamespace(**{'height': 2, 'width': 2, 'encoding': 'rgb8', **fields})
    with pytest.raises(ImageProcessingError, match=message):
        image_pixels(image)
