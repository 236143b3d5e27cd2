"""
Episodes the scripted human runs on its own, where no recorder or actor does; no ROS.

The scripted human acts only inside an episode, and in record and train modes the
recorder or the actor starts and ends them. Classifier mode's test use has neither, so
:class:`SelfPacedEpisodes` tells the scripted human, tick by tick, what to do: reset
the arm, start an episode once the reset is done, and end it ``pause_after_outcome_s``
after its outcome (SUCCESS or FAILURE), so a person watching the classifier sees the
outcome held for a while before the next reset.
"""

from typing import Optional

RESET = 'reset'
START = 'start'
END = 'end'


class SelfPacedEpisodes:
    """Reset, start, outcome, pause, end; again. Time is passed in."""

    def __init__(self, pause_after_outcome_s: float):
        """Begin with a reset, before episode 0."""
        if not pause_after_outcome_s >= 0:
            raise ValueError(f'pause_after_outcome_s must be >= 0, got {pause_after_outcome_s}')
        self.pause_s = pause_after_outcome_s
        self.episode_index = -1
        self._state = 'idle'   # idle -> resetting -> reset -> running -> idle
        self._outcome_at: Optional[float] = None

    @property
    def running(self) -> bool:
        """Return whether an episode is under way."""
        return self._state == 'running'

    def tick(self, now_s: float) -> Optional[str]:
        """Return what to do now: RESET (call the reset), START, END, or None."""
        if self._state == 'idle':
            self._state = 'resetting'
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

    def reset_finished(self, succeeded: bool) -> None:
        """Take the reset's result: start next, or reset again on the next tick."""
        if self._state == 'resetting':
            self._state = 'reset' if succeeded else 'idle'

    def outcome(self, now_s: float) -> None:
        """Note the episode's SUCCESS or FAILURE; it ends after the pause."""
        if self._state == 'running' and self._outcome_at is None:
            self._outcome_at = now_s
