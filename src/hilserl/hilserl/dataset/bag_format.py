"""
The layout of a recorded dataset, shared by the writer (record mode) and the reader.

A dataset is a directory with one rosbag2 directory (MCAP storage) per kept episode,
``episode_0000``, ``episode_0001``, ...; a rerecorded episode is deleted, so the
numbers of kept episodes may have gaps. Each bag holds, for every control step, one
record on each of these topics, all with the same log time (the control tick), which
is how the reader aligns them:

- ``/episode_step`` (hilserl_interfaces/EpisodeStep): state vector, executed action,
  reward and flags; the last record of an episode has ``final_observation`` set;
- ``/<camera>/image_processed`` or ``/<camera>/image_raw`` (sensor_msgs/Image): the
  camera frame the step observed;
- ``/joint_states``, ``/tcp_pose``, ``/end_effector_command``: what the arm reported
  and what was sent to the safety filter, for people and tools (rviz, ``ros2 bag play``);

plus ``/episode_events`` (hilserl_interfaces/EpisodeEvent) whenever an event happened.
Messages are stored as CDR, exactly as they travel over DDS, so ``ros2 bag info`` and
``ros2 bag play`` read the files, and :func:`typestore` lets ``rosbags`` decode them.
"""

import functools
import glob
import os
import re
from typing import Dict, List

EPISODE_STEP_TOPIC = '/episode_step'
EPISODE_EVENTS_TOPIC = '/episode_events'
JOINT_STATES_TOPIC = '/joint_states'
TCP_POSE_TOPIC = '/tcp_pose'
COMMAND_TOPIC = '/end_effector_command'

IMAGE_KINDS = ('processed', 'raw')

MESSAGE_TYPES: Dict[str, str] = {
    EPISODE_STEP_TOPIC: 'hilserl_interfaces/msg/EpisodeStep',
    EPISODE_EVENTS_TOPIC: 'hilserl_interfaces/msg/EpisodeEvent',
    JOINT_STATES_TOPIC: 'sensor_msgs/msg/JointState',
    TCP_POSE_TOPIC: 'geometry_msgs/msg/PoseStamped',
    COMMAND_TOPIC: 'hilserl_interfaces/msg/EndEffectorCommand',
}
IMAGE_TYPE = 'sensor_msgs/msg/Image'

EPISODE_DIRECTORY = re.compile(r'^episode_(\d{4,})$')


def camera_topic(camera: str, image_kind: str = 'processed') -> str:
    """Return the topic of one camera's frames in a bag, e.g. ``/front/image_processed``."""
    if image_kind not in IMAGE_KINDS:
        raise ValueError(f'image kind must be one of {IMAGE_KINDS}, not {image_kind!r}')
    return f'/{camera}/image_{image_kind}'


def camera_of_topic(topic: str):
    """Return ``(camera, image_kind)`` for a camera topic, or None for any other topic."""
    match = re.fullmatch(r'/([A-Za-z][A-Za-z0-9_]*)/image_(processed|raw)', topic)
    return (match.group(1), match.group(2)) if match else None


def episode_directory(dataset_dir: str, episode_index: int) -> str:
    """Return the bag directory of one episode of a dataset."""
    return os.path.join(dataset_dir, f'episode_{episode_index:04d}')


def episode_directories(dataset_dir: str) -> List[str]:
    """Return the episode bag directories of a dataset, in episode order."""
    found = []
    for path in glob.glob(os.path.join(dataset_dir, 'episode_*')):
        match = EPISODE_DIRECTORY.match(os.path.basename(path))
        if match and os.path.isdir(path):
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def interfaces_message_definitions() -> Dict[str, str]:
    """Return ``{type name: .msg text}`` for hilserl_interfaces, from its installed files."""
    from ament_index_python.packages import get_package_share_directory
    msg_dir = os.path.join(get_package_share_directory('hilserl_interfaces'), 'msg')
    definitions = {}
    for path in sorted(glob.glob(os.path.join(msg_dir, '*.msg'))):
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding='utf-8') as stream:
            definitions[f'hilserl_interfaces/msg/{name}'] = stream.read()
    return definitions


@functools.lru_cache(maxsize=1)
def typestore():
    """Return a rosbags typestore with ROS 2 Kilted's standard types and ours."""
    from rosbags.typesys import get_typestore, get_types_from_msg, Stores
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for name, text in interfaces_message_definitions().items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store
