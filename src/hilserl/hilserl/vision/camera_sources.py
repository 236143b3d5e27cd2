"""
Where camera frames come from: a device, a video file, or a test pattern; no ROS.

Every source returns RGB uint8 frames of the requested size. A device or file
that fails is closed and reopened after a pause by :class:`ReconnectingSource`,
so a camera unplugged for a moment costs frames, not the node.
"""

import os
import time
from typing import Callable, Optional, Union

import cv2
import numpy as np

from hilserl.vision.test_pattern import TestPattern

TEST_PATTERN = 'test_pattern'


class CameraUnavailable(RuntimeError):
    """The source cannot deliver a frame right now."""


class TestPatternSource:
    """Generated frames (see :mod:`hilserl.vision.test_pattern`); never fails."""

    __test__ = False

    def __init__(self, width: int, height: int):
        """Prepare a pattern of ``width`` × ``height`` pixels."""
        self._pattern = TestPattern(height, width)
        self._index = 0
        self.description = f'test pattern {width}x{height}'

    def read(self) -> np.ndarray:
        """Return the next frame."""
        frame = self._pattern.frame(self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        """Nothing to release."""


class OpenCVSource:
    """Frames from ``cv2.VideoCapture``: a device index, a device path or a video file."""

    def __init__(self, spec: Union[int, str], width: int, height: int, loop: bool = True):
        """Open ``spec``; raise :class:`CameraUnavailable` when it cannot be opened."""
        self._spec = spec
        self._width, self._height = width, height
        self._is_file = isinstance(spec, str) and os.path.isfile(spec)
        self._loop = loop
        self.description = f'device {spec}' if not self._is_file else f'video file {spec}'
        self._capture = cv2.VideoCapture(spec)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraUnavailable(f'cannot open {self.description}')
        if not self._is_file:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self) -> np.ndarray:
        """Return the next frame, rewinding a video file at its end when looping."""
        ok, bgr = self._capture.read()
        if not ok and self._is_file and self._loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._capture.read()
        if not ok or bgr is None:
            raise CameraUnavailable(f'no frame from {self.description}')
        if bgr.shape[0] != self._height or bgr.shape[1] != self._width:
            bgr = cv2.resize(bgr, (self._width, self._height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        """Release the device or file."""
        self._capture.release()


def open_source(source: str, width: int, height: int, loop: bool = True):
    """
    Open the source named by the ``source`` parameter.

    ``test_pattern`` generates frames, a string of digits is a device index,
    anything else is a device path or a video file.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f'camera size must be positive, got {width}x{height}')
    if source == TEST_PATTERN:
        return TestPatternSource(width, height)
    if source.isdigit():
        return OpenCVSource(int(source), width, height, loop)
    if not source:
        raise ValueError("camera source is empty; use 'test_pattern', a device or a file")
    return OpenCVSource(source, width, height, loop)


class ReconnectingSource:
    """Keep a source open: on failure close it and try again every ``retry_interval_s``."""

    def __init__(self, opener: Callable[[], object], retry_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_event: Optional[Callable[[str, bool], None]] = None):
        """
        Use ``opener()`` to (re)open the underlying source.

        ``on_event(message, healthy)`` hears of every open and every failure.
        """
        self._opener = opener
        self._retry_interval_s = retry_interval_s
        self._clock = clock
        self._notify = on_event or (lambda message, healthy: None)
        self._source = None
        self._next_attempt = 0.0
        self.failures = 0

    @property
    def connected(self) -> bool:
        """Return whether a source is open."""
        return self._source is not None

    def read(self) -> Optional[np.ndarray]:
        """Return a frame, or None while the source is unavailable."""
        if self._source is None:
            if self._clock() < self._next_attempt:
                return None
            try:
                self._source = self._opener()
            except CameraUnavailable as error:
                self._fail(f'{error}; retrying in {self._retry_interval_s:g} s')
                return None
            self._notify(f'opened {self._source.description}', True)
        try:
            return self._source.read()
        except CameraUnavailable as error:
            self._source.close()
            self._source = None
            self._fail(f'{error}; reopening in {self._retry_interval_s:g} s')
            return None

    def _fail(self, message: str) -> None:
        self.failures += 1
        self._next_attempt = self._clock() + self._retry_interval_s
        self._notify(message, False)

    def close(self) -> None:
        """Close the underlying source, if open."""
        if self._source is not None:
            self._source.close()
            self._source = None
