"""
Publish frames from a camera device, a video file or a generated test pattern.

Publishes ``image_raw`` (rgb8) and ``camera_info`` relative to the node's
namespace, so ``ros2 run hilserl camera_publisher --ros-args -r __ns:=/front``
gives ``/front/image_raw``. A device that disappears is reopened, not fatal.

A managed (lifecycle) node: configure prepares the source, activate opens it
and starts publishing, deactivate stops publishing (the device stays open),
cleanup releases it. With ``autostart`` (the default) it configures and
activates itself as it starts; the launch files and ``hilserl launch`` bring it
up instead (:mod:`hilserl_common.lifecycle_support`).
"""

import math

from rclpy.lifecycle import LifecycleNode
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from hilserl.ros.image_conversion import array_to_image
from hilserl_common.lifecycle_support import autostart, declare_autostart, transition
from hilserl_common.node_support import declare, run_node
from hilserl.vision.camera_sources import ReconnectingSource, open_source


def pinhole_camera_info(width: int, height: int, horizontal_fov_deg: float,
                        frame_id: str) -> CameraInfo:
    """Return an ideal, distortion-free CameraInfo for the given field of view."""
    focal = (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)
    info = CameraInfo()
    info.header.frame_id = frame_id
    info.width, info.height = width, height
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [focal, 0.0, width / 2.0, 0.0, focal, height / 2.0, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [focal, 0.0, width / 2.0, 0.0, 0.0, focal, height / 2.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


class CameraPublisherNode(LifecycleNode):
    """Publish one camera's frames at a fixed rate while active."""

    def __init__(self, **kwargs):
        """Declare and check the parameters; with ``autostart``, configure and activate."""
        super().__init__('camera', **kwargs)
        source = declare(self, 'source', 'test_pattern', "'test_pattern', a device index "
                         "('0'), a device path ('/dev/video0') or a video file.")
        width = declare(self, 'width', 640, 'Frame width in pixels.')
        height = declare(self, 'height', 480, 'Frame height in pixels.')
        fps = declare(self, 'fps', 30.0, 'Frames per second.')
        frame_id = declare(self, 'frame_id', 'camera_optical_frame',
                           'Frame of the optical centre.')
        loop = declare(self, 'loop', True, 'Start a video file again when it ends.')
        retry_interval_s = declare(self, 'retry_interval_s', 1.0,
                                   'Pause before reopening a device that failed.')
        fov = declare(self, 'horizontal_fov_deg', 69.0,
                      'Horizontal field of view used for camera_info.')
        start_now = declare_autostart(self)
        if fps <= 0:
            raise ValueError(f'fps must be positive, got {fps}')
        if not 0.0 < fov < 180.0:
            raise ValueError(f'horizontal_fov_deg must be in (0, 180), got {fov}')
        if width <= 0 or height <= 0:
            raise ValueError(f'camera size must be positive, got {width}x{height}')

        self._camera_info = pinhole_camera_info(width, height, fov, frame_id)
        self._frame_id = frame_id
        self._period = 1.0 / fps
        self._settings = (source, width, height, loop, retry_interval_s)
        self._source = None
        self._timer = None
        self._image_publisher = self.create_publisher(Image, 'image_raw', qos_profile_sensor_data)
        self._info_publisher = self.create_publisher(
            CameraInfo, 'camera_info', qos_profile_sensor_data)
        self.frames_published = 0
        if start_now:
            autostart(self)

    def on_configure(self, state):
        """Prepare the source (opened by the first frame read)."""
        return transition(self, 'configure', self._configure)

    def on_activate(self, state):
        """Start reading (the first read opens the device) and publishing frames."""
        return transition(self, 'activate', self._start)

    def on_deactivate(self, state):
        """Stop publishing; the device stays open."""
        return transition(self, 'deactivate', self._stop)

    def on_cleanup(self, state):
        """Release the device."""
        return transition(self, 'cleanup', self._release)

    def on_shutdown(self, state):
        """Stop and release the device."""
        return transition(self, 'shutdown', self._shutdown)

    def _configure(self):
        source, width, height, loop, retry_interval_s = self._settings
        self._source = ReconnectingSource(
            lambda: open_source(source, width, height, loop), retry_interval_s,
            on_event=self._log_source_event)

    def _start(self):
        self._timer = self.create_timer(self._period, self._publish_frame)

    def _stop(self):
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    def _release(self):
        if self._source is not None:
            self._source.close()
            self._source = None

    def _shutdown(self):
        self._stop()
        self._release()

    def _log_source_event(self, message: str, healthy: bool) -> None:
        if healthy:
            self.get_logger().info(message)
        else:
            self.get_logger().warn(message)

    def _publish_frame(self) -> None:
        frame = self._source.read()
        if frame is None:
            return
        msg = array_to_image(frame, 'rgb8')
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self._frame_id
        self._camera_info.header.stamp = msg.header.stamp
        self._image_publisher.publish(msg)
        self._info_publisher.publish(self._camera_info)
        self.frames_published += 1

    def destroy_node(self):
        """Release the camera before the node goes."""
        if getattr(self, '_source', None) is not None:   # also after a failed __init__
            self._release()
        return super().destroy_node()


def main(args=None):
    """Run the camera publisher until shut down."""
    run_node(CameraPublisherNode, args)


if __name__ == '__main__':
    main()
