"""FrameSynchronizer: one frame per camera within the tolerance, each frame used once."""

import pytest

from hilserl.vision.frame_sync import FrameSynchronizer


def test_a_single_camera_makes_a_set_of_every_frame():
    sync = FrameSynchronizer(['front'], 0.01)
    result = sync.add('front', 1.0, 'f1')
    assert result.frames == {'front': 'f1'} and result.stamp == 1.0


def test_frames_within_the_tolerance_make_a_set_in_camera_order():
    sync = FrameSynchronizer(['front', 'wrist'], 0.01)
    assert sync.add('wrist', 1.005, 'w1') is None
    result = sync.add('front', 1.0, 'f1')
    assert list(result.frames) == ['front', 'wrist']
    assert result.frames == {'front': 'f1', 'wrist': 'w1'}
    assert result.stamps == {'front': 1.0, 'wrist': 1.005} and result.stamp == 1.005


def test_frames_too_far_apart_wait_for_a_closer_partner():
    sync = FrameSynchronizer(['front', 'wrist'], 0.01)
    assert sync.add('front', 1.000, 'f1') is None
    assert sync.add('wrist', 1.033, 'w2') is None  # f1 is 33 ms away
    result = sync.add('front', 1.034, 'f2')
    assert result.frames == {'front': 'f2', 'wrist': 'w2'}
    # f1 is older than the set and is gone; a late partner for it does nothing.
    assert sync.add('wrist', 1.001, 'w1') is None
    assert sync.stale_frames == 1


def test_the_closest_frame_is_chosen_and_each_frame_is_used_once():
    sync = FrameSynchronizer(['a', 'b', 'c'], 0.02)
    sync.add('a', 2.00, 'a1')
    sync.add('a', 2.03, 'a2')
    sync.add('b', 2.029, 'b2')
    result = sync.add('c', 2.031, 'c2')
    assert result.frames == {'a': 'a2', 'b': 'b2', 'c': 'c2'}
    # All three frames are used: a new c frame at the same time finds no partners.
    assert sync.add('c', 2.032, 'c3') is None
    assert sync.sets_emitted == 1


def test_a_stream_of_interleaved_frames_gives_one_set_per_period():
    sync = FrameSynchronizer(['front', 'wrist'], 0.005)
    sets = []
    for tick in range(20):
        t = tick / 30.0
        for camera, jitter in (('front', 0.001), ('wrist', -0.002)):
            result = sync.add(camera, t + jitter, (camera, tick))
            if result:
                sets.append(result)
    assert [s.frames['front'][1] for s in sets] == list(range(20))
    assert all(s.frames['wrist'][1] == s.frames['front'][1] for s in sets)


def test_a_restarted_clock_starts_over():
    sync = FrameSynchronizer(['front', 'wrist'], 0.01)
    sync.add('front', 100.0, 'f')
    assert sync.add('wrist', 100.0, 'w') is not None
    sync.add('front', 0.5, 'f0')
    result = sync.add('wrist', 0.5, 'w0')
    assert result.frames == {'front': 'f0', 'wrist': 'w0'} and sync.restarts == 1


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        FrameSynchronizer([], 0.01)
    with pytest.raises(ValueError):
        FrameSynchronizer(['a', 'a'], 0.01)
    with pytest.raises(ValueError):
        FrameSynchronizer(['a'], -1.0)
    with pytest.raises(KeyError):
        FrameSynchronizer(['a'], 0.01).add('b', 0.0, None)
