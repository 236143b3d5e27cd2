"""Acknowledged delivery: the actor's outbound queue, the learner's tracker and log."""

import os

import pytest

from hilserl.transport.transition_link import (DUPLICATE, GAP, NEW, OutboundQueue, SequenceTracker,
                                               TransitionLog)


def payload(sequence, size=100):
    return bytes([sequence % 256]) * size


def test_acknowledged_transitions_are_forgotten_and_the_rest_resent_in_order():
    queue = OutboundQueue(max_memory_bytes=10_000)
    for sequence in range(10):
        queue.append(sequence, payload(sequence))
    assert queue.acknowledge(4) == 4
    assert queue.oldest_sequence() == 4
    assert [s for s, _ in queue.pending(6, limit=100)] == [6, 7, 8, 9]
    assert [s for s, _ in queue.pending(0, limit=2)] == [4, 5]


def test_beyond_the_memory_bound_the_oldest_spill_to_disk_and_come_back_intact(tmp_path):
    queue = OutboundQueue(max_memory_bytes=1_000, spill_dir=str(tmp_path),
                          spill_file_bytes=2_000)
    for sequence in range(100):
        queue.append(sequence, payload(sequence))
    assert queue.memory_bytes <= 1_000 and queue.spilled == 90
    assert queue.pending(0, limit=200) == [(s, payload(s)) for s in range(100)]
    queue.acknowledge(95)
    assert queue.spilled == 0 and os.listdir(tmp_path) == []
    assert [s for s, _ in queue.pending(0, 10)] == [95, 96, 97, 98, 99]


def test_without_a_spill_directory_overflow_is_an_error():
    queue = OutboundQueue(max_memory_bytes=150)
    queue.append(0, payload(0))
    with pytest.raises(OverflowError, match='spill'):
        queue.append(1, payload(1))


def test_tracker_accepts_in_order_drops_duplicates_and_reports_gaps():
    tracker = SequenceTracker()
    assert tracker.classify('a', 0) == (NEW, 0)
    tracker.accept('a', 0)
    assert tracker.classify('a', 0) == (DUPLICATE, 0)
    assert tracker.classify('a', 4) == (GAP, 3)
    assert tracker.classify('b', 0) == (NEW, 0)
    assert (tracker.duplicates, tracker.gaps) == (1, 1)


def test_log_replays_what_was_appended(tmp_path):
    log = TransitionLog(str(tmp_path / 'wal.bin'))
    for sequence in range(5):
        log.append(f'actor_{sequence % 2}', payload(sequence, 10 + sequence))
    log.flush()
    reopened = TransitionLog(str(tmp_path / 'wal.bin'))
    assert list(reopened.replay()) == [(f'actor_{s % 2}', payload(s, 10 + s)) for s in range(5)]


def test_a_record_torn_by_a_crash_is_dropped_and_appending_continues(tmp_path):
    path = str(tmp_path / 'wal.bin')
    log = TransitionLog(path)
    log.append('a', payload(0))
    log.append('a', payload(1))
    log.close()
    with open(path, 'r+b') as stream:   # the process died half way through record 1
        stream.truncate(os.path.getsize(path) - 30)
    log = TransitionLog(path)
    assert [p for _, p in log.replay()] == [payload(0)]
    log.append('a', payload(2))
    assert [p for _, p in log.replay()] == [payload(0), payload(2)]


def test_clear_empties_the_log(tmp_path):
    log = TransitionLog(str(tmp_path / 'wal.bin'))
    log.append('a', payload(0))
    log.clear()
    assert list(log.replay()) == []
