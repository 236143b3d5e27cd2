"""
A control loop's timer, re-phased to its cameras' frames when it may be.

A node's ``create_timer`` ticks at an arbitrary phase to the cameras' timers: at the
same rate, a new frame waits up to a period for the tick that acts on it.
:class:`PhaseLockedTimer` runs the loop's callback every period like that timer, records
when the cameras' frames arrive (the node calls :meth:`PhaseLockedTimer.frame_arrived`
from its image callbacks) and, after a tick outside episodes (so that no episode sees an
irregular period), restarts the timer at the instant
:class:`hilserl.actor.tick_phase.TickPhase` plans, where the frames wait the least for a
tick: a one-shot timer fires then and resets the control timer, whose next tick comes
one period later.
"""

import time
from typing import Callable, Optional, Sequence, Tuple

from hilserl.actor.tick_phase import PhasePlan, TickPhase


class PhaseLockedTimer:
    """Call ``callback`` every 1/``fps`` s, ticking just after ``cameras``' frames arrive."""

    def __init__(self, node, fps: float, callback: Callable[[], None], cameras: Sequence[str],
                 in_episode: Callable[[], bool]):
        """Start the timer on ``node``; re-phase only while not ``in_episode()``."""
        self._node, self._callback, self._in_episode = node, callback, in_episode
        self.phase = TickPhase(1.0 / fps, cameras)
        self._timer = node.create_timer(1.0 / fps, self._on_tick)
        self._restart: Optional[Tuple[object, PhasePlan]] = None   # (one-shot timer, plan)
        self._in_phase_said = False   # said since the last re-phase that the ticks are in phase

    def frame_arrived(self, camera: str) -> None:
        """Record that a new frame of ``camera`` was received just now."""
        self.phase.frame_arrived(camera, time.monotonic(), self._in_episode())

    def _on_tick(self) -> None:
        self.phase.ticked(time.monotonic())
        self._callback()
        if self._restart is not None or self._in_episode():
            return
        plan = self.phase.plan(time.monotonic())
        if plan is not None and plan.needed:
            one_shot = self._node.create_timer(max(plan.delay_s, 1e-4), self._restart_timer)
            self._restart = (one_shot, plan)
        elif plan is not None and not self._in_phase_said:
            self._in_phase_said = True
            self._node.get_logger().info(
                f'control tick in phase with the cameras: a complete set of frames waits '
                f'{plan.old_wait_s * 1e3:.1f} ms for it on average (at best '
                f'{plan.new_wait_s * 1e3:.1f} ms)')

    def _restart_timer(self) -> None:
        one_shot, plan = self._restart
        self._restart = None
        self._node.destroy_timer(one_shot)   # one shot only (destroyed once this returns)
        if self._in_episode():
            return   # an episode began meanwhile: not during one
        self._timer.reset()   # the next tick comes one period from now
        self.phase.rephased(plan.restart_phase_s)
        self._in_phase_said = False
        period_ms = self.phase.period_s * 1e3
        self._node.get_logger().info(
            f'control tick re-phased to the cameras: a complete set of frames waited '
            f'{plan.old_wait_s * 1e3:.1f} ms for it on average, now {plan.new_wait_s * 1e3:.1f} '
            f'ms (phase {plan.old_phase_s * 1e3:.1f} -> {plan.new_phase_s * 1e3:.1f} ms of the '
            f'{period_ms:.1f} ms period)')
