"""sensor_msgs/Image <-> NumPy, through the NumPy decoding and (when present) cv_bridge."""

import array

import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from hilserl.ros import image_conversion
from hilserl.ros.image_conversion import array_to_image, image_to_array
from hilserl.vision.image_decoding import image_pixels
from hilserl.vision.image_processing import ImageProcessingError


def random_pixels(height, width, channels, seed=0):
    """Return reproducible random uint8 pixels."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)


@pytest.mark.parametrize('encoding, channels', [('rgb8', 3), ('bgr8', 3), ('mono8', 1),
                                                ('rgba8', 4), ('bgra8', 4)])
def test_round_trip_keeps_every_pixel(encoding, channels):
    pixels = random_pixels(7, 11, channels)
    msg = array_to_image(pixels, encoding, Header(frame_id='cam'))
    assert (msg.height, msg.width, msg.step) == (7, 11, 11 * channels)
    assert msg.header.frame_id == 'cam'
    np.testing.assert_array_equal(image_pixels(msg), pixels)
    np.testing.assert_array_equal(image_to_array(msg), pixels)


def test_an_rclpy_message_with_padded_rows_decodes():
    pixels = random_pixels(3, 5, 3)
    padded = np.zeros((3, 16), np.uint8)
    padded[:, :15] = pixels.reshape(3, 15)
    msg = Image(height=3, width=5, encoding='rgb8', step=16)
    msg.data = array.array('B', padded.tobytes())
    np.testing.assert_array_equal(image_to_array(msg), pixels)


def test_an_unsupported_encoding_is_named_in_the_error():
    msg = Image(height=2, width=2, encoding='16UC1', step=4)
    msg.data = array.array('B', bytes(8))
    with pytest.raises(ImageProcessingError, match="unsupported encoding '16UC1'"):
        image_to_array(msg)


def test_wrong_channel_count_for_encoding_is_an_error():
    with pytest.raises(ImageProcessingError, match='needs 3 channel'):
        array_to_image(random_pixels(2, 2, 1), 'rgb8')
    with pytest.raises(ImageProcessingError, match='uint8'):
        array_to_image(np.zeros((2, 2, 3), np.float32), 'rgb8')


def test_cv_bridge_and_fallback_agree():
    if not image_conversion.has_cv_bridge():
        pytest.skip('cv_bridge is not installed (pip-only machine); fallback tested above')
    pixels = random_pixels(9, 13, 3)
    msg = array_to_image(pixels, 'bgr8')
    np.testing.assert_array_equal(image_to_array(msg), image_pixels(msg))
