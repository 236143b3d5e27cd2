"""
When the actor's control tick should fall: a little after the cameras' frames arrive.

The cameras and the control loop often run at the same rate, each on its own timer in
its own process, at an arbitrary phase to each other: a new frame then waits for the
next tick, up to a whole period (half of one on average), before the policy sees it.
:class:`TickPhase` records when each camera's frames arrive and when the ticks run
(monotonic seconds), and, asked between episodes, says when to restart the control
timer so that the complete sets of frames (one new frame from every camera) wait the
least for a tick: the tick phase, a little after one of the recent sets' arrival
phases, that minimises their mean wait (:func:`best_tick_phase`). Where the arrivals
are tight that is just after them; where a loaded machine spreads them out it is after
most of them, the late few waiting a period.

All phases are times modulo the period, in [0, period). The typical phase of the
ticks is a circular median (:func:`circular_median`): the ordinary median of the
phases unwrapped around their circular mean, so a cluster that straddles the period
boundary (phases just below the period and just above 0) has its median inside the
cluster, not half a period away from it.
"""

from collections import deque
from dataclasses import dataclass
import math
from typing import Deque, Optional, Sequence, Tuple

import numpy as np

JITTER_S = 0.0015      # ticks and arrivals may come this much earlier or later than planned
TOLERANCE_S = 0.001    # ticks whose mean wait is this close to the best are left alone
RATE_TOLERANCE = 0.1   # frame sets count as at the control rate within +-10 % of the period
MIN_SETS = 10          # complete sets of frames needed to judge their phase
MIN_TICKS = 5          # ticks (since the last re-phase) needed to judge theirs
WINDOW = 60            # the newest arrivals and ticks kept
STOPPED_AFTER_S = 1.0  # cameras silent for longer (and 3 periods) have stopped
ROUNDING_S = 1e-9


def wrap(offset: float, period: float) -> float:
    """Return ``offset`` wrapped into [-period/2, period/2): the nearest signed difference."""
    return (offset + period / 2) % period - period / 2


def unwrap_around(phases: Sequence[float], period: float) -> Tuple[float, np.ndarray]:
    """Return the circular mean of ``phases`` and each phase's signed offset from it."""
    angles = 2 * math.pi * np.asarray(phases, dtype=float) / period
    centre = math.atan2(float(np.sin(angles).mean()), float(np.cos(angles).mean()))
    centre = (centre * period / (2 * math.pi)) % period
    offsets = (np.asarray(phases, dtype=float) - centre + period / 2) % period - period / 2
    return centre, offsets


def circular_median(phases: Sequence[float], period: float) -> float:
    """Return the typical phase of ``phases`` (in [0, period)); needs at least one."""
    centre, offsets = unwrap_around(phases, period)
    return float((centre + np.median(offsets)) % period)


def mean_waits(tick_phases: Sequence[float], arrivals: Sequence[float], period: float,
               jitter: float = 0.0) -> np.ndarray:
    """
    Return, for each tick phase, the mean time from an arrival to the next tick.

    With ``jitter``, averaged over ticks landing anywhere within it of their phase (five
    points from ``-jitter`` to ``+jitter``): a phase just after a cluster of arrivals is
    worth less when the slightest delay of the arrivals makes them miss it.
    """
    offsets = np.linspace(-jitter, jitter, 5) if jitter else np.zeros(1)
    ticks = np.asarray(tick_phases, dtype=float)[:, None, None] + offsets[None, :, None]
    # A tick at the very instant of an arrival (up to rounding) is in time for it.
    late = (ticks - np.asarray(arrivals, dtype=float)[None, None, :] + ROUNDING_S) % period
    return np.maximum(late - ROUNDING_S, 0.0).mean(axis=(1, 2))


def best_tick_phase(arrivals: Sequence[float], period: float,
                    jitter: float) -> Tuple[float, float]:
    """
    Return the tick phase the arrivals wait the least for, and that mean wait.

    The mean wait grows with the tick phase between two arrivals' phases and drops at
    each: the least is just after one of them. The candidates are each arrival's phase
    plus ``jitter``, where ticks landing up to ``jitter`` early still follow it; each is
    judged with that jitter (:func:`mean_waits`).
    """
    candidates = (np.asarray(arrivals, dtype=float) + jitter) % period
    waits = mean_waits(candidates, arrivals, period, jitter)
    best = int(np.argmin(waits))
    return float(candidates[best]), float(waits[best])


def delay_to_phase(now: float, phase: float, period: float) -> float:
    """Return the time from ``now`` to the next instant whose phase is ``phase``, [0, period)."""
    return (phase - now) % period


