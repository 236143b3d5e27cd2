"""
Encode camera frames on a worker thread as they arrive, ahead of the control tick; no ROS.

With the frozen image encoder, encoding the frames is most of an image policy's work per
step (~13 ms for two 128x128 frames on one CPU core). Done inside the tick, any CPU
contention (a learner training on the same computer, the simulator rendering) stretches
the tick past its period and the next one starts late. :class:`AheadEncoder` encodes each
complete new set of frames (one newer frame from every camera) as soon as it is in, on
its own thread (torch releases the GIL while it computes); the tick takes the newest
encoded set, its frames and their features, and runs only the small networks. The frames
acted on are then up to one encoding older, which the loop's latency figure shows.
"""

from dataclasses import dataclass
import threading
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from hilserl.newest_worker import NewestOnlyWorker
from hilserl.transition_messages import images_to_pixels

Frames = Tuple[Any, ...]   # one frame (message) per camera, in camera order
# frames -> (features [N, F], encoder fingerprint), or None when there is nothing to encode with
Encode = Callable[[Frames], Optional[Tuple[np.ndarray, str]]]


@dataclass(frozen=True)
class EncodedFrames:
    """A set of frames and their features."""

    frames: Frames
    features: np.ndarray
    encoder: str      # fingerprint of the encoder that computed the features
    index: int        # 1 for the first complete set handed over, 2 for the next, ...


class AheadEncoder:
    """Keep the newest complete frame set encoded; thread-safe."""

    def __init__(self, camera_names: Sequence[str], encode: Encode):
        """Encode with ``encode`` on a worker thread, started here."""
        self._cameras = list(camera_names)
        self._encode = encode
        self._latest: Dict[str, Any] = {}
        self._fresh = set()      # cameras with a frame newer than the last set handed over
        self._handed = 0         # complete sets handed over so far
        self._done: Optional[EncodedFrames] = None
        self._lock = threading.Lock()
        self._worker = NewestOnlyWorker(self._encode_set, 'frame_encoder')

    def frame(self, camera: str, frame: Any) -> None:
        """Take a camera's new frame; a set is handed over once every camera has a new one."""
        if camera not in self._cameras:
            return
        with self._lock:
            self._latest[camera] = frame
            self._fresh.add(camera)
            if len(self._fresh) < len(self._cameras):
                return
            self._fresh.clear()
            self._handed += 1
            # A set still waiting is replaced: only the newest is worth encoding.
            self._worker.submit((self._handed,
                                 tuple(self._latest[name] for name in self._cameras)))

    def newest(self) -> Optional[EncodedFrames]:
        """Return the most recently encoded set, or None before the first."""
        with self._lock:
            return self._done

    def usable(self, encoder: str) -> Optional[EncodedFrames]:
        """
        Return the newest encoded set if ``encoder`` computed it and it is recent enough.

        Recent enough: the newest complete set, or the one before it while the newest is
        still being encoded. Further behind (the worker cannot keep up), None: the tick
        then encodes the newest frames itself.
        """
        with self._lock:
            done = self._done
            if done is None or done.encoder != encoder or self._handed - done.index > 1:
                return None
            return done

    def stop(self) -> None:
        """End the worker thread."""
        self._worker.stop()

    def _encode_set(self, job: Tuple[int, Frames]) -> None:
        index, frames = job
        try:
            result = self._encode(frames)
        except Exception:  # the tick encodes such frames itself and reports what is wrong
            return
        if result is not None:
            with self._lock:
                self._done = EncodedFrames(frames, *result, index)


def frozen_features(agent, frames: Frames, camera_names: Sequence[str]
                    ) -> Optional[Tuple[np.ndarray, str]]:
    """Return the frames' features [N, F] and the encoder's fingerprint (None: no encoder)."""
    if agent is None or agent.frozen_encoder is None:
        return None
    pixels = images_to_pixels(frames, camera_names)
    return agent.encode_frames(pixels).cpu().numpy(), agent.frozen_encoder.fingerprint()
