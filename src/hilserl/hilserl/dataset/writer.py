"""
Write one episode as one rosbag2 (MCAP) directory, in the layout of :mod:`bag_format`; no ROS.

Messages come already serialized (CDR, as ``rclpy.serialization.serialize_message``
gives them), so what is stored is exactly what travelled over DDS. Each episode is its
own bag, closed when the episode ends: a crash loses at most the episode under way.
"""

import os
import shutil
from typing import Dict, Optional

from hilserl.dataset import bag_format


class EpisodeBagWriter:
    """The bag of one episode; :meth:`close` keeps it, :meth:`discard` deletes it."""

    def __init__(self, dataset_dir: str, episode_index: int,
                 message_types: Optional[Dict[str, str]] = None):
        """
        Create ``episode_<index>`` under ``dataset_dir`` (which is created if needed).

        ``message_types`` maps topics to type names (``pkg/msg/Type``); more topics can be
        added with :meth:`add_topic`. An existing episode directory is an error: a
        dataset is never overwritten.
        """
        from rosbags.rosbag2 import StoragePlugin, Writer
        self.path = bag_format.episode_directory(dataset_dir, episode_index)
        self.episode_index = episode_index
        if os.path.exists(self.path):
            raise FileExistsError(f'{self.path} exists already; not overwriting it')
        os.makedirs(dataset_dir, exist_ok=True)
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections = {}
        self.messages = 0
        self._open = True
        for topic, msgtype in (message_types or {}).items():
            self.add_topic(topic, msgtype)

    def add_topic(self, topic: str, msgtype: str) -> None:
        """Declare ``topic`` with its message type (idempotent for the same type)."""
        known = self._connections.get(topic)
        if known is not None:
            if known.msgtype != msgtype:
                raise ValueError(f'{topic} is {known.msgtype} already, not {msgtype}')
            return
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=bag_format.typestore())

    def write(self, topic: str, time_ns: int, cdr: bytes) -> None:
        """Store one serialized message on ``topic`` with log time ``time_ns``."""
        if not self._open:
            raise RuntimeError(f'{self.path} is closed')
        if topic not in self._connections:
            raise KeyError(f'{topic} was not added to {self.path}')
        connection = self._connections[topic]
        self._writer.write(connection, int(time_ns), exact_cdr(connection.msgtype, cdr))
        self.messages += 1

    def close(self) -> str:
        """Finish the bag (metadata and MCAP index) and keep it; return its path."""
        if self._open:
            self._open = False
            self._writer.close()
        return self.path

    def discard(self) -> None:
        """Close the bag and delete its directory (the episode is recorded again)."""
        if self._open:
            self._open = False
            try:
                self._writer.close()
            except Exception:  # the files are deleted next anyway
                pass
        shutil.rmtree(self.path, ignore_errors=True)


def exact_cdr(msgtype: str, cdr: bytes) -> bytes:
    """
    Return ``cdr`` cut to the exact length of the message it holds.

    rclpy's ``serialize_message`` may leave up to 8 bytes of alignment slack after the
    message; rosbags (and so the dataset reader) refuses more than 3. Parsing the
    message once finds where it ends.
    """
    store = bag_format.typestore()
    msgdef = store.get_msgdef(msgtype)
    if len(cdr) < 4 or bytes(cdr[:2]) not in (b'\x00\x00', b'\x00\x01'):
        raise ValueError(f'not a CDR-encoded {msgtype}')
    parse = msgdef.deserialize_cdr_le if cdr[1] else msgdef.deserialize_cdr_be
    _, end = parse(memoryview(cdr)[4:], 0, msgdef.cls, store)
    return bytes(cdr[:4 + end])


def next_episode_index(dataset_dir: str) -> int:
    """Return the index after the last episode already in ``dataset_dir`` (0 if none)."""
    indices = [int(bag_format.EPISODE_DIRECTORY.match(os.path.basename(path)).group(1))
               for path in bag_format.episode_directories(dataset_dir)]
    return max(indices) + 1 if indices else 0
