"""
Pixels of an image record as NumPy arrays: the 8-bit encodings, without ROS.

An image record is anything with the fields of ``sensor_msgs/Image`` (``encoding``,
``height``, ``width``, ``step``, ``data``): an rclpy message, or one that ``rosbags``
decoded from a bag. :mod:`hilserl.ros.image_conversion` builds on this for the nodes
(with cv_bridge when installed); :mod:`hilserl.dataset.bag_reading` reads recorded
frames with it.
"""

import numpy as np

from hilserl.vision.image_processing import ImageProcessingError

CHANNELS_BY_ENCODING = {'mono8': 1, 'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4}


def image_pixels(image) -> np.ndarray:
    """
    Return the pixels of an image record as an H×W×C uint8 array, channels as encoded.

    The array is a view of the record's buffer when rows are not padded. Raise
    ImageProcessingError for an unsupported encoding or sizes that do not add up.
    """
    channels = CHANNELS_BY_ENCODING.get(image.encoding)
    if channels is None:
        raise ImageProcessingError(
            f"unsupported encoding '{image.encoding}' "
            f'(supported: {", ".join(sorted(CHANNELS_BY_ENCODING))})')
    if image.height == 0 or image.width == 0:
        raise ImageProcessingError(f'empty image {image.height}x{image.width}')
    row_bytes = image.width * channels
    if image.step < row_bytes:
        raise ImageProcessingError(
            f'step {image.step} is smaller than width*channels = {row_bytes}')
    data = np.frombuffer(image.data, dtype=np.uint8)
    if data.size < image.step * image.height:
        raise ImageProcessingError(
            f'image data has {data.size} bytes, {image.step * image.height} expected '
            f'for {image.height} rows of {image.step} bytes')
    rows = data[:image.step * image.height].reshape(image.height, image.step)
    return rows[:, :row_bytes].reshape(image.height, image.width, channels)


def rgb_pixels(image) -> np.ndarray:
    """
    Return the pixels of an image record as RGB uint8 ``[H, W, 3]``.

    BGR is swapped, alpha dropped and mono repeated into three channels; the result is a
    view of the record's buffer where no channel needs repeating.
    """
    pixels = image_pixels(image)
    if image.encoding.startswith('bgr'):
        return pixels[..., 2::-1]
    if pixels.shape[2] == 1:
        return np.repeat(pixels, 3, axis=2)
    return pixels[..., :3]
