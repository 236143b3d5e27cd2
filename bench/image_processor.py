#!/usr/bin/env python3
"""
Image processor throughput: 2 cameras, 640x480 rgb8 in, 128x128 out.

Prints `key: value` lines:
  image_processor_inprocess_fps        frames/s through conversion, crop and resize
                                       in one process (both cameras together)
  image_processor_dds_fps_2cams        processed frames/s received from the real node
                                       in another process, cameras publishing flat out
  image_processor_dds_delivery_at_30hz fraction of frames delivered at 30 Hz per camera
  image_processor_dds_latency_p50_ms   raw stamp -> processed frame received, at 30 Hz
  image_processor_dds_latency_p99_ms

Run inside the workspace: `make bench` or `scripts/in_env python bench/image_processor.py`.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def inprocess_fps(seconds: float) -> float:
    """Frames per second of the processor's per-frame work, without DDS."""
    from hilserl.ros.image_conversion import array_to_image, image_to_array
    from hilserl.vision.image_processing import CropBox, crop_and_resize
    from hilserl.vision.test_pattern import TestPattern
    frames = [array_to_image(TestPattern(480, 640, seed).frame(0), 'rgb8') for seed in (0, 1)]
    crops = [CropBox(0, 80, 480, 480), CropBox(40, 120, 400, 400)]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for msg, crop in zip(frames, crops):
            array_to_image(crop_and_resize(image_to_array(msg), crop, (128, 128)), msg.encoding,
                           msg.header)
            done += 1
    return done / (time.perf_counter() - start)


class ProcessedCounter:
    """Count processed frames and their latency from the raw frame's stamp."""

    def __init__(self, probe, camera):
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image
        self._clock = probe.node.get_clock()
        self.latencies_ms = []
        self.subscription = probe.node.create_subscription(
            Image, f'/{camera}/image_processed', self._on_frame, qos_profile_sensor_data)

    def _on_frame(self, msg):
        from rclpy.time import Time
        age = self._clock.now() - Time.from_msg(msg.header.stamp)
        self.latencies_ms.append(age.nanoseconds / 1e6)


def dds_run(probe, publishers, counters, frames, rate_hz, seconds):
    """Publish to every camera at ``rate_hz`` (0: flat out); return (sent, latencies_ms)."""
    for counter in counters:
        counter.latencies_ms.clear()
    period = 1.0 / rate_hz if rate_hz else 0.0
    sent, start = 0, time.perf_counter()
    next_tick = start
    while time.perf_counter() - start < seconds:
        stamp = probe.node.get_clock().now().to_msg()
        for publisher, frame in zip(publishers, frames):
            frame.header.stamp = stamp
            publisher.publish(frame)
            sent += 1
        next_tick += period
        probe.executor.spin_once(timeout_sec=0)
        while time.perf_counter() < next_tick:  # receive while waiting for the next tick
            probe.executor.spin_once(timeout_sec=min(0.002, next_tick - time.perf_counter()))
    probe.spin_for(0.5)  # let frames in flight arrive
    return sent, [latency for counter in counters for latency in counter.latencies_ms]


def dds_figures(seconds: float) -> dict:
    """Run the real image processor node in its own process and measure it over DDS."""
    from ament_index_python.packages import get_package_share_directory
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from hilserl.launching.graph import NodeSpec
    from hilserl.ros.image_conversion import array_to_image
    from hilserl_testing.isolation import DomainLease, isolated_environment
    from hilserl_testing.probe import GraphProbe
    from hilserl_testing.processes import ProcessGroup
    from hilserl.vision.test_pattern import TestPattern

    lease = DomainLease()
    config_dir = os.path.join(get_package_share_directory('hilserl'), 'config')
    os.environ.update(isolated_environment(lease.domain_id, config_dir))
    processes = ProcessGroup(tempfile.mkdtemp(prefix='hilserl-bench-'))
    probe = GraphProbe('bench_probe')
    try:
        processes.start_node(NodeSpec('image_processor', 'image_processor',
                                      parameter_files=('image_processor.yaml',)))
        cameras = ('front', 'wrist')
        publishers = [probe.publisher(Image, f'/{c}/image_raw', qos_profile_sensor_data)
                      for c in cameras]
        counters = [ProcessedCounter(probe, c) for c in cameras]
        for publisher, counter in zip(publishers, counters):
            probe.wait_for_subscribers(publisher, timeout=30)
            probe.spin_until(lambda: counter.subscription.get_publisher_count() > 0, 30,
                             'the processed-image publisher')
        frames = [array_to_image(TestPattern(480, 640, seed).frame(0), 'rgb8')
                  for seed in (0, 1)]
        dds_run(probe, publishers, counters, frames, 30.0, 1.0)  # warm-up
        sent, latencies = dds_run(probe, publishers, counters, frames, 30.0, seconds)
        figures = {
            'image_processor_dds_delivery_at_30hz': len(latencies) / sent,
            'image_processor_dds_latency_p50_ms': float(np.percentile(latencies, 50)),
            'image_processor_dds_latency_p99_ms': float(np.percentile(latencies, 99)),
        }
        _, latencies = dds_run(probe, publishers, counters, frames, 0, seconds)
        figures['image_processor_dds_fps_2cams'] = len(latencies) / seconds
        return figures
    finally:
        probe.close()
        processes.stop_all()
        lease.release()


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=5.0, help='duration of each run')
    options = parser.parse_args()
    print(f'image_processor_inprocess_fps: {inprocess_fps(options.seconds):.1f}', flush=True)
    for key, value in dds_figures(options.seconds).items():
        print(f'{key}: {value:.3f}' if value < 10 else f'{key}: {value:.1f}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
