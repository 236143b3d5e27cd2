"""
Classifier mode in simulation, both uses, through the pip-only runner.

use:=collect: the scripted human records episodes whose frames from the success to the
time limit are positive; they are read back with the dataset reader, as `hilserl
classifier train` reads them. use:=test: a small classifier trained here runs live on
the simulated cameras while the scripted human does the task in episodes of its own;
its probability and decision come on topics, as rviz text above the TCP and as
terminal lines.
"""

import re
import subprocess
import sys

from geometry_msgs.msg import PoseStamped
from hilserl_interfaces.msg import EpisodeEvent
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool, Float32
from visualization_msgs.msg import Marker

from hilserl.dataset.reader import read_dataset
from hilserl_testing.processes import wait_for_output
from hilserl_testing.tiny_classifier import train_tiny_classifier
from hilserl.vision.classifier_display import TEXT_ABOVE_TCP_M

FPS = 10
CONTROL_TIME_S = 8   # the scripted lift succeeds 3-4 s into an episode
CAMERAS = ('front', 'wrist')
IMAGE_SIZE = 128     # config/sim_image_processor.yaml's resize_size
EVENTS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
START, SUCCESS, FAILURE, END = (EpisodeEvent.EPISODE_START, EpisodeEvent.SUCCESS,
                                EpisodeEvent.FAILURE, EpisodeEvent.EPISODE_END)


def test_collect_labels_every_frame_from_the_success_to_the_time_limit_positive(
        processes, probe, tmp_path):
    dataset = tmp_path / 'classifier_data'
    collect = processes.start_mode('classifier', use='collect', dataset_dir=dataset,
                                   num_episodes=2, fps=FPS, control_time_s=CONTROL_TIME_S)
    probe.spin_until(lambda: not collect.alive(), 100, 'the collect use to finish')
    output = collect.output()
    assert collect.wait(timeout=10) == 0, output
    assert 'Traceback' not in output and 'died with exit code' not in output, output

    episodes = read_dataset([str(dataset)])
    assert [episode.index for episode in episodes] == [0, 1]
    successes = 0
    for episode in episodes:
        # terminate_on_success is off: every episode runs to the time limit.
        assert episode.length == FPS * CONTROL_TIME_S
        assert episode.truncated[-1] and not episode.truncated[:-1].any()
        assert not episode.terminated.any()
        assert {name: frames.shape for name, frames in episode.images.items()} == {
            name: (episode.length + 1, IMAGE_SIZE, IMAGE_SIZE, 3) for name in CAMERAS}
        successes += episode.success
        if not episode.success:
            assert not episode.rewards.any()
            continue
        success_steps = [step for step, name in episode.events if name == 'success']
        assert len(success_steps) == 1, episode.events
        first_positive = int(np.argmax(episode.rewards > 0))
        # Negative up to the success, positive from it to the end: many extra frames.
        assert first_positive >= 5
        assert list(episode.rewards) == [0.0] * first_positive + [1.0] * (
            episode.length - first_positive)
        assert abs(first_positive - success_steps[0]) <= 1
        assert episode.length - first_positive >= 10
    assert successes >= 1, [episode.events for episode in episodes]


@pytest.fixture(scope='module')
def small_classifier(tmp_path_factory):
    """
    Save a tiny two-camera classifier at the stream's size.

    What it learned (bright frame sets are successes) does not matter here: the test
    is whether the mode runs it live and shows what it says.
    """
    from hilserl_learning.reward_classifier import save_classifier
    directory = tmp_path_factory.mktemp('classifier')
    save_classifier(train_tiny_classifier(CAMERAS, IMAGE_SIZE, samples=16, epochs=20),
                    str(directory))
    return str(directory)


def test_test_use_shows_the_classifier_live_while_the_scripted_human_works(
        processes, probe, small_classifier):
    probability = probe.subscribe(Float32, '/reward_classifier/probability', 100)
    success = probe.subscribe(Bool, '/reward_classifier/success', 100)
    marker = probe.subscribe(Marker, '/reward_classifier/marker', 10)
    tcp = probe.subscribe(PoseStamped, '/tcp_pose', 100)
    events = probe.subscribe(EpisodeEvent, '/episode_events', EVENTS_QOS)
    mode = processes.start_mode('classifier', use='test', model_path=small_classifier,
                                teleop='scripted', fps=FPS)

    # The scripted human runs its own episodes: it starts one, does the task (the arm
    # moves), holds the outcome, resets the arm and starts the next. Events are volatile
    # and the human does not wait for listeners: the probe may match after episode 0
    # started, so it follows the first episode whose start it sees.
    first = events.wait_for(lambda m: m.event == START, 90,
                            'an EPISODE_START from the scripted human')
    index = first.episode_index
    outcome = events.wait_for(
        lambda m: m.event in (SUCCESS, FAILURE) and m.episode_index == index, 40,
        f'the outcome of episode {index}')
    assert outcome.source == 'scripted_human'
    events.wait_for(lambda m: m.event == END and m.episode_index == index, 20,
                    f'EPISODE_END {index}')
    events.wait_for(lambda m: m.event == START and m.episode_index == index + 1, 30,
                    f'EPISODE_START {index + 1} after the reset')
    positions = np.array([[m.pose.position.x, m.pose.position.y, m.pose.position.z]
                          for m in tcp.messages])
    assert np.linalg.norm(positions - positions[0], axis=1).max() > 0.03

    # Probability and decision per frame set, in order: a success needs the saved 0.5 on
    # this set and the one before (success_frames 2; an EPISODE_START counts afresh).
    count = min(len(probability.messages), len(success.messages))
    assert count >= 20, count
    p = [m.data for m in probability.messages[:count]]
    s = [m.data for m in success.messages[:count]]
    assert all(0.0 <= value <= 1.0 for value in p)
    assert not any(s[i] and not (p[i] >= 0.5 and p[i - 1] >= 0.5) for i in range(1, count))
    assert not any(s[i] for i in range(count) if p[i] < 0.5)

    # rviz: the probability as text above the TCP, green on success, red otherwise.
    text = marker.wait_for(lambda m: True, 10, 'the rviz text')
    assert text.type == Marker.TEXT_VIEW_FACING and text.header.frame_id == 'base_link'
    assert re.fullmatch(r'(success )?p=[01]\.\d\d', text.text), text.text
    assert ('success' in text.text) == (text.color.g > text.color.r)
    # Each marker sits above a TCP pose; the probe's two subscriptions may have matched
    # at different moments, so any marker over any received pose will do.
    assert any(np.allclose([m.pose.position.x, m.pose.position.y,
                            m.pose.position.z + TEXT_ABOVE_TCP_M],
                           [t.pose.position.x, t.pose.position.y, t.pose.position.z])
               for m in tcp.messages for t in marker.messages)

    # The terminal: one summary line per second.
    output = wait_for_output(mode, 'sets: p ', 10)
    assert '(threshold 0.500); last ' in output
    assert mode.alive() and 'Traceback' not in output, output


def test_test_use_without_a_model_is_one_clear_line():
    result = subprocess.run([sys.executable, '-m', 'hilserl', 'launch', 'classifier',
                             'use:=test'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        'hilserl launch: error: use:=test needs model_path:=<directory written by '
        '`hilserl classifier train --out`>')
