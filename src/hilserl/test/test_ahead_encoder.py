"""The actor's frame encoder: complete sets only, newest first, stale or foreign sets refused."""

import threading

import numpy as np
import pytest

from hilserl.ahead_encoder import AheadEncoder


class RecordingEncode:
    """Encode frames as their numbers; block while ``gate`` is cleared."""

    def __init__(self, encoder='net_a'):
        self.encoder, self.seen = encoder, []
        self.gate, self.finished = threading.Event(), threading.Semaphore(0)
        self.entered = threading.Semaphore(0)
        self.gate.set()

    def __call__(self, frames):
        self.entered.release()
        self.gate.wait(5.0)
        self.seen.append(frames)
        try:
            if 'bad' in frames:
                raise ValueError('not an image')
            return np.array(frames, dtype=np.float32)[:, None], self.encoder
        finally:
            self.finished.release()

    def wait(self, count=1):
        for _ in range(count):
            assert self.finished.acquire(timeout=5.0)


@pytest.fixture
def encode():
    return RecordingEncode()


@pytest.fixture
def ahead(encode):
    encoder = AheadEncoder(['front', 'wrist'], encode)
    yield encoder
    encode.gate.set()
    encoder.stop()


def test_a_set_is_encoded_once_every_camera_has_a_new_frame(ahead, encode):
    ahead.frame('front', 1)
    ahead.frame('front', 2)   # still only one camera new: nothing to encode yet
    assert ahead.newest() is None and encode.seen == []
    ahead.frame('wrist', 3)
    encode.wait()
    assert ahead.newest().frames == (2, 3) and ahead.usable('net_a').frames == (2, 3)
    np.testing.assert_array_equal(ahead.newest().features, [[2.0], [3.0]])
    ahead.frame('other_camera', 9)
    assert len(encode.seen) == 1


def test_only_the_newest_waiting_set_is_encoded(ahead, encode):
    encode.gate.clear()
    ahead.frame('front', 1)
    ahead.frame('wrist', 2)
    assert encode.entered.acquire(timeout=5.0)   # the worker took it and waits at the gate
    for frame in (3, 4, 5, 6):
        ahead.frame('front', frame)
        ahead.frame('wrist', frame)
    encode.gate.set()
    encode.wait(2)
    assert encode.seen == [(1, 2), (6, 6)]


def test_a_set_one_behind_is_usable_two_behind_is_not(ahead, encode):
    ahead.frame('front', 1)
    ahead.frame('wrist', 1)
    encode.wait()
    encode.gate.clear()
    ahead.frame('front', 2)
    ahead.frame('wrist', 2)
    assert encode.entered.acquire(timeout=5.0) and encode.entered.acquire(timeout=5.0)
    # (2, 2) is being encoded: the previous set still serves
    assert ahead.usable('net_a').frames == (1, 1)
    ahead.frame('front', 3)
    ahead.frame('wrist', 3)          # the worker fell two sets behind
    assert ahead.usable('net_a') is None
    encode.gate.set()
    encode.wait(2)
    assert ahead.usable('net_a').frames == (3, 3)


def test_features_of_another_encoder_are_not_usable(ahead, encode):
    ahead.frame('front', 1)
    ahead.frame('wrist', 1)
    encode.wait()
    assert ahead.usable('net_b') is None and ahead.usable('net_a') is not None


def test_a_set_that_fails_to_encode_leaves_the_last_good_one(ahead, encode):
    ahead.frame('front', 1)
    ahead.frame('wrist', 1)
    encode.wait()
    ahead.frame('front', 'bad')
    ahead.frame('wrist', 2)
    encode.wait()
    assert ahead.newest().frames == (1, 1)
    ahead.frame('front', 3)
    ahead.frame('wrist', 3)
    encode.wait()
    assert ahead.newest().frames == (3, 3)
