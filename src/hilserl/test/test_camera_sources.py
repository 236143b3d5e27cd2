"""Frame sources: test pattern, video files, and reopening after failures."""

import cv2
import numpy as np
import pytest

from hilserl.vision.camera_sources import (CameraUnavailable, OpenCVSource, ReconnectingSource,
                                           TestPatternSource, open_source)
from hilserl.vision.test_pattern import TestPattern


def test_test_pattern_frames_move_and_are_reproducible():
    pattern = TestPattern(48, 64)
    first, second = pattern.frame(0), pattern.frame(1)
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, TestPattern(48, 64).frame(0))
    top, left = pattern.square_position(5)
    assert (pattern.frame(5)[top:top + 6, left:left + 6] == 255).all()  # 6 = 48 // 8


def test_open_source_picks_the_test_pattern():
    source = open_source('test_pattern', 32, 24)
    assert isinstance(source, TestPatternSource)
    assert source.read().shape == (24, 32, 3)


def test_video_file_is_read_resized_and_looped(tmp_path):
    path = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10, (40, 30))
    for value in (0, 250, 0):
        writer.write(np.full((30, 40, 3), value, np.uint8))
    writer.release()
    source = open_source(path, 20, 16)
    assert isinstance(source, OpenCVSource)
    means = [source.read().mean() for _ in range(6)]
    assert all(frame_shape == (16, 20, 3) for frame_shape in [source.read().shape])
    # Three frames dark, bright, dark, then the loop starts again.
    assert means[1] > 200 and means[0] < 50 and means[4] > 200
    source.close()


def test_missing_file_is_unavailable():
    with pytest.raises(CameraUnavailable, match='cannot open'):
        open_source('/nonexistent/video.mp4', 32, 24)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match='positive'):
        open_source('test_pattern', 0, 24)


def test_reconnecting_source_retries_after_the_interval():
    now = [0.0]
    attempts = []
    events = []

    def opener():
        attempts.append(now[0])
        if len(attempts) < 3:
            raise CameraUnavailable('device gone')
        return TestPatternSource(8, 8)

    source = ReconnectingSource(opener, 1.0, clock=lambda: now[0],
                                on_event=lambda message, healthy: events.append(healthy))
    assert source.read() is None          # first attempt fails
    now[0] = 0.5
    assert source.read() is None          # too early to retry: no attempt
    assert attempts == [0.0]
    now[0] = 1.0
    assert source.read() is None          # second attempt fails
    now[0] = 2.0
    assert source.read().shape == (8, 8, 3)
    assert attempts == [0.0, 1.0, 2.0] and events == [False, False, True]
    assert source.connected and source.failures == 2


def test_reconnecting_source_reopens_after_a_read_failure():
    class FlakySource:
        description = 'flaky'

        def __init__(self):
            self.reads = 0
            self.closed = False

        def read(self):
            self.reads += 1
            if self.reads == 2:
                raise CameraUnavailable('cable pulled')
            return np.zeros((2, 2, 3), np.uint8)

        def close(self):
            self.closed = True

    opened = []
    now = [0.0]
    source = ReconnectingSource(lambda: opened.append(FlakySource()) or opened[-1], 1.0,
                                clock=lambda: now[0])
    assert source.read() is not None
    assert source.read() is None and opened[0].closed and not source.connected
    now[0] = 1.0
    assert source.read() is not None and len(opened) == 2
