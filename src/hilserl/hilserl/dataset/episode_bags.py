"""
Write an :class:`~hilserl.dataset.reader.Episode` (arrays) as one recorded episode bag; no ROS.

What record mode writes from live topics, this writes from arrays (an imported dataset):
per step an ``/episode_step`` record and each camera's frame as
``/<camera>/image_processed`` (rgb8), all at the step's log time, then the final
observation's records. Messages are built and serialized with the ``rosbags`` typestore
of :mod:`hilserl.dataset.bag_format`, so the dataset reader (and ``demos:=``) reads the
bags like recorded ones.
"""

from typing import Optional

import numpy as np

from hilserl.dataset import bag_format
from hilserl.dataset.reader import Episode
from hilserl.dataset.writer import EpisodeBagWriter

START_TIME_NS = 1_000_000_000_000_000_000


def _header(store, time_ns: int, frame_id: str = ''):
    sec, nanosec = divmod(int(time_ns), 1_000_000_000)
    return store.types['std_msgs/msg/Header'](
        stamp=store.types['builtin_interfaces/msg/Time'](sec=sec, nanosec=nanosec),
        frame_id=frame_id)


def _image(store, time_ns: int, camera: str, pixels: np.ndarray):
    height, width = pixels.shape[:2]
    return store.types[bag_format.IMAGE_TYPE](
        header=_header(store, time_ns, camera), height=height, width=width, encoding='rgb8',
        is_bigendian=0, step=width * 3,
        data=np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1))


def _step(store, time_ns: int, episode: Episode, row: int):
    final = row == len(episode.actions)
    return store.types[bag_format.MESSAGE_TYPES[bag_format.EPISODE_STEP_TOPIC]](
        header=_header(store, time_ns), episode_index=episode.index, step_index=row,
        state_names=list(episode.state_names),
        state=np.asarray(episode.states[row], dtype=np.float32),
        action=np.asarray([] if final else episode.actions[row], dtype=np.float32),
        reward=0.0 if final else float(episode.rewards[row]),
        terminated=not final and bool(episode.terminated[row]),
        truncated=not final and bool(episode.truncated[row]),
        intervention=not final and bool(episode.interventions[row]),
        final_observation=final)


def write_episode_bag(dataset_dir: str, episode: Episode, fps: float,
                      start_time_ns: Optional[int] = None) -> str:
    """
    Write ``episode`` as ``dataset_dir/episode_<index>`` and return the bag's path.

    Steps are ``1/fps`` apart; frames come from ``episode.images`` in
    ``episode.camera_names`` order. ``episode`` has the attributes of ``Episode``.
    """
    store = bag_format.typestore()
    topics = {bag_format.EPISODE_STEP_TOPIC:
              bag_format.MESSAGE_TYPES[bag_format.EPISODE_STEP_TOPIC]}
    for camera in episode.camera_names:
        topics[bag_format.camera_topic(camera)] = bag_format.IMAGE_TYPE
    if start_time_ns is None:
        start_time_ns = START_TIME_NS + episode.index * 3600 * 1_000_000_000
    period_ns = int(round(1e9 / float(fps)))
    writer = EpisodeBagWriter(dataset_dir, episode.index, topics)
    try:
        for row in range(len(episode.actions) + 1):
            time_ns = start_time_ns + row * period_ns
            records = [(bag_format.EPISODE_STEP_TOPIC, _step(store, time_ns, episode, row))]
            records += [(bag_format.camera_topic(camera),
                         _image(store, time_ns, camera, episode.images[camera][row]))
                        for camera in episode.camera_names]
            for topic, message in records:
                writer.write(topic, time_ns, bytes(store.serialize_cdr(message, topics[topic])))
    except BaseException:
        writer.discard()
        raise
    return writer.close()
