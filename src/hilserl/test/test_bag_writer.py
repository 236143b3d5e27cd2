"""The episode bag writer: layout, kept and discarded bags, exact CDR."""

import os

from hilserl.dataset import bag_format
from hilserl.dataset.writer import EpisodeBagWriter, exact_cdr, next_episode_index
from hilserl_interfaces.msg import EpisodeEvent, EpisodeStep
import pytest
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import Reader
from sensor_msgs.msg import Image, JointState

TYPES = {bag_format.EPISODE_STEP_TOPIC: 'hilserl_interfaces/msg/EpisodeStep',
         bag_format.JOINT_STATES_TOPIC: 'sensor_msgs/msg/JointState'}


def read_bag(path):
    """Return ``[(topic, log time, message)]`` of a bag, decoded with rosbags."""
    store = bag_format.typestore()
    with Reader(path) as reader:
        return [(connection.topic, time, store.deserialize_cdr(raw, connection.msgtype))
                for connection, time, raw in reader.messages()]


def test_a_closed_episode_is_a_bag_that_rosbags_reads_back(tmp_path):
    writer = EpisodeBagWriter(str(tmp_path), 3, TYPES)
    writer.add_topic('/front/image_processed', bag_format.IMAGE_TYPE)
    joints = JointState(name=['a', 'bb', 'ccc'], position=[0.1, 0.2, 0.3],
                        velocity=[1.0, 2.0, 3.0])
    for step in range(2):
        time_ns = 1_000_000_000 + step * 100_000_000
        writer.write(bag_format.EPISODE_STEP_TOPIC, time_ns, serialize_message(
            EpisodeStep(episode_index=3, step_index=step, state=[0.5, step], reward=1.0)))
        writer.write(bag_format.JOINT_STATES_TOPIC, time_ns, serialize_message(joints))
        writer.write('/front/image_processed', time_ns, serialize_message(
            Image(height=1, width=2, encoding='rgb8', step=6, data=bytes(range(6)))))
    path = writer.close()
    assert path == os.path.join(str(tmp_path), 'episode_0003')
    assert bag_format.episode_directories(str(tmp_path)) == [path]
    records = read_bag(path)
    assert [(topic, time) for topic, time, _ in records[:3]] == [
        ('/episode_step', 1_000_000_000), ('/joint_states', 1_000_000_000),
        ('/front/image_processed', 1_000_000_000)]
    steps = [msg for topic, _, msg in records if topic == '/episode_step']
    assert [(s.episode_index, s.step_index, list(s.state)) for s in steps] == [
        (3, 0, [0.5, 0.0]), (3, 1, [0.5, 1.0])]
    decoded = records[1][2]
    assert decoded.name == ['a', 'bb', 'ccc'] and list(decoded.velocity) == [1.0, 2.0, 3.0]
    assert bytes(records[2][2].data) == bytes(range(6))


def test_a_discarded_episode_leaves_nothing(tmp_path):
    writer = EpisodeBagWriter(str(tmp_path), 0, TYPES)
    writer.write(bag_format.EPISODE_STEP_TOPIC, 1, serialize_message(EpisodeStep()))
    writer.discard()
    assert not os.path.exists(writer.path)
    again = EpisodeBagWriter(str(tmp_path), 0, TYPES)  # the same index, recorded again
    again.close()
    assert bag_format.episode_directories(str(tmp_path)) == [again.path]


def test_an_existing_episode_is_never_overwritten(tmp_path):
    EpisodeBagWriter(str(tmp_path), 1, TYPES).close()
    with pytest.raises(FileExistsError):
        EpisodeBagWriter(str(tmp_path), 1, TYPES)


def test_writes_to_unknown_topics_or_closed_bags_are_errors(tmp_path):
    writer = EpisodeBagWriter(str(tmp_path), 0, TYPES)
    with pytest.raises(KeyError):
        writer.write('/elsewhere', 1, serialize_message(EpisodeEvent()))
    with pytest.raises(ValueError):
        writer.add_topic(bag_format.JOINT_STATES_TOPIC, 'std_msgs/msg/String')
    writer.close()
    with pytest.raises(RuntimeError):
        writer.write(bag_format.EPISODE_STEP_TOPIC, 1, serialize_message(EpisodeStep()))


def test_exact_cdr_drops_the_slack_rclpy_leaves_after_a_message():
    raw = serialize_message(JointState(name=['a'], position=[1.0]))
    exact = exact_cdr('sensor_msgs/msg/JointState', raw)
    assert raw.startswith(exact) and len(exact) <= len(raw)
    decoded = bag_format.typestore().deserialize_cdr(exact, 'sensor_msgs/msg/JointState')
    assert decoded.name == ['a']
    with pytest.raises(ValueError):
        exact_cdr('sensor_msgs/msg/JointState', b'\x07\x07\x00\x00')


def test_the_next_episode_index_follows_the_last_one_kept(tmp_path):
    assert next_episode_index(str(tmp_path / 'missing')) == 0
    for index in (0, 1, 4):
        EpisodeBagWriter(str(tmp_path), index, TYPES).close()
    (tmp_path / 'episode_notes').mkdir()
    assert next_episode_index(str(tmp_path)) == 5
