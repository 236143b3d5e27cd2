"""
Take the newest frame of each camera from live ``/<camera>/image_raw`` topics.

For tools that run beside a graph (``hilserl crop --live``): a
:class:`~hilserl.ros.private_node.PrivateNode` subscribed with the sensor-data QoS the
camera publishers use, closed again once every camera has sent a frame or the deadline
has passed.
"""

import time
from typing import Dict, Sequence

import numpy as np

from hilserl.vision.image_decoding import rgb_pixels
from hilserl.vision.image_processing import ImageProcessingError


class FrameGrabError(Exception):
    """A camera sent no usable frame in time, reported as one line."""


def raw_topic(camera: str) -> str:
    """Return the raw image topic of ``camera``: ``front`` -> ``/front/image_raw``."""
    return f"/{camera.strip('/')}/image_raw"


def grab_frames(cameras: Sequence[str], wait_s: float) -> Dict[str, np.ndarray]:
    """Return one RGB ``[H, W, 3]`` frame per camera; raise FrameGrabError after ``wait_s``."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from hilserl.ros.private_node import PrivateNode
    frames: Dict[str, np.ndarray] = {}
    problems: Dict[str, str] = {}

    def keep(camera: str, message: Image) -> None:
        try:
            frames[camera] = np.array(rgb_pixels(message))   # a copy: the message goes
            problems.pop(camera, None)
        except ImageProcessingError as error:
            problems[camera] = str(error)

    with PrivateNode('hilserl_frame_grabber') as private:
        for camera in cameras:
            private.node.create_subscription(
                Image, raw_topic(camera), lambda message, camera=camera: keep(camera, message),
                qos_profile_sensor_data)
        deadline = time.monotonic() + wait_s
        while len(frames) < len(cameras) and time.monotonic() < deadline:
            private.executor.spin_once(
                timeout_sec=min(0.1, max(0.0, deadline - time.monotonic())))
    missing = [camera for camera in cameras if camera not in frames]
    if missing:
        details = '; '.join(f'{raw_topic(camera)}: '
                            + (problems[camera] if camera in problems else 'no frame')
                            for camera in missing)
        raise FrameGrabError(f'no usable frame within {wait_s:g} s ({details}): are the '
                             'cameras running (e.g. hilserl launch demo)?')
    return frames
