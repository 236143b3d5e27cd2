"""
The actor's half of :mod:`hilserl.transport.transition_link`'s delivery protocol; no ROS.

- :class:`ResendScheduler`: everything stays queued until acknowledged; a stalled
  receipt or a new learner session starts a resend from the receipt's
  ``next_sequence``, sent a bounded number per tick so the control loop never blocks.
  Before any receipt, a learner that is up (the node says so: a matched subscription)
  gets everything held every ``resend_after_s``: one that came up after the first
  transitions dropped the stream as a gap and acknowledges nothing for an actor it does
  not know yet.
- :class:`TransitionOutbox` puts it together with the numbering and the queue.
"""

import time
from typing import Callable, Optional

from hilserl.transport.transition_link import OutboundQueue


class ResendScheduler:
    """
    When and from where to resend unacknowledged transitions.

    Feed it every receipt (:meth:`on_ack`); once per tick ask :meth:`resend_from`
    where to resend from (None: nothing to do), send up to your per-tick limit from
    there, and report what was sent with :meth:`sent_through`.
    """

    def __init__(self, resend_after_s: float):
        """Resend when the receipt has not advanced for ``resend_after_s`` with entries held."""
        if not resend_after_s > 0:
            raise ValueError(f'resend_after_s must be positive, got {resend_after_s}')
        self.resend_after_s = resend_after_s
        self.acked: Optional[int] = None   # next_sequence of the newest receipt
        self.session: Optional[str] = None
        self._progress_time: Optional[float] = None  # last receipt progress or resend
        self._cursor: Optional[int] = None  # next sequence to resend, while resending
        self.resends_started = 0

    @property
    def resending(self) -> bool:
        """Return whether a resend is under way."""
        return self._cursor is not None

    def on_ack(self, next_sequence: int, session: str, now: float) -> None:
        """Take a receipt: a first receipt, a new session or a step back starts a resend."""
        if self.session != session or self.acked is None or next_sequence < self.acked:
            # A (re)started learner announces where it resumed: resend from there.
            self._start(next_sequence, now)
        elif next_sequence > self.acked:
            self._progress_time = now
            if self._cursor is not None and self._cursor < next_sequence:
                self._cursor = next_sequence   # no need to resend what arrived meanwhile
        self.session, self.acked = session, next_sequence

    def _start(self, from_sequence: int, now: float) -> None:
        self._cursor = from_sequence
        self._progress_time = now
        self.resends_started += 1

    def resend_from(self, now: float, oldest_held: Optional[int]) -> Optional[int]:
        """
        Return the sequence to resend from this tick, or None.

        ``oldest_held`` is the oldest unacknowledged sequence (None: nothing held, or,
        before any receipt, no learner listening: nothing is resent then).
        """
        if oldest_held is None:
            self._cursor = None
            return None
        if self._progress_time is None:
            self._progress_time = now  # the first transitions just went out
        if self._cursor is None and now - self._progress_time >= self.resend_after_s:
            self._start(oldest_held if self.acked is None else self.acked, now)
        if self._cursor is None:
            return None
        return max(self._cursor, oldest_held)

    def sent_through(self, last_sequence: Optional[int], finished: bool) -> None:
        """Record a resent batch ending at ``last_sequence``; ``finished``: nothing after it."""
        if finished or last_sequence is None:
            self._cursor = None
        else:
            self._cursor = last_sequence + 1


class TransitionOutbox:
    """
    The actor's outgoing transitions: numbered, held until acknowledged, resent on need.

    :meth:`send` publishes a serialized transition numbered :attr:`next_sequence` and
    keeps it in an :class:`~hilserl.transport.transition_link.OutboundQueue`; :meth:`on_ack` takes
    the learner's receipts; :meth:`tick`, once per control step, resends at most
    ``max_resend_per_tick`` of what the :class:`ResendScheduler` asks for.
    """

    def __init__(self, publish: Callable[[bytes], None], queue: OutboundQueue,
                 resend_after_s: float, max_resend_per_tick: int,
                 clock: Callable[[], float] = time.monotonic):
        """Send through ``publish``, hold in ``queue``."""
        self._publish, self.queue, self._clock = publish, queue, clock
        self.resend = ResendScheduler(resend_after_s)
        self.max_resend_per_tick = max_resend_per_tick
        self.next_sequence = 0

    def send(self, payload: bytes) -> None:
        """Hold and publish the transition numbered :attr:`next_sequence`."""
        self.queue.append(self.next_sequence, payload)
        self.next_sequence += 1
        self._publish(payload)

    def on_ack(self, next_sequence: int, learner_session: str) -> Optional[str]:
        """Take a receipt; return a line to log when it starts a resend."""
        self.queue.acknowledge(next_sequence)
        started = self.resend.resends_started
        self.resend.on_ack(next_sequence, learner_session, self._clock())
        if self.resend.resends_started != started and next_sequence < self.next_sequence:
            return (f'learner session {learner_session} expects sequence {next_sequence}; '
                    f'resending {len(self.queue)} held transitions')
        return None

    def tick(self, learner_listening: bool) -> None:
        """Resend what is due; before any receipt, only to a listening learner."""
        oldest = self.queue.oldest_sequence()
        if self.resend.acked is None and not learner_listening:
            oldest = None   # no learner yet: keep everything, send nothing
        start = self.resend.resend_from(self._clock(), oldest)
        if start is None:
            return
        batch = self.queue.pending(start, self.max_resend_per_tick)
        for _, payload in batch:
            self._publish(payload)
        self.resend.sent_through(batch[-1][0] if batch else None,
                                 finished=len(batch) < self.max_resend_per_tick)
