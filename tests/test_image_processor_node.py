"""The image processor as a real node in its own process, driven over DDS."""

import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from hilserl.launching.graph import NodeSpec
from hilserl.ros.image_conversion import array_to_image, image_to_array
from hilserl_common.node_support import EXIT_BAD_CONFIG
from hilserl_testing.processes import wait_for_output

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def quadrant_frame(height=120, width=160):
    """Red, green / blue, white quadrants."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:height // 2, :width // 2] = RED
    pixels[:height // 2, width // 2:] = GREEN
    pixels[height // 2:, :width // 2] = BLUE
    pixels[height // 2:, width // 2:] = WHITE
    return pixels


def processor_spec(**parameters):
    """The processor with two cameras and quadrant crops, overridable."""
    values = {'camera_names': ['front', 'wrist'], 'resize_size': [32, 24],
              'front.crop': [0, 0, 60, 80], 'wrist.crop': [60, 80, 60, 80],
              'error_report_period_s': 60.0}
    values.update(parameters)
    return NodeSpec('image_processor', 'image_processor', parameters=values)


class Cameras:
    """Raw-image publishers and processed-image collectors of the test probe."""

    def __init__(self, probe, names=('front', 'wrist')):
        self.probe = probe
        self.raw = {n: probe.publisher(Image, f'/{n}/image_raw', qos_profile_sensor_data)
                    for n in names}
        self.processed = {n: probe.subscribe(Image, f'/{n}/image_processed',
                                             qos_profile_sensor_data) for n in names}
        for name in names:
            probe.wait_for_subscribers(self.raw[name])
            self.processed[name].wait_for_publishers()

    def send_until(self, camera, msg, predicate, what, timeout=15.0):
        """
        Publish ``msg`` every 50 ms until a processed frame satisfies ``predicate``.

        Sensor-data QoS is best effort, so a single frame may legitimately be lost;
        resending until the effect shows is what a camera stream does anyway.
        """
        collector = self.processed[camera]
        collector.messages.clear()
        found = []

        def arrived():
            found.extend(m for m in collector.messages if predicate(image_to_array(m)))
            if not found:
                self.raw[camera].publish(msg)
            return bool(found)
        self.probe.spin_until(arrived, timeout, what)
        return found[0]


def uniform(colour):
    return lambda pixels: (pixels == colour).all()


def test_crop_and_resize_of_known_pixels_for_two_cameras(processes, probe):
    node = processes.start_node(processor_spec())
    cameras = Cameras(probe)
    frame = array_to_image(quadrant_frame(), 'rgb8')
    frame.header.frame_id = 'front_optical'
    out = cameras.send_until('front', frame, uniform(RED), 'red front frame')
    assert (out.height, out.width, out.encoding) == (32, 24, 'rgb8')
    assert out.header.frame_id == 'front_optical'
    cameras.send_until('wrist', array_to_image(quadrant_frame(), 'rgb8'), uniform(WHITE),
                       'white wrist frame')
    assert node.alive()


def test_mono_and_bgr_frames_keep_their_encoding(processes, probe):
    processes.start_node(processor_spec())
    cameras = Cameras(probe)
    mono = np.zeros((120, 160), np.uint8)
    mono[:60, :80] = 77
    out = cameras.send_until('front', array_to_image(mono, 'mono8'), uniform(77), 'mono frame')
    assert out.encoding == 'mono8' and out.step == 24


def test_crop_changes_at_run_time_and_bad_values_are_refused(processes, probe):
    processes.start_node(processor_spec())
    cameras = Cameras(probe)
    frame = array_to_image(quadrant_frame(), 'rgb8')
    cameras.send_until('front', frame, uniform(RED), 'red before the change')

    results = probe.set_parameters('/image_processor', {'front.crop': [0, 80, 60, 80]})
    assert results[0].successful
    cameras.send_until('front', frame, uniform(GREEN), 'green after the change')

    results = probe.set_parameters('/image_processor', {'front.crop': [0, 0, 0, 80]})
    assert not results[0].successful and 'height and width must be > 0' in results[0].reason
    results = probe.set_parameters('/image_processor', {'front.crop': [0, 0, 60]})
    assert not results[0].successful and '3 values' in results[0].reason
    # The refused values changed nothing.
    cameras.send_until('front', frame, uniform(GREEN), 'still green')


def test_bad_frames_are_dropped_reported_once_and_do_not_stop_the_node(processes, probe):
    node = processes.start_node(processor_spec())
    cameras = Cameras(probe)
    depth = Image(height=120, width=160, encoding='16UC1', step=320)
    depth.data = bytes(320 * 120)
    small = array_to_image(np.zeros((40, 40, 3), np.uint8), 'rgb8')  # crop falls outside
    short = array_to_image(np.zeros((120, 160, 3), np.uint8), 'rgb8')
    short.data = short.data[:1000]
    empty = Image(height=0, width=0, encoding='rgb8', step=0)
    for _ in range(20):
        for bad in (depth, small, short, empty):
            cameras.raw['front'].publish(bad)
        probe.spin_for(0.01)
    output = wait_for_output(node, 'empty image', timeout=10)
    wait_for_output(node, "unsupported encoding '16UC1'", timeout=10)
    wait_for_output(node, 'reaches outside the 40x40 image', timeout=10)
    wait_for_output(node, '1000 bytes, 57600 expected', timeout=10)
    # Rate-limited: each problem is reported once in the 60 s period, not 20 times.
    output = node.output()
    assert output.count("unsupported encoding '16UC1'") == 1
    assert output.count('reaches outside') == 1
    assert 'Traceback' not in output
    # And good frames still go through.
    cameras.send_until('front', array_to_image(quadrant_frame(), 'rgb8'), uniform(RED),
                       'a good frame after the bad ones')
    assert node.alive()


@pytest.mark.parametrize('parameters, message', [
    ({'front.crop': [0, 0, 10]}, 'crop must be [top, left, height, width], got 3 values'),
    ({'resize_size': [0, 128]}, 'resize_size must be positive'),
    ({'camera_names': ['Front-Cam']}, "camera name 'Front-Cam' must be snake_case"),
])
def test_bad_configuration_is_one_clear_line_not_a_traceback(processes, parameters, message):
    node = processes.start_node(processor_spec(**parameters))
    assert node.wait(timeout=30) == EXIT_BAD_CONFIG
    output = node.output()
    assert message in output and 'bad configuration' in output
    assert 'Traceback' not in output
