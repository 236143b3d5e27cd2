"""
Actor-to-learner delivery of transitions: nothing lost, nothing stored twice.

DDS alone cannot promise this across a learner crash: a reliable writer forgets what
a dead reader never acknowledged, and a restarted learner has lost whatever sat in
memory. So delivery is acknowledged end to end, the way a log-shipping protocol does:

- the actor numbers its transitions (``sequence`` 0, 1, 2, ... per stream: its actor id
  and a random session drawn when the process starts, so that a restarted actor's
  stream is new rather than taken for a repeat of the old one) and keeps
  each one in an :class:`OutboundQueue` (bounded memory, spilling to disk) until the
  learner's receipt covers it;
- the learner appends every new transition to a :class:`TransitionLog` (its
  write-ahead log) before it acknowledges it, and uses a :class:`SequenceTracker` to
  drop duplicates and to detect gaps;
- a restarted learner loads its checkpoint, replays the log written since, and
  announces per actor the next sequence it expects; the actor resends from there.

Payloads are opaque bytes (a serialized ``Transition`` message): nothing here imports
ROS, and nothing is ever unpickled.
"""

import collections
import os
import struct
import threading
import zlib
from typing import Deque, Dict, Iterator, List, Optional, Tuple

# A stream is one actor process: its actor id, and its session unless it gave none.
STREAM_SEPARATOR = '#'


def stream_id(actor_id: str, actor_session: str) -> str:
    """Return the key of an actor process's stream of transitions."""
    return f'{actor_id}{STREAM_SEPARATOR}{actor_session}' if actor_session else actor_id


def stream_owner(stream: str) -> Tuple[str, str]:
    """Return ``(actor_id, actor_session)`` of a key made by :func:`stream_id`."""
    actor_id, _, actor_session = stream.partition(STREAM_SEPARATOR)
    return actor_id, actor_session


# ---------------------------------------------------------------------------------------
# Actor side


