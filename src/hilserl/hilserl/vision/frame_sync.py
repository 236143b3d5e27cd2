"""
Group frames of several cameras into synchronised sets by their stamps.

A set has one frame per camera, all stamped within ``tolerance_s`` of each other.
Each arriving frame is matched with the closest recent frame of every other camera;
a set is emitted as soon as it is complete, and frames up to the ones it used are
dropped, so every frame is used at most once and sets come out in stamp order.
Frames that never find partners (a camera that lags or drops frames) age out of a
short queue. A stamp far in the past (a simulation or camera restart) starts over.

No ROS import; the frames themselves are opaque (messages, arrays, anything).
"""

import collections
from dataclasses import dataclass
from typing import Any, Deque, Dict, Optional, Sequence, Tuple

# Frames kept per camera while waiting for partners: a few frame periods are plenty
# for cameras that are in step, and old frames are useless for a live decision.
DEFAULT_QUEUE_LENGTH = 8
# A stamp this far before the last set is a restarted clock, not a late frame.
MIN_RESTART_JUMP_S = 1.0


@dataclass
class FrameSet:
    """One frame per camera; ``stamp`` is the newest of their stamps (seconds)."""

    stamp: float
    frames: Dict[str, Any]
    stamps: Dict[str, float]


class FrameSynchronizer:
    """Match frames of ``camera_names`` whose stamps agree within ``tolerance_s``."""

    def __init__(self, camera_names: Sequence[str], tolerance_s: float,
                 queue_length: int = DEFAULT_QUEUE_LENGTH):
        """Start with empty queues."""
        if not camera_names or len(set(camera_names)) != len(camera_names):
            raise ValueError(f'camera names must be distinct and not empty, '
                             f'got {list(camera_names)}')
        if not tolerance_s >= 0.0:
            raise ValueError(f'sync tolerance must be >= 0 s, got {tolerance_s}')
        if queue_length < 1:
            raise ValueError(f'queue_length must be >= 1, got {queue_length}')
        self.camera_names = tuple(camera_names)
        self.tolerance_s = float(tolerance_s)
        self._queues: Dict[str, Deque[Tuple[float, Any]]] = {
            name: collections.deque(maxlen=queue_length) for name in self.camera_names}
        self._last_used: Dict[str, float] = {}
        self.sets_emitted = 0
        self.stale_frames = 0
        self.restarts = 0

    def reset(self) -> None:
        """Forget every queued frame and the stamps already used."""
        for queue in self._queues.values():
            queue.clear()
        self._last_used.clear()

    def add(self, camera: str, stamp: float, frame: Any) -> Optional[FrameSet]:
        """Add a frame; return the set it completes, or None."""
        if camera not in self._queues:
            raise KeyError(f'unknown camera {camera!r} (cameras: {list(self.camera_names)})')
        stamp = float(stamp)
        if self._last_used:
            newest_used = max(self._last_used.values())
            if stamp < newest_used - max(MIN_RESTART_JUMP_S, 10.0 * self.tolerance_s):
                self.reset()
                self.restarts += 1
            elif stamp <= self._last_used.get(camera, float('-inf')):
                self.stale_frames += 1  # older than a frame of this camera already used
                return None
        self._queues[camera].append((stamp, frame))
        chosen = {camera: (stamp, frame)}
        for other in self.camera_names:
            if other == camera:
                continue
            queue = self._queues[other]
            if not queue:
                return None
            chosen[other] = min(queue, key=lambda entry: abs(entry[0] - stamp))
        stamps = [entry[0] for entry in chosen.values()]
        if max(stamps) - min(stamps) > self.tolerance_s:
            return None
        for name, (used_stamp, _) in chosen.items():
            self._last_used[name] = used_stamp
            queue = self._queues[name]
            while queue and queue[0][0] <= used_stamp:
                queue.popleft()
        self.sets_emitted += 1
        return FrameSet(stamp=max(stamps),
                        frames={name: chosen[name][1] for name in self.camera_names},
                        stamps={name: chosen[name][0] for name in self.camera_names})
