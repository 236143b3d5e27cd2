"""
Say, once a second, what arrives on a set of image topics, and save previews.

A terminal stand-in for ``rqt_image_view``: for each camera it logs size,
encoding, rate and age of the newest frame, and writes the newest frame as
``<preview_dir>/<camera>.png`` so it can be looked at without a display.
"""

import os
import time
from typing import Dict

import cv2
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.time import Time
from sensor_msgs.msg import Image

from hilserl.ros.image_conversion import image_to_array
from hilserl_common.node_support import declare, run_node, StopNode
from hilserl.vision.image_processing import ImageProcessingError


class ImageMonitorNode(Node):
    """Summarise image topics in the log and as PNG previews."""

    def __init__(self, **kwargs):
        """Declare parameters and subscribe to ``<camera>/<image_topic>`` per camera."""
        super().__init__('image_monitor', **kwargs)
        cameras = declare(self, 'camera_names', ['front'], 'Cameras to watch.')
        topic = declare(self, 'image_topic', 'image_processed',
                        'Topic under each camera namespace to watch.')
        self._preview_dir = declare(self, 'preview_dir', '',
                                    'Directory for <camera>.png previews; empty: none.')
        report_period_s = declare(self, 'report_period_s', 1.0, 'Seconds between summaries.')
        self._exit_after_s = declare(self, 'exit_after_s', 0.0,
                                     'Stop after this many seconds; 0 runs until shut down.')
        if report_period_s <= 0:
            raise ValueError(f'report_period_s must be positive, got {report_period_s}')
        if self._preview_dir:
            os.makedirs(self._preview_dir, exist_ok=True)
        self._latest: Dict[str, Image] = {}
        self._counts = {camera: 0 for camera in cameras}
        self._totals = dict(self._counts)
        self._started = time.monotonic()
        self._last_report = self._started
        for camera in cameras:
            self.create_subscription(
                Image, f'{camera}/{topic}',
                lambda msg, camera=camera: self._on_image(camera, msg), qos_profile_sensor_data)
        self.create_timer(report_period_s, self._report)

    def _on_image(self, camera: str, msg: Image) -> None:
        self._latest[camera] = msg
        self._counts[camera] += 1
        self._totals[camera] += 1

    def _report(self) -> None:
        now = time.monotonic()
        elapsed, self._last_report = now - self._last_report, now
        parts = []
        for camera, count in self._counts.items():
            msg = self._latest.get(camera)
            if msg is None:
                parts.append(f'{camera}: waiting')
                continue
            age_ms = (self.get_clock().now() - Time.from_msg(msg.header.stamp)).nanoseconds / 1e6
            parts.append(f'{camera}: {msg.width}x{msg.height} {msg.encoding} '
                         f'{count / elapsed:.1f} Hz, age {age_ms:.1f} ms')
            self._counts[camera] = 0
            self._save_preview(camera, msg)
        self.get_logger().info(' | '.join(parts))
        if self._exit_after_s > 0 and now - self._started >= self._exit_after_s:
            totals = ', '.join(f'{c}={n}' for c, n in self._totals.items())
            where = f'; previews in {self._preview_dir}' if self._preview_dir else ''
            elapsed_total = now - self._started
            self.get_logger().info(f'done after {elapsed_total:.0f} s: frames {totals}{where}')
            raise StopNode()

    def _save_preview(self, camera: str, msg: Image) -> None:
        if not self._preview_dir:
            return
        try:
            pixels = image_to_array(msg)
        except ImageProcessingError as error:
            self.get_logger().warn(f'cannot preview {camera}: {error}')
            return
        if msg.encoding.startswith('rgb'):
            pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR if pixels.shape[2] == 3
                                  else cv2.COLOR_RGBA2BGRA)
        path = os.path.join(self._preview_dir, f'{camera}.png')
        # Write then rename, so a viewer never reads half a file.
        cv2.imwrite(path + '.tmp.png', pixels)
        os.replace(path + '.tmp.png', path)


def main(args=None):
    """Run the image monitor until shut down or ``exit_after_s``."""
    run_node(ImageMonitorNode, args)


if __name__ == '__main__':
    main()
