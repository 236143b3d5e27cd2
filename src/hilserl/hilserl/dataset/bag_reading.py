"""
Low-level access to recorded bags with ``rosbags``: open checks, raw records, image decoding.

The dataset reader and the crop tool share these. Every problem is a
:class:`DatasetError` whose message names the file and what is wrong, so the commands
can print it as one line.
"""

from contextlib import contextmanager
import functools
import os
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import yaml

from hilserl.dataset import bag_format
from hilserl.vision.image_decoding import rgb_pixels
from hilserl.vision.image_processing import ImageProcessingError


class DatasetError(Exception):
    """A dataset or bag that cannot be read; the message names the file and the problem."""


def check_bag_directory(bag_dir: str, require_mcap: bool = True) -> dict:
    """Return the ``rosbag2_bagfile_information`` of ``bag_dir`` after basic checks."""
    if not os.path.exists(bag_dir):
        raise DatasetError(f'{bag_dir} does not exist')
    if not os.path.isdir(bag_dir):
        raise DatasetError(f'{bag_dir} is not a bag: a rosbag2 bag is a directory')
    metadata_path = os.path.join(bag_dir, 'metadata.yaml')
    if not os.path.isfile(metadata_path):
        raise DatasetError(f'{bag_dir} is not a bag: it has no metadata.yaml')
    try:
        with open(metadata_path, encoding='utf-8') as stream:
            information = yaml.safe_load(stream)['rosbag2_bagfile_information']
        storage = information['storage_identifier']
        int(information['message_count'])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise DatasetError(f'{metadata_path} is not rosbag2 metadata: {error}') from None
    if require_mcap and storage != 'mcap':
        raise DatasetError(f"{bag_dir} uses '{storage}' storage; datasets are MCAP bags "
                           "(convert with `ros2 bag convert`)")
    return information


def _storage_files(bag_dir: str, information: dict) -> str:
    files = information.get('relative_file_paths') or []
    return ', '.join(os.path.join(bag_dir, name) for name in files) or bag_dir


@contextmanager
def bag_messages(bag_dir: str, require_mcap: bool = True) -> Iterator[Tuple[set, Iterator]]:
    """
    Open a bag and yield ``(topics, records)``; records are ``(topic, log time, raw CDR)``.

    After the records are exhausted, their number is compared with the count in
    metadata.yaml, so a storage file cut short is reported even when its index survived.
    """
    from rosbags.rosbag2 import Reader, ReaderError
    information = check_bag_directory(bag_dir, require_mcap)
    files = _storage_files(bag_dir, information)
    expected = int(information['message_count'])
    try:
        reader = Reader(bag_dir)
        reader.open()
    except (ReaderError, OSError, ValueError, KeyError) as error:
        raise DatasetError(f'{files}: cannot open the bag ({error}); '
                           'the file may be cut short or damaged') from None

    def records():
        count = 0
        try:
            for connection, time_ns, raw in reader.messages():
                count += 1
                yield connection.topic, time_ns, raw
        except (ReaderError, OSError, ValueError, KeyError, EOFError) as error:
            raise DatasetError(f'{files}: cannot read message {count + 1} ({error}); '
                               'the file may be cut short or damaged') from None
        if count != expected:
            raise DatasetError(f'{files}: metadata.yaml counts {expected} messages but the '
                               f'file holds {count}; it was cut short or changed')

    try:
        yield {connection.topic for connection in reader.connections}, records()
    finally:
        reader.close()


def deserialize(raw: bytes, msgtype: str, where: str):
    """Decode one CDR record with the dataset typestore; ``where`` names it in errors."""
    try:
        return bag_format.typestore().deserialize_cdr(raw, msgtype)
    except Exception as error:  # rosbags raises assorted errors for malformed CDR
        raise DatasetError(f'{where}: cannot decode {msgtype}: {error}') from None


def image_to_rgb(message, where: str) -> np.ndarray:
    """
    Return a decoded sensor_msgs/Image as RGB uint8 ``[H, W, 3]`` (a contiguous array).

    The pixel layout rules (encodings, row padding, sizes) are those of
    :func:`hilserl.vision.image_decoding.rgb_pixels`; ``where`` names the frame in errors.
    """
    try:
        return np.ascontiguousarray(rgb_pixels(message))
    except ImageProcessingError as error:
        raise DatasetError(f'{where}: {error}') from None


def camera_topics(topics, image_kind: Optional[str], where: str) -> Tuple[str, Dict[str, str]]:
    """
    Choose the image kind and return ``(kind, {camera: topic})`` of a bag's topics.

    ``image_kind`` None takes processed frames when the bag has any, else raw frames.
    """
    by_kind: Dict[str, Dict[str, str]] = {kind: {} for kind in bag_format.IMAGE_KINDS}
    for topic in topics:
        found = bag_format.camera_of_topic(topic)
        if found:
            by_kind[found[1]][found[0]] = topic
    if image_kind is None:
        image_kind = 'processed' if by_kind['processed'] or not by_kind['raw'] else 'raw'
    elif image_kind not in bag_format.IMAGE_KINDS:
        raise DatasetError(f"image kind must be one of {', '.join(bag_format.IMAGE_KINDS)}, "
                           f'not {image_kind!r}')
    elif not by_kind[image_kind] and any(by_kind.values()):
        present = sorted(t for kind in by_kind.values() for t in kind.values())
        raise DatasetError(f'{where} has no image_{image_kind} frames '
                           f"(camera topics: {', '.join(present)})")
    return image_kind, dict(sorted(by_kind[image_kind].items()))


@functools.lru_cache(maxsize=1)
def event_names() -> Dict[int, str]:
    """Return ``{code: name}`` of hilserl_interfaces/EpisodeEvent, e.g. ``1: 'success'``."""
    constants, _ = bag_format.typestore().fielddefs[
        bag_format.MESSAGE_TYPES[bag_format.EPISODE_EVENTS_TOPIC]]
    return {value: name.lower() for name, _, value in constants}


def first_frames(bag_dir: str, image_kind: Optional[str] = None,
                 require_mcap: bool = False) -> Tuple[str, Dict[str, np.ndarray]]:
    """
    Return ``(kind, {camera: first RGB frame})`` of any bag with camera topics.

    Unlike the episode reader this needs no /episode_step topic, so a plain
    ``ros2 bag record /front/image_raw`` bag works too.
    """
    frames: Dict[str, np.ndarray] = {}
    with bag_messages(bag_dir, require_mcap) as (topics, records):
        image_kind, cameras = camera_topics(topics, image_kind, bag_dir)
        if not cameras:
            raise DatasetError(f'{bag_dir} has no camera topics (/<camera>/image_raw or '
                               '/<camera>/image_processed)')
        wanted = {topic: camera for camera, topic in cameras.items()}
        for topic, _, raw in records:
            camera = wanted.pop(topic, None)
            if camera is not None:
                message = deserialize(raw, bag_format.IMAGE_TYPE, f'{bag_dir} {topic}')
                frames[camera] = image_to_rgb(message, f'{bag_dir} {topic}')
            if not wanted:
                break
    return image_kind, {camera: frames[camera] for camera in cameras if camera in frames}


def list_events(step_times: List[int], events: List[Tuple[int, int]]) -> List[Tuple[int, str]]:
    """Return ``(step index, name)`` per event: the last step logged at or before it."""
    import bisect
    names = event_names()
    return [(max(bisect.bisect_right(step_times, time_ns) - 1, 0),
             names.get(code, f'event_{code}')) for time_ns, code in sorted(events)]
