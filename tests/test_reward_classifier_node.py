"""
The reward classifier node with a real saved classifier, driven over DDS.

The classifier is trained in the test on synthetic frames (bright sets are successes,
dark ones are not), saved with ``save_classifier`` and loaded by the node from disk.
"""

from builtin_interfaces.msg import Time
from hilserl_interfaces.msg import EpisodeEvent
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float32

from hilserl.launching.graph import NodeSpec
from hilserl.ros.image_conversion import array_to_image
from hilserl_common.node_support import EXIT_BAD_CONFIG
from hilserl_testing.tiny_classifier import (BRIGHT, DARK, grey_frames, probabilities,
                                             train_tiny_classifier)

CAMERAS = ('front', 'wrist')
SIZE = 32
EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def frames(level, count, rng):
    """``count`` noisy SIZE x SIZE RGB frames around grey ``level``."""
    return grey_frames(level, count, SIZE, rng)


@pytest.fixture(scope='module')
def classifier_dir(tmp_path_factory):
    """Train a tiny two-camera classifier (bright = success) and save it."""
    from hilserl_learning.reward_classifier import save_classifier
    model = train_tiny_classifier(CAMERAS, SIZE)
    rng = np.random.default_rng(1)
    bright = probabilities(model, BRIGHT, 8, SIZE, rng)
    dark = probabilities(model, DARK, 8, SIZE, rng)
    assert bright.min() > 0.9 and dark.max() < 0.1, (bright, dark)
    directory = tmp_path_factory.mktemp('classifier')
    save_classifier(model, str(directory))
    return str(directory)


def classifier_spec(model_path, **parameters):
    values = {'model_path': model_path, 'camera_names': list(CAMERAS),
              'terminate_on_success': True, 'sync_tolerance_s': 0.01}
    values.update(parameters)
    return NodeSpec('reward_classifier', 'reward_classifier', parameters=values)


class Rig:
    """The probe's cameras, event publisher and the node's outputs."""

    def __init__(self, probe):
        self.probe = probe
        self.rng = np.random.default_rng(1)
        self.cameras = {c: probe.publisher(Image, f'/{c}/image_processed',
                                           qos_profile_sensor_data) for c in CAMERAS}
        self.events_out = probe.publisher(EpisodeEvent, '/episode_events', EVENTS_QOS)
        self.probability = probe.subscribe(Float32, '/reward_classifier/probability', 10)
        self.success = probe.subscribe(Bool, '/reward_classifier/success', 10)
        self.events = probe.subscribe(EpisodeEvent, '/episode_events', EVENTS_QOS)
        for publisher in (*self.cameras.values(), self.events_out):
            probe.wait_for_subscribers(publisher, timeout=30)
        for collector in (self.probability, self.success):
            collector.wait_for_publishers(timeout=30)

    def send_set(self, level):
        """Publish one frame per camera, stamped alike; the wrist frame 3 ms later."""
        stamp = self.probe.node.get_clock().now()
        for index, camera in enumerate(CAMERAS):
            msg = array_to_image(frames(level, 1, self.rng)[0], 'rgb8')
            msg.header.stamp = stamp_of(stamp.nanoseconds + index * 3_000_000)
            self.cameras[camera].publish(msg)

    def send_until(self, level, condition, what, timeout=20.0):
        """
        Send frame sets every 50 ms until ``condition()`` holds.

        Camera frames are best effort; a lost frame just means the next set counts.
        """
        def check():
            if condition():
                return True
            self.send_set(level)
            return False
        self.probe.spin_until(check, timeout, what)

    def success_events(self):
        return [m for m in self.events.messages if m.event == EpisodeEvent.SUCCESS]


def stamp_of(nanoseconds):
    return Time(sec=nanoseconds // 10**9, nanosec=nanoseconds % 10**9)


def test_probability_success_and_one_success_event_per_episode(processes, probe,
                                                               classifier_dir):
    node = processes.start_node(classifier_spec(classifier_dir))
    rig = Rig(probe)

    rig.send_until(DARK, lambda: rig.probability.messages, 'a probability for a dark set')
    assert rig.probability.messages[0].data < 0.5
    assert rig.success.wait_for_messages(1)[0].data is False
    assert not rig.success_events()

    count = len(rig.probability.messages)
    rig.send_until(BRIGHT, lambda: any(m.data for m in rig.success.messages), 'a success')
    bright = [m.data for m in rig.probability.messages[count:]]
    assert max(bright) > 0.5
    event = rig.events.wait_for(lambda m: m.event == EpisodeEvent.SUCCESS, what='SUCCESS')
    assert event.source == 'reward_classifier' and event.episode_index == 0

    # Still successful, but the episode already ended: no second event.
    successes = sum(m.data for m in rig.success.messages)
    rig.send_until(BRIGHT, lambda: sum(m.data for m in rig.success.messages) >= successes + 3,
                   'three more successes')
    probe.spin_for(0.3)
    assert len(rig.success_events()) == 1

    # A new episode re-arms it.
    rig.events_out.publish(EpisodeEvent(event=EpisodeEvent.EPISODE_START, source='test',
                                        episode_index=1))
    rig.send_until(BRIGHT, lambda: len(rig.success_events()) == 2, 'a second SUCCESS event')
    assert rig.success_events()[1].episode_index == 1
    assert node.alive() and 'Traceback' not in node.output()


def test_a_success_needs_the_threshold_held_over_success_frames_sets(processes, probe,
                                                                     classifier_dir):
    node = processes.start_node(classifier_spec(classifier_dir, success_frames=3,
                                                success_threshold=0.5))
    rig = Rig(probe)
    rig.send_until(DARK, lambda: rig.success.messages, 'a decision on a dark set')
    rig.send_until(BRIGHT, lambda: any(m.data for m in rig.success.messages), 'a success')
    decisions = [m.data for m in rig.success.messages]
    probabilities = [m.data for m in rig.probability.wait_for_messages(len(decisions))]
    # One probability and one decision per set, in order: the third bright set in a row
    # is the first success.
    first_bright = next(i for i, p in enumerate(probabilities) if p >= 0.5)
    assert probabilities[0] < 0.5 and decisions.index(True) == first_bright + 2
    event = rig.events.wait_for(lambda m: m.event == EpisodeEvent.SUCCESS, what='SUCCESS')
    assert event.source == 'reward_classifier'
    assert 'over 3 consecutive sets' in node.output()


def test_a_camera_the_classifier_needs_but_the_graph_lacks_is_one_line_and_exit_78(
        processes, classifier_dir):
    node = processes.start_node(classifier_spec(classifier_dir, camera_names=['front']))
    assert node.wait(timeout=60) == EXIT_BAD_CONFIG
    output = node.output().strip()
    assert len(output.splitlines()) == 1, output
    assert 'bad configuration' in output
    assert "classifier expects cameras ['front', 'wrist']" in output


def test_a_missing_model_is_one_line_and_exit_78(processes, tmp_path):
    node = processes.start_node(classifier_spec(str(tmp_path / 'nothing_here')))
    assert node.wait(timeout=60) == EXIT_BAD_CONFIG
    output = node.output().strip()
    assert len(output.splitlines()) == 1 and 'not a reward classifier' in output, output
