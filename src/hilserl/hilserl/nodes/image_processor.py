"""
Crop and resize the frames of any number of cameras for the policy.

Subscribes ``<camera>/image_raw`` and publishes ``<camera>/image_processed``
for every camera in ``camera_names``. Crops are ``<camera>.crop`` =
``[top, left, height, width]`` and may be changed while running
(``ros2 param set /image_processor front.crop "[0, 80, 480, 480]"``).
"""

from typing import Dict, Optional

from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from hilserl.ros.image_conversion import array_to_image, image_to_array
from hilserl_common.log_throttle import LogThrottle
from hilserl_common.node_support import declare, run_node, valid_camera_name
from hilserl.vision.image_processing import (CropBox, ImageProcessingError, crop_and_resize,
                                             parse_size)


class ImageProcessorNode(Node):
    """Crop and resize frames from several cameras."""

    def __init__(self, **kwargs):
        """Declare parameters, then create one subscription and publisher per camera."""
        super().__init__('image_processor', **kwargs)
        camera_names = declare(self, 'camera_names', ['front'],
                               'Cameras to process; each reads <camera>/image_raw and '
                               'writes <camera>/image_processed.')
        self._size = parse_size(declare(self, 'resize_size', [128, 128],
                                        'Output [height, width] in pixels.'))
        throttle_s = declare(self, 'error_report_period_s', 5.0,
                             'Repeated errors of one kind and camera are logged at most '
                             'once per this many seconds.', read_only=False)
        self._throttle = LogThrottle(throttle_s)
        for name in camera_names:
            if not valid_camera_name(name):
                raise ValueError(f"camera name '{name}' must be snake_case "
                                 '(letters, digits, underscores)')
        self._crops: Dict[str, Optional[CropBox]] = {}
        for name in camera_names:
            value = declare(self, f'{name}.crop', Parameter.Type.INTEGER_ARRAY,
                            f'[top, left, height, width] of {name} before resizing; unset '
                            'keeps the whole frame.', read_only=False)
            self._crops[name] = None if value is None else CropBox.from_sequence(value)
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

        self.frames_processed = {name: 0 for name in camera_names}
        self._processed_publishers = {
            name: self.create_publisher(Image, f'{name}/image_processed', qos_profile_sensor_data)
            for name in camera_names}
        for name in camera_names:
            self.create_subscription(
                Image, f'{name}/image_raw',
                lambda msg, camera=name: self._on_image(camera, msg), qos_profile_sensor_data)
        self.get_logger().info(
            f'processing {", ".join(camera_names)} → {self._size[0]}x{self._size[1]}; crops '
            + ', '.join(f'{n}={c.as_list() if c else "none"}' for n, c in self._crops.items()))

    def _on_image(self, camera: str, msg: Image) -> None:
        try:
            pixels = image_to_array(msg)
            processed = crop_and_resize(pixels, self._crops[camera], self._size)
            out = array_to_image(processed, msg.encoding, msg.header)
        except ImageProcessingError as error:
            self._report(camera, str(error))
            return
        self._processed_publishers[camera].publish(out)
        self.frames_processed[camera] += 1

    def _report(self, camera: str, problem: str) -> None:
        suppressed = self._throttle.check((camera, problem))
        if suppressed is None:
            return
        more = f' ({suppressed} more since the last report)' if suppressed else ''
        self.get_logger().error(f'dropping a {camera} frame: {problem}{more}')

    def _crop_updates(self, parameters):
        """Return {camera: CropBox} for the crop parameters among ``parameters``."""
        updates = {}
        for parameter in parameters:
            camera, _, leaf = parameter.name.rpartition('.')
            if leaf == 'crop' and camera in self._crops:
                updates[camera] = CropBox.from_sequence(parameter.value)
        return updates

    def _validate_parameters(self, parameters) -> SetParametersResult:
        try:
            self._crop_updates(parameters)
        except ImageProcessingError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters) -> None:
        for camera, crop in self._crop_updates(parameters).items():
            self._crops[camera] = crop
            self.get_logger().info(f'{camera} crop is now {crop.as_list()}')
        for parameter in parameters:
            if parameter.name == 'error_report_period_s':
                self._throttle.period_s = parameter.value


def main(args=None):
    """Run the image processor until shut down."""
    run_node(ImageProcessorNode, args)


if __name__ == '__main__':
    main()
