"""
Write small synthetic datasets in the recorded layout (see ``hilserl.dataset.bag_format``).

Tests of the dataset reader, the recorder, the crop tool and the reward classifier need
bags whose content they know. :func:`synthetic_episode` makes the expected arrays,
:func:`episode_records` turns them into the records a recorder would write (ROS message
objects with their log times; a test may drop or change some to build a broken bag), and
:func:`write_bag` writes records as an MCAP rosbag2 directory with ``rosbags``, serializing
each message with rclpy exactly as it travels over DDS.
"""

from dataclasses import dataclass, field
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from hilserl.dataset import bag_format

START_TIME_NS = 1_700_000_000_000_000_000
STEP_PERIOD_NS = 100_000_000   # a 10 Hz control tick
DEFAULT_STATE_NAMES = ('tcp_x', 'tcp_y', 'tcp_z', 'gripper_position')


@dataclass
class SyntheticEpisode:
    """What a reader must return for one synthetic episode (images as RGB)."""

    episode_index: int
    camera_names: List[str]
    state_names: List[str]
    states: np.ndarray          # float32 [T+1, S]
    actions: np.ndarray         # float32 [T, 4]: xyz, then the gripper command
    rewards: np.ndarray         # float32 [T]
    terminated: np.ndarray      # bool [T]
    truncated: np.ndarray       # bool [T]
    interventions: np.ndarray   # bool [T]
    images: Dict[str, np.ndarray]      # camera -> uint8 [T+1, H, W, 3], processed frames
    raw_images: Dict[str, np.ndarray] = field(default_factory=dict)  # same, raw frames
    events: List[Tuple[int, str]] = field(default_factory=list)      # (step, event name)

    @property
    def length(self) -> int:
        """Return the number of steps T."""
        return len(self.actions)


@dataclass
class BagRecord:
    """One message of a bag: log time, topic, type name and the rclpy message object."""

    time_ns: int
    topic: str
    msgtype: str
    message: Any


def frame_pixels(episode: int, step: int, camera: int, size: Tuple[int, int]) -> np.ndarray:
    """Return a deterministic RGB frame whose three channels differ (a BGR swap shows)."""
    rows, cols = np.indices(size)
    base = (episode * 37 + step * 11 + camera * 5 + rows * 3 + cols) % 256
    return np.stack([base, (base + 80) % 256, (base + 160) % 256], axis=-1).astype(np.uint8)


