#!/usr/bin/env python3
"""
Send or receive hilserl_interfaces/Transition messages, for the transport test.

    transition_peer.py talk --count 5
    transition_peer.py listen --count 5 --out received.json

The talker waits until a subscriber has matched, then publishes a known episode:
its steps carry a deterministic image and state, and only the last one carries a
final observation. The listener writes what arrived as JSON and exits.
"""

import argparse
import faulthandler
import hashlib
import json
import sys
import time

import numpy as np
import rclpy
from hilserl_interfaces.msg import Observation, Transition
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy

from hilserl.ros.image_conversion import array_to_image, image_to_array

TOPIC = 'transitions'
QOS = QoSProfile(depth=100, reliability=QoSReliabilityPolicy.RELIABLE,
                 durability=QoSDurabilityPolicy.VOLATILE)


def observation(step: int) -> Observation:
    """Return the deterministic observation of ``step``."""
    pixels = np.full((16, 16, 3), step * 10, np.uint8)
    pixels[0, 0] = (1, 2, 3)
    return Observation(state_names=['x', 'y'], state=[float(step), -0.5],
                       camera_names=['front'], images=[array_to_image(pixels, 'rgb8')])


def talk(node, count: int) -> None:
    """Publish ``count`` transitions of one episode once a subscriber matched."""
    publisher = node.create_publisher(Transition, TOPIC, QOS)
    deadline = time.monotonic() + 20.0
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            sys.exit('no subscriber matched within 20 s')
        rclpy.spin_once(node, timeout_sec=0.05)
    for step in range(count):
        last = step == count - 1
        publisher.publish(Transition(
            actor_id='actor_0', sequence=step, episode_index=3, step_index=step,
            observation=observation(step), action=[0.1 * step, 0.0, -1.0],
            reward=1.0 if last else 0.0, terminated=last, truncated=False,
            intervention=step % 2 == 1,
            final_observation=[observation(step + 1)] if last else []))
    # Reliable delivery completes in the background; wait until every sample is acknowledged.
    publisher.wait_for_all_acked(rclpy.duration.Duration(seconds=10))


def summary(msg: Transition) -> dict:
    """Return the fields of ``msg`` the test checks, as JSON-friendly values."""
    pixels = image_to_array(msg.observation.images[0])
    return {
        'actor_id': msg.actor_id, 'sequence': msg.sequence, 'episode': msg.episode_index,
        'step': msg.step_index, 'state': list(msg.observation.state),
        'state_names': list(msg.observation.state_names),
        'camera_names': list(msg.observation.camera_names),
        'pixel_00': pixels[0, 0].tolist(), 'pixel_11': pixels[1, 1].tolist(),
        'image_sha256': hashlib.sha256(pixels.tobytes()).hexdigest(),
        'action': [round(a, 5) for a in msg.action], 'reward': msg.reward,
        'terminated': msg.terminated, 'truncated': msg.truncated,
        'intervention': msg.intervention,
        'final_state': [list(o.state) for o in msg.final_observation],
    }


def listen(node, count: int, out: str) -> None:
    """Write the first ``count`` transitions that arrive to ``out`` as JSON."""
    received = []
    node.create_subscription(Transition, TOPIC, lambda msg: received.append(summary(msg)), QOS)
    deadline = time.monotonic() + 30.0
    while len(received) < count:
        if time.monotonic() > deadline:
            sys.exit(f'only {len(received)} of {count} transitions within 30 s')
        rclpy.spin_once(node, timeout_sec=0.05)
    with open(out, 'w') as stream:
        json.dump(received, stream)


def main() -> None:
    """Parse the command line and talk or listen."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('role', choices=['talk', 'listen'])
    parser.add_argument('--count', type=int, default=5)
    parser.add_argument('--out', help='JSON file the listener writes')
    options = parser.parse_args()
    # A hang anywhere (DDS start-up, shutdown) prints every thread's stack before the
    # test's own 60 s wait runs out, so a failure shows where it was stuck.
    faulthandler.dump_traceback_later(45, exit=True)
    rclpy.init()
    node = rclpy.create_node(f'transition_{options.role}er')
    try:
        if options.role == 'talk':
            talk(node, options.count)
        else:
            listen(node, options.count, options.out)
    finally:
        node.destroy_node()
        rclpy.shutdown()


if __name__ == '__main__':
    main()