class OutboundQueue:
    """
    Transitions sent but not yet acknowledged, oldest first.

    Up to ``max_memory_bytes`` of payloads stay in memory; beyond that the oldest are
    moved to append-only spill files in ``spill_dir``, read back only to resend them,
    and deleted once every entry in them is acknowledged. Thread-safe.
    """

    def __init__(self, max_memory_bytes: int, spill_dir: Optional[str] = None,
                 spill_file_bytes: int = 64 << 20):
        """Keep up to `max_memory_bytes` in memory, the rest under `spill_dir`."""
        self.max_memory_bytes = int(max_memory_bytes)
        self.spill_dir = spill_dir
        self.spill_file_bytes = int(spill_file_bytes)
        self._memory: Deque[Tuple[int, bytes]] = collections.deque()
        self._memory_bytes = 0
        # Spilled entries: sequence -> (file path, offset, length), in sequence order.
        self._spilled: Dict[int, Tuple[str, int, int]] = collections.OrderedDict()
        self._spill_path: Optional[str] = None
        self._spill_size = 0
        self._file_entries: Dict[str, int] = {}
        self._next_file = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Return the number of unacknowledged transitions."""
        with self._lock:
            return len(self._memory) + len(self._spilled)

    @property
    def memory_bytes(self) -> int:
        """Return the bytes of payload held in memory."""
        return self._memory_bytes

    @property
    def spilled(self) -> int:
        """Return how many unacknowledged transitions live on disk."""
        return len(self._spilled)

    def append(self, sequence: int, payload: bytes) -> None:
        """Hold `payload` (sequence numbers must increase) until acknowledged."""
        with self._lock:
            self._memory.append((sequence, bytes(payload)))
            self._memory_bytes += len(payload)
            while self._memory_bytes > self.max_memory_bytes and len(self._memory) > 1:
                if self.spill_dir is None:
                    raise OverflowError(
                        f'{len(self._memory)} unacknowledged transitions exceed '
                        f'{self.max_memory_bytes} bytes and no spill directory is set')
                self._spill(*self._memory.popleft())

    def _spill(self, sequence: int, payload: bytes) -> None:
        self._memory_bytes -= len(payload)
        if self._spill_path is None or self._spill_size >= self.spill_file_bytes:
            os.makedirs(self.spill_dir, exist_ok=True)
            self._spill_path = os.path.join(self.spill_dir, f'spill_{self._next_file:06d}.bin')
            self._next_file += 1
            self._spill_size = 0
            self._file_entries[self._spill_path] = 0
        with open(self._spill_path, 'ab') as stream:
            stream.write(payload)
        self._spilled[sequence] = (self._spill_path, self._spill_size, len(payload))
        self._spill_size += len(payload)
        self._file_entries[self._spill_path] += 1

    def acknowledge(self, next_sequence: int) -> int:
        """Forget every transition below `next_sequence`; return how many were dropped."""
        dropped = 0
        with self._lock:
            while self._spilled:
                sequence = next(iter(self._spilled))
                if sequence >= next_sequence:
                    break
                path, _, _ = self._spilled.pop(sequence)
                dropped += 1
                self._file_entries[path] -= 1
                if self._file_entries[path] == 0 and path != self._spill_path:
                    del self._file_entries[path]
                    os.remove(path)
            while self._memory and self._memory[0][0] < next_sequence:
                self._memory_bytes -= len(self._memory.popleft()[1])
                dropped += 1
            if not self._spilled and self._spill_path is not None:
                # Everything on disk is acknowledged: start the next spill afresh.
                os.remove(self._spill_path)
                self._file_entries.pop(self._spill_path, None)
                self._spill_path = None
        return dropped

    def oldest_sequence(self) -> Optional[int]:
        """Return the sequence of the oldest unacknowledged transition, or None."""
        with self._lock:
            if self._spilled:
                return next(iter(self._spilled))
            return self._memory[0][0] if self._memory else None

    def pending(self, from_sequence: int, limit: int) -> List[Tuple[int, bytes]]:
        """Return up to `limit` held transitions with sequence >= `from_sequence`, in order."""
        found: List[Tuple[int, bytes]] = []
        with self._lock:
            for sequence, (path, offset, length) in self._spilled.items():
                if len(found) >= limit:
                    return found
                if sequence >= from_sequence:
                    with open(path, 'rb') as stream:
                        stream.seek(offset)
                        found.append((sequence, stream.read(length)))
            for sequence, payload in self._memory:
                if len(found) >= limit:
                    break
                if sequence >= from_sequence:
                    found.append((sequence, payload))
        return found


# ---------------------------------------------------------------------------------------
# Learner side

NEW, DUPLICATE, GAP = 'new', 'duplicate', 'gap'


class SequenceTracker:
    """Per actor, the next sequence the learner expects; classifies what arrives."""

    def __init__(self, next_expected: Optional[Dict[str, int]] = None):
        """Start from `next_expected` (e.g. restored from a checkpoint), else empty."""
        self.next_expected: Dict[str, int] = dict(next_expected or {})
        self.duplicates = 0
        self.gaps = 0

    def classify(self, actor_id: str, sequence: int) -> Tuple[str, int]:
        """
        Return ``(kind, missing)`` for a transition that arrived.

        NEW: the expected one (the caller stores it and calls :meth:`accept`).
        DUPLICATE: already stored; drop it. GAP: transitions before it are missing
        (``missing`` of them); drop it and wait for the actor to resend in order.
        """
        expected = self.next_expected.get(actor_id, 0)
        if sequence == expected:
            return NEW, 0
        if sequence < expected:
            self.duplicates += 1
            return DUPLICATE, 0
        self.gaps += 1
        return GAP, sequence - expected

    def accept(self, actor_id: str, sequence: int) -> None:
        """Record that `sequence` from `actor_id` is stored."""
        self.next_expected[actor_id] = sequence + 1


# Write-ahead log record: actor id length (u16), payload length (u32), CRC-32 of both
# (u32), then actor id (UTF-8) and payload.
_RECORD_HEADER = struct.Struct('<HII')


class TransitionLog:
    """
    Append-only file of the transitions a learner stored since its last checkpoint.

    Each record is framed with lengths and a CRC-32, so a record torn by a crash in
    the middle of a write is recognised and ignored on replay (and cut off, so the
    next append starts clean). ``flush`` pushes records to the operating system; a
    learner acknowledges only what it has flushed.
    """

    def __init__(self, path: str):
        """Open (or create) the log at `path`, dropping a torn last record if any."""
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        valid_end = self._scan_valid_end()
        self._stream = open(path, 'ab')
        if self._stream.tell() != valid_end:
            self._stream.truncate(valid_end)
            self._stream.seek(valid_end)

    def _scan_valid_end(self) -> int:
        end = 0
        for _, _, record_end in self._records():
            end = record_end
        return end

    def _records(self) -> Iterator[Tuple[str, bytes, int]]:
        if not os.path.exists(self.path):
            return
        with open(self.path, 'rb') as stream:
            data = stream.read()
        offset = 0
        while offset + _RECORD_HEADER.size <= len(data):
            id_length, payload_length, crc = _RECORD_HEADER.unpack_from(data, offset)
            start = offset + _RECORD_HEADER.size
            end = start + id_length + payload_length
            if end > len(data) or zlib.crc32(data[start:end]) != crc:
                return   # torn or corrupt tail: everything before it is good
            actor_id = data[start:start + id_length].decode('utf-8')
            yield actor_id, data[start + id_length:end], end
            offset = end

    def append(self, actor_id: str, payload: bytes) -> None:
        """Append one transition (call :meth:`flush` before acknowledging it)."""
        encoded_id = actor_id.encode('utf-8')
        body = encoded_id + bytes(payload)
        self._stream.write(_RECORD_HEADER.pack(len(encoded_id), len(payload), zlib.crc32(body)))
        self._stream.write(body)

    def flush(self) -> None:
        """Hand the appended records to the operating system."""
        self._stream.flush()

    def replay(self) -> Iterator[Tuple[str, bytes]]:
        """Yield ``(actor_id, payload)`` of every intact record, oldest first."""
        self.flush()
        for actor_id, payload, _ in self._records():
            yield actor_id, payload

    def clear(self) -> None:
        """Empty the log (after a checkpoint that holds everything in it)."""
        self._stream.truncate(0)
        self._stream.seek(0)
        self._stream.flush()

    def close(self) -> None:
        """Flush and close the file."""
        self._stream.close()