def synthetic_episode(episode_index: int = 0, steps: int = 5,
                      cameras: Sequence[str] = ('front', 'wrist'),
                      image_size: Tuple[int, int] = (8, 8),
                      raw_size: Optional[Tuple[int, int]] = None,
                      success: bool = True, interventions: Iterable[int] = (1, 2),
                      state_names: Sequence[str] = DEFAULT_STATE_NAMES,
                      mono: bool = False) -> SyntheticEpisode:
    """
    Make the arrays of one episode of ``steps`` steps.

    A successful episode ends with reward 1 and ``terminated``; otherwise the time limit
    truncates it. The gripper command is OPEN at step 0 (already open: no toggle), CLOSE
    at step ``steps // 2`` (a toggle) and STAY elsewhere. With ``mono`` every frame is
    grey (the channels equal), as a mono8 image reads back.
    """
    rng = np.random.default_rng(episode_index)
    states = rng.uniform(-1, 1, (steps + 1, len(state_names))).astype(np.float32)
    actions = np.zeros((steps, 4), dtype=np.float32)
    actions[:, :3] = rng.uniform(-1, 1, (steps, 3))
    actions[0, 3] = 1.0
    actions[steps // 2, 3] = -1.0
    rewards = np.zeros(steps, dtype=np.float32)
    terminated = np.zeros(steps, dtype=bool)
    truncated = np.zeros(steps, dtype=bool)
    if success:
        rewards[-1] = 1.0
        terminated[-1] = True
    else:
        truncated[-1] = True
    intervention_flags = np.zeros(steps, dtype=bool)
    intervention_flags[[i for i in interventions if i < steps]] = True

    def frames(size):
        images = {}
        for index, camera in enumerate(cameras):
            stacked = np.stack([frame_pixels(episode_index, step, index, size)
                                for step in range(steps + 1)])
            images[camera] = np.repeat(stacked[..., :1], 3, axis=-1) if mono else stacked
        return images

    events = [(0, 'episode_start')] + ([(steps - 1, 'success')] if success else [])
    events.append((steps, 'episode_end'))
    return SyntheticEpisode(
        episode_index, list(cameras), list(state_names), states, actions, rewards,
        terminated, truncated, intervention_flags, frames(image_size),
        frames(raw_size) if raw_size else {}, events)


def _image_message(pixels: np.ndarray, encoding: str, stamp_ns: int, frame_id: str):
    from hilserl.ros.image_conversion import array_to_image
    if encoding == 'bgr8':
        pixels = pixels[..., ::-1]
    elif encoding == 'mono8':
        pixels = pixels[..., :1]
    message = array_to_image(np.ascontiguousarray(pixels), encoding)
    _stamp(message.header, stamp_ns, frame_id)
    return message


def _stamp(header, stamp_ns: int, frame_id: str = '') -> None:
    header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    header.frame_id = frame_id


def episode_records(episode: SyntheticEpisode, encoding: str = 'rgb8',
                    start_time_ns: Optional[int] = None,
                    arm_topics: bool = True) -> List[BagRecord]:
    """Return the records a recorder writes for ``episode``, in log-time order."""
    from geometry_msgs.msg import PoseStamped
    from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent, EpisodeStep
    from sensor_msgs.msg import JointState

    if start_time_ns is None:
        start_time_ns = START_TIME_NS + episode.episode_index * 1000 * STEP_PERIOD_NS
    records = []
    for step in range(episode.length + 1):
        time_ns = start_time_ns + step * STEP_PERIOD_NS
        final = step == episode.length
        message = EpisodeStep()
        _stamp(message.header, time_ns)
        message.episode_index = episode.episode_index
        message.step_index = step
        message.state_names = list(episode.state_names)
        message.state = episode.states[step].tolist()
        message.final_observation = final
        if not final:
            message.action = episode.actions[step].tolist()
            message.reward = float(episode.rewards[step])
            message.terminated = bool(episode.terminated[step])
            message.truncated = bool(episode.truncated[step])
            message.intervention = bool(episode.interventions[step])
        records.append(BagRecord(time_ns, bag_format.EPISODE_STEP_TOPIC,
                                 bag_format.MESSAGE_TYPES[bag_format.EPISODE_STEP_TOPIC],
                                 message))
        for kind, images in (('processed', episode.images), ('raw', episode.raw_images)):
            for camera, frames in images.items():
                records.append(BagRecord(
                    time_ns, bag_format.camera_topic(camera, kind), bag_format.IMAGE_TYPE,
                    _image_message(frames[step], encoding, time_ns, camera)))
        if arm_topics:
            joints = JointState()
            _stamp(joints.header, time_ns)
            joints.name = ['shoulder', 'elbow', 'gripper']
            joints.position = [0.1 * step, -0.1 * step, 0.0]
            pose = PoseStamped()
            _stamp(pose.header, time_ns, 'base')
            pose.pose.position.x = float(episode.states[step][0])
            records += [BagRecord(time_ns, topic, bag_format.MESSAGE_TYPES[topic], message)
                        for topic, message in ((bag_format.JOINT_STATES_TOPIC, joints),
                                               (bag_format.TCP_POSE_TOPIC, pose))]
            if not final:
                command = EndEffectorCommand()
                _stamp(command.header, time_ns)
                command.delta_xyz = episode.actions[step][:3].tolist()
                command.gripper = int(round(float(episode.actions[step][3]))) + 1
                command.source = (EndEffectorCommand.SOURCE_HUMAN
                                  if episode.interventions[step]
                                  else EndEffectorCommand.SOURCE_POLICY)
                records.append(BagRecord(
                    time_ns, bag_format.COMMAND_TOPIC,
                    bag_format.MESSAGE_TYPES[bag_format.COMMAND_TOPIC], command))
    for step, name in episode.events:
        event = EpisodeEvent()
        time_ns = start_time_ns + step * STEP_PERIOD_NS
        _stamp(event.header, time_ns)
        event.event = getattr(EpisodeEvent, name.upper())
        event.source = 'scripted_human'
        event.episode_index = episode.episode_index
        records.append(BagRecord(time_ns, bag_format.EPISODE_EVENTS_TOPIC,
                                 bag_format.MESSAGE_TYPES[bag_format.EPISODE_EVENTS_TOPIC],
                                 event))
    records.sort(key=lambda record: record.time_ns)
    return records


def write_bag(bag_dir: str, records: Iterable[BagRecord], storage: str = 'mcap') -> str:
    """Write ``records`` as a rosbag2 directory (``mcap`` or ``sqlite3`` storage)."""
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer

    from hilserl.dataset.writer import exact_cdr

    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    connections = {}
    with Writer(bag_dir, version=9, storage_plugin=plugin) as writer:
        for record in records:
            if record.topic not in connections:
                connections[record.topic] = writer.add_connection(
                    record.topic, record.msgtype, typestore=bag_format.typestore())
            writer.write(connections[record.topic], record.time_ns,
                         exact_cdr(record.msgtype, serialize_message(record.message)))
    return bag_dir


def write_episode(bag_dir: str, episode: SyntheticEpisode, encoding: str = 'rgb8',
                  storage: str = 'mcap') -> SyntheticEpisode:
    """Write one synthetic episode as a bag directory and return it."""
    write_bag(bag_dir, episode_records(episode, encoding), storage)
    return episode


def write_dataset(dataset_dir: str, num_episodes: int = 2, steps: int = 5,
                  successes: Optional[Sequence[bool]] = None, encoding: str = 'rgb8',
                  **episode_options) -> List[SyntheticEpisode]:
    """
    Write ``num_episodes`` episodes as ``dataset_dir/episode_NNNN`` and return them.

    By default even-numbered episodes succeed and odd ones are truncated;
    ``episode_options`` go to :func:`synthetic_episode`.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    if successes is None:
        successes = [index % 2 == 0 for index in range(num_episodes)]
    episodes = []
    for index in range(num_episodes):
        episode = synthetic_episode(index, steps, success=successes[index], **episode_options)
        write_episode(bag_format.episode_directory(dataset_dir, index), episode, encoding)
        episodes.append(episode)
    return episodes
