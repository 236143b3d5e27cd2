"""
Record mode end to end in simulation: the scripted human drives, the recorder keeps bags.

The bags are read back with rosbags directly (not through the dataset reader), as any
tool would read them.
"""

import dataclasses
import os
from collections import defaultdict

from hilserl.actor.observation_state import OBJECT_POSITION_NAMES
from hilserl.dataset import bag_format
from hilserl.launching.modes import MODES
from hilserl_interfaces.msg import EpisodeEvent
import numpy as np
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import Reader

EXTRA_POSITIVE_STEPS = 2  # number_of_steps_after_success in config/record.yaml
FPS = 10
CONTROL_TIME_S = 15
CAMERAS = ('front', 'wrist')
START, SUCCESS, FAILURE, RERECORD, END = (EpisodeEvent.EPISODE_START, EpisodeEvent.SUCCESS,
                                          EpisodeEvent.FAILURE, EpisodeEvent.RERECORD,
                                          EpisodeEvent.EPISODE_END)


def read_episode(path):
    """Return ``{topic: [(log time, message)]}`` of one episode bag."""
    store = bag_format.typestore()
    records = defaultdict(list)
    with Reader(path) as reader:
        for connection, time_ns, raw in reader.messages():
            records[connection.topic].append(
                (time_ns, store.deserialize_cdr(raw, connection.msgtype)))
    return records


def stamp(msg):
    """Return a header stamp in nanoseconds."""
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def check_episode(path, index):
    """Assert the layout and labels of one kept episode; return how it ended."""
    records = read_episode(path)
    steps = records['/episode_step']
    times = [time for time, _ in steps]
    assert times == sorted(set(times)), 'one step record per tick, in order'
    # Every step's frames, joints and TCP share its log time; the command all but the last.
    for camera in CAMERAS:
        frames = records[f'/{camera}/image_processed']
        assert [time for time, _ in frames] == times
        assert all(stamp(frame) <= time for time, frame in frames)  # observed before the tick
        assert {(f.height, f.width, f.encoding) for _, f in frames} == {(128, 128, 'rgb8')}
    assert [time for time, _ in records['/joint_states']] == times
    assert [time for time, _ in records['/tcp_pose']] == times
    assert [time for time, _ in records['/end_effector_command']] == times[:-1]

    messages = [msg for _, msg in steps]
    assert all(msg.episode_index == index and stamp(msg) == time for time, msg in steps)
    assert [msg.step_index for msg in messages] == list(range(len(messages)))
    assert [msg.final_observation for msg in messages] == [False] * (len(messages) - 1) + [True]
    body = messages[:-1]
    assert all(len(m.state) == len(m.state_names) == 19 and len(m.action) == 4 for m in body)
    assert all(list(m.state_names[-6:]) == list(OBJECT_POSITION_NAMES) for m in body)
    assert all(np.all(np.abs(m.action) <= 1) and m.action[3] in (-1, 0, 1) for m in body)
    assert all(m.intervention for m in body)  # the human drives every step
    assert not any(m.truncated for m in body[:-1]) and not any(m.terminated for m in body[:-1])

    events = [(time, msg.event) for time, msg in records['/episode_events']]
    assert events[0] == (times[0], START) and events[-1] == (times[-1], END)
    outcomes = [(time, event) for time, event in events[1:-1] if event != START]
    assert RERECORD not in [event for _, event in outcomes]
    rewards = [m.reward for m in body]
    if outcomes and outcomes[0][1] == SUCCESS:
        # The step the success was reported after is the first positive one.
        first_positive = max(i for i, time in enumerate(times) if time < outcomes[0][0])
        assert rewards == [0.0] * first_positive + [1.0] * (EXTRA_POSITIVE_STEPS + 1)
        assert body[-1].terminated and not body[-1].truncated
        return 'success'
    assert rewards == [0.0] * len(body)
    if outcomes:
        assert outcomes[0][1] == FAILURE and body[-1].terminated
        return 'failure'
    assert body[-1].truncated and len(body) == FPS * CONTROL_TIME_S
    return 'time limit'


def test_record_mode_keeps_labelled_episodes_and_records_a_rerecorded_one_again(
        processes, probe, tmp_path):
    dataset = tmp_path / 'dataset'
    events = probe.subscribe(EpisodeEvent, '/episode_events',
                             QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    record = processes.start_mode('record', robot='so101', task='pick_lift', teleop='scripted',
                                  num_episodes=10, dataset_dir=dataset, fps=FPS,
                                  control_time_s=CONTROL_TIME_S, rerecord_episodes='4')
    probe.spin_until(lambda: not record.alive(), 170, 'record mode to finish')
    output = record.output()
    assert record.wait(timeout=10) == 0, output
    assert '/episode_recorder exited; shutting down' in output, output
    assert 'died with exit code' not in output and 'Traceback' not in output, output

    paths = bag_format.episode_directories(str(dataset))
    assert [os.path.basename(path) for path in paths] == [f'episode_{i:04d}' for i in range(10)]
    outcomes = [check_episode(path, index) for index, path in enumerate(paths)]
    assert outcomes.count('success') >= 8, outcomes

    # Episode 4 was started twice: the first attempt was rerecorded and is gone.
    seen = [(msg.event, msg.episode_index) for msg in events.messages]
    assert seen.count((START, 4)) == 2 and seen.count((RERECORD, 4)) == 1
    assert seen.count((RERECORD, 4)) == len([e for e, _ in seen if e == RERECORD])
    # Episode 0's start can go out before this probe's reader is matched; from the first
    # reset on, every start is seen: episodes 1-9, and 4 twice.
    assert len([e for e, index in seen if e == START and index >= 1]) == 10
    assert 'episode #0004 discarded; recording it again' in output


def test_the_recorder_sends_the_arm_to_its_fixed_reset_pose(processes, probe, tmp_path):
    """fixed_reset_joint_positions reaches the simulated arm's home at each reset."""
    pose = [0.3, -0.275, 0.15, 1.55, 0.0, 1.0]
    nodes = MODES['record'].nodes({'num_episodes': '1', 'dataset_dir': str(tmp_path),
                                   'control_time_s': '1'})
    for spec in nodes:
        if spec.executable == 'episode_recorder':
            spec = dataclasses.replace(spec, parameters={
                **spec.parameters, 'fixed_reset_joint_positions': pose})
            recorder = processes.start_node(spec)
        else:
            processes.start_node(spec)
    probe.spin_until(lambda: not recorder.alive(), 90, 'the recorder to finish')
    assert recorder.wait(timeout=10) == 0, recorder.output()
    (path,) = bag_format.episode_directories(str(tmp_path))
    first_joints = read_episode(path)['/joint_states'][0][1]
    positions = dict(zip(first_joints.name, first_joints.position))
    assert abs(positions['shoulder_pan'] - 0.3) < 0.05, positions
    assert 'cannot set fixed_reset_joint_positions' not in recorder.output()
