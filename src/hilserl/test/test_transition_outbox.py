"""The actor's side of the delivery protocol: numbering, holding, resending."""

from hilserl.transport.transition_link import OutboundQueue
from hilserl.transport.transition_outbox import ResendScheduler, TransitionOutbox
import pytest


def run_resends(scheduler, queue, now, limit):
    """Do what the node does once per tick; return the sequences resent."""
    start = scheduler.resend_from(now, queue.oldest_sequence())
    if start is None:
        return []
    batch = queue.pending(start, limit)
    scheduler.sent_through(batch[-1][0] if batch else None, finished=len(batch) < limit)
    return [sequence for sequence, _ in batch]


def filled_queue(count):
    queue = OutboundQueue(1 << 20)
    for sequence in range(count):
        queue.append(sequence, b'x%d' % sequence)
    return queue


def test_before_the_first_receipt_everything_held_is_resent_every_resend_after_s():
    scheduler, queue = ResendScheduler(1.0), filled_queue(10)
    assert scheduler.resend_from(0.0, None) is None   # no learner listening: nothing
    assert run_resends(scheduler, queue, 0.5, 50) == []
    assert run_resends(scheduler, queue, 1.6, 4) == [0, 1, 2, 3]
    assert run_resends(scheduler, queue, 1.7, 50) == list(range(4, 10))
    assert run_resends(scheduler, queue, 2.0, 50) == []
    assert run_resends(scheduler, queue, 2.7, 50) == list(range(10))
    assert len(queue) == 10  # everything stays held until acknowledged


def test_a_first_receipt_or_a_new_session_resends_from_its_next_sequence_in_batches():
    scheduler, queue = ResendScheduler(1.0), filled_queue(10)
    queue.acknowledge(3)
    scheduler.on_ack(3, 'a', 0.0)
    assert run_resends(scheduler, queue, 0.1, 4) == [3, 4, 5, 6]
    assert run_resends(scheduler, queue, 0.2, 4) == [7, 8, 9]
    assert run_resends(scheduler, queue, 0.3, 4) == []   # done until something changes
    queue.acknowledge(8)
    scheduler.on_ack(8, 'a', 0.4)
    assert run_resends(scheduler, queue, 0.5, 4) == []
    scheduler.on_ack(6, 'b', 0.6)  # a restarted learner resumed at 6 (we still hold 8, 9)
    assert run_resends(scheduler, queue, 0.7, 4) == [8, 9]


def test_a_stalled_receipt_resends_after_resend_after_s_and_advancing_receipts_do_not():
    scheduler, queue = ResendScheduler(2.0), filled_queue(6)
    scheduler.on_ack(0, 'a', 0.0)
    run_resends(scheduler, queue, 0.0, 50)            # the first receipt's resend
    for now, acked in ((1.0, 2), (2.5, 4)):
        queue.acknowledge(acked)
        scheduler.on_ack(acked, 'a', now)
        assert run_resends(scheduler, queue, now + 0.1, 50) == []
    assert run_resends(scheduler, queue, 4.4, 50) == []
    assert run_resends(scheduler, queue, 4.6, 50) == [4, 5]   # 2 s without progress
    assert run_resends(scheduler, queue, 5.0, 50) == []       # and not again at once
    assert run_resends(scheduler, queue, 6.7, 50) == [4, 5]
    queue.acknowledge(6)
    scheduler.on_ack(6, 'a', 7.0)
    assert run_resends(scheduler, queue, 20.0, 50) == []      # nothing held: nothing due


def test_a_receipt_during_a_resend_skips_what_arrived():
    scheduler, queue = ResendScheduler(1.0), filled_queue(10)
    scheduler.on_ack(0, 'a', 0.0)
    assert run_resends(scheduler, queue, 0.0, 3) == [0, 1, 2]
    queue.acknowledge(6)
    scheduler.on_ack(6, 'a', 0.1)
    assert run_resends(scheduler, queue, 0.2, 3) == [6, 7, 8]


def test_resend_after_s_must_be_positive():
    with pytest.raises(ValueError):
        ResendScheduler(0.0)


def test_the_outbox_numbers_holds_and_resends_what_the_learner_lacks():
    sent, now = [], [0.0]
    outbox = TransitionOutbox(sent.append, OutboundQueue(1 << 20), resend_after_s=1.0,
                              max_resend_per_tick=2, clock=lambda: now[0])
    for number in range(5):
        assert outbox.next_sequence == number
        outbox.send(b'p%d' % number)
    assert sent == [b'p0', b'p1', b'p2', b'p3', b'p4'] and len(outbox.queue) == 5
    outbox.tick(learner_listening=False)
    assert len(sent) == 5
    line = outbox.on_ack(3, 'learner_a')   # a first receipt: resend from 3
    assert line and 'expects sequence 3' in line and len(outbox.queue) == 2
    sent.clear()
    outbox.tick(learner_listening=True)
    outbox.tick(learner_listening=True)
    assert sent == [b'p3', b'p4']
    assert outbox.on_ack(5, 'learner_a') is None and len(outbox.queue) == 0
