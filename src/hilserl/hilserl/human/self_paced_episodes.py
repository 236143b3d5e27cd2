"""
Episodes the scripted human runs on its own, where no recorder or actor does; no ROS.

The scripted human acts only inside an episode, and in record and train modes the
recorder or the actor starts and ends them. Classifier mode's test use has neither, so
:class:`SelfPacedEpisodes` tells the scripted human, tick by tick, what to do: reset
the arm, start an episode once the reset is done, and end it ``pause_after_outcome_s``
after its outcome (SUCCESS or FAILURE), so a person watching the classifier sees the
outcome held for a while before the next reset. A reset whose reply has not come within
``reset_timeout_s`` (a reply lost in DDS, an arm that hangs) is asked for again.
"""

from typing import Optional

from hilserl.defaults import RESET_RETRY_S

RESET = 'reset'
START = 'start'
END = 'end'


class SelfPacedEpisodes:
    """Reset, start, outcome, pause, end; again. Time is passed in."""

    def __init__(self, pause_after_outcome_s: float,
                 reset_timeout_s: float = RESET_RETRY_S):
        """Begin with a reset, before episode 0."""
        if not pause_after_outcome_s >= 0:
            raise ValueError(f'pause_after_outcome_s must be >= 0, got {pause_after_outcome_s}')
        if not reset_timeout_s > 0:
            raise ValueError(f'reset_timeout_s must be > 0, got {reset_timeout_s}')
        self.pause_s = pause_after_outcome_s
        self.reset_timeout_s = reset_timeout_s
        self.episode_index = -1
        # Counts RESETs; a reply names the attempt it answers, so a late one is ignored.
        self.reset_attempt = 0
        self._state = 'idle'   # idle -> resetting -> reset -> running -> idle
        self._outcome_at: Optional[float] = None
        self._reset_at = 0.0
        self.reset_timed_out = False   # this tick's RESET replaces one never answered

    @property
    def running(self) -> bool:
        """Return whether an episode is under way."""
        return self._state == 'running'

    def tick(self, now_s: float) -> Optional[str]:
        """Return what to do now: RESET (call the reset), START, END, or None."""
        self.reset_timed_out = (self._state == 'resetting'
                                and now_s - self._reset_at >= self.reset_timeout_s)
        if self._state == 'idle' or self.reset_timed_out:
            self._state = 'resetting'
            self._reset_at = now_s
            self.reset_attempt += 1
            return RESET
        if self._state == 'reset':
            self._state = 'running'
            self.episode_index += 1
            self._outcome_at = None
            return START
        if (self._state == 'running' and self._outcome_at is not None
                and now_s - self._outcome_at >= self.pause_s):
            self._state = 'idle'
            return END
        return None

    def reset_finished(self, succeeded: bool, attempt: Optional[int] = None) -> None:
        """
        Take the reset's result: start next, or reset again on the next tick.

        ``attempt`` is :attr:`reset_attempt` when the reset was asked for (default: the
        latest); the reply to an attempt given up on is ignored.
        """
        if attempt is not None and attempt != self.reset_attempt:
            return
        if self._state == 'resetting':
            self._state = 'reset' if succeeded else 'idle'

    def outcome(self, now_s: float) -> None:
        """Note the episode's SUCCESS or FAILURE; it ends after the pause."""
        if self._state == 'running' and self._outcome_at is None:
            self._outcome_at = now_s