@dataclass(frozen=True)
class PhasePlan:
    """Where the ticks are and are wanted; if ``needed``, restart the timer in ``delay_s``."""

    needed: bool
    delay_s: float
    restart_phase_s: float   # the restart's phase (for :meth:`TickPhase.rephased`)
    old_phase_s: float   # the ticks' phase
    new_phase_s: float   # their wanted phase
    old_wait_s: float    # how long a complete set of frames waits for a tick, on average
    new_wait_s: float    # how long it would wait for ticks at the wanted phase


class TickPhase:
    """
    Arrivals of frames and control ticks, and when to re-phase the ticks to the frames.

    :meth:`frame_arrived` and :meth:`ticked` record, :meth:`plan` decides. The frames
    that count are those that arrived during episodes, once there are enough of them:
    the loop's own work there (encoding frames) slows down the cameras' processing on
    a shared computer. A restart of the timer at an instant makes the ticks fall one
    period after it, and so at its phase, plus the dispatch delay of the restart and
    of the ticks; after a re-phase (:meth:`rephased`) the ticks' measured phase tells
    that delay, and later plans aim that much earlier.
    """

    def __init__(self, period_s: float, cameras: Sequence[str], jitter_s: float = JITTER_S,
                 tolerance_s: float = TOLERANCE_S):
        """Track ``cameras`` (names) against a control loop of period ``period_s``."""
        self.period_s = period_s
        self.jitter_s = jitter_s
        self.tolerance_s = tolerance_s
        self._cameras = frozenset(cameras)
        self._waiting = set(self._cameras)   # cameras with no new frame in the current set
        # When each complete set arrived: between episodes, and during them.
        self._sets = {False: deque(maxlen=WINDOW), True: deque(maxlen=WINDOW)}
        self._last_set_s = -math.inf
        self._ticks: Deque[float] = deque(maxlen=WINDOW)
        self._target: Optional[float] = None   # the phase of the last restart of the timer
        self._lates: Deque[float] = deque(maxlen=5)   # how much later than aimed, each time
        self.dispatch_s = 0.0   # their median: how much earlier to aim

    def frame_arrived(self, camera: str, time_s: float, in_episode: bool = False) -> None:
        """Record a new frame of ``camera`` received at ``time_s``."""
        if camera not in self._cameras:
            return
        self._waiting.discard(camera)
        if not self._waiting:
            self._sets[in_episode].append(time_s)
            self._last_set_s = time_s
            self._waiting = set(self._cameras)

    def ticked(self, time_s: float) -> None:
        """Record a control tick that started at ``time_s``."""
        self._ticks.append(time_s)

    def rephased(self, restart_phase_s: float) -> None:
        """Forget the ticks so far: the timer was restarted, aimed at ``restart_phase_s``."""
        self._ticks.clear()
        self._target = restart_phase_s

    def arrivals(self) -> Sequence[float]:
        """Return the complete sets' arrival times that count (see the class)."""
        during = self._sets[True]
        return during if len(during) >= MIN_SETS else self._sets[False]

    def frames_at_control_rate(self, now_s: float) -> bool:
        """Say whether complete sets of frames come once a period, the last one recently."""
        sets = self.arrivals()
        if not self._cameras or len(sets) < MIN_SETS:
            return False
        if now_s - self._last_set_s > max(3 * self.period_s, STOPPED_AFTER_S):
            return False   # the cameras stopped (a short pause is not a stop)
        interval = float(np.median(np.diff(np.asarray(sets, dtype=float))))
        return abs(interval - self.period_s) <= RATE_TOLERANCE * self.period_s

    def plan(self, now_s: float) -> Optional[PhasePlan]:
        """
        Return where the ticks are and should be, or None when that cannot be told yet.

        None: no cameras, frames at another rate than the ticks, too few of either. The
        plan is ``needed`` unless the frames wait for the ticks within tolerance of the
        least they could.
        """
        if len(self._ticks) < MIN_TICKS or not self.frames_at_control_rate(now_s):
            return None
        period, arrivals = self.period_s, self.arrivals()
        wanted, best_wait = best_tick_phase(arrivals, period, self.jitter_s)
        ticks = circular_median(self._ticks, period)
        if self._target is not None:
            # The ticks since the last re-phase show the timer's dispatch delay.
            self._lates.append(min(max(0.0, wrap(ticks - self._target, period)), period / 4))
            self.dispatch_s = float(np.median(self._lates))
            self._target = None
        wait = float(mean_waits([ticks], arrivals, period, self.jitter_s)[0])
        aim = (wanted - self.dispatch_s) % period
        return PhasePlan(needed=wait - best_wait > self.tolerance_s,
                         delay_s=delay_to_phase(now_s, aim, period), restart_phase_s=aim,
                         old_phase_s=ticks, new_phase_s=wanted, old_wait_s=wait,
                         new_wait_s=best_wait)
