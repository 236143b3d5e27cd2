"""
Convert between sensor_msgs/Image and NumPy arrays.

cv_bridge is used when it is installed (a ROS install has it); otherwise
:func:`hilserl.vision.image_decoding.image_pixels` does the same for the 8-bit
encodings the suite handles. Both paths return H×W×C uint8 arrays and are tested
against each other.
"""

import array

import numpy as np
from sensor_msgs.msg import Image

from hilserl.vision.image_decoding import CHANNELS_BY_ENCODING, image_pixels
from hilserl.vision.image_processing import ImageProcessingError

try:  # pragma: no cover - depends on the machine
    from cv_bridge import CvBridge
    _BRIDGE = CvBridge()
except ImportError:  # pip-only machines have no cv_bridge
    _BRIDGE = None


def has_cv_bridge() -> bool:
    """Return whether conversions go through cv_bridge."""
    return _BRIDGE is not None


def image_to_array(msg: Image) -> np.ndarray:
    """Return the pixels of ``msg`` as an H×W×C uint8 array."""
    if _BRIDGE is None or msg.encoding not in CHANNELS_BY_ENCODING:
        return image_pixels(msg)
    try:  # pragma: no cover - needs cv_bridge
        pixels = _BRIDGE.imgmsg_to_cv2(msg, desired_encoding='passthrough')
    except Exception as error:  # cv_bridge raises its own error types
        raise ImageProcessingError(str(error)) from error
    return pixels if pixels.ndim == 3 else pixels[:, :, np.newaxis]


def array_to_image(pixels: np.ndarray, encoding: str, header=None) -> Image:
    """Wrap an H×W×C (or H×W) uint8 array in a sensor_msgs/Image with ``encoding``."""
    channels = CHANNELS_BY_ENCODING.get(encoding)
    if channels is None:
        raise ImageProcessingError(f"unsupported encoding '{encoding}'")
    if pixels.dtype != np.uint8:
        raise ImageProcessingError(f'expected uint8 pixels, got {pixels.dtype}')
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3 or pixels.shape[2] != channels:
        raise ImageProcessingError(
            f"{encoding} needs {channels} channel(s), got an array of shape {pixels.shape}")
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * channels
    # array('B', bytes) is a single memcpy; a list of ints would be ~100x slower.
    msg.data = array.array('B', np.ascontiguousarray(pixels).tobytes())
    return msg
