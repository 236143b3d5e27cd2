"""
How the reward classifier's output is shown to a person: terminal lines, rviz text; no ROS.

The classifier decides at camera rate (10-30 frame sets a second), too fast to read
line by line, so the terminal gets one summary per period; rviz gets a text above the
gripper, green on success, that changes with every set.
"""

from typing import List, Optional, Tuple

# Height of the rviz text above the TCP (m): clear of the gripper and the cube it holds.
TEXT_ABOVE_TCP_M = 0.08
TEXT_HEIGHT_M = 0.03
SUCCESS_COLOUR = (0.1, 0.9, 0.2, 1.0)
NO_SUCCESS_COLOUR = (0.95, 0.3, 0.2, 1.0)


def probability_text(probability: float, success: bool) -> str:
    """Return the rviz label, e.g. ``success p=0.93`` or ``p=0.12``."""
    return f'success p={probability:.2f}' if success else f'p={probability:.2f}'


def text_colour(success: bool) -> Tuple[float, float, float, float]:
    """Return the label's RGBA colour."""
    return SUCCESS_COLOUR if success else NO_SUCCESS_COLOUR


class ProbabilityReport:
    """Collect decisions; once per ``period_s`` return a one-line summary of them."""

    def __init__(self, period_s: float, threshold: float):
        """Report every ``period_s`` seconds (0: never)."""
        if period_s < 0:
            raise ValueError(f'report_period_s must be >= 0, got {period_s}')
        self.period_s = period_s
        self.threshold = threshold
        self._probabilities: List[float] = []
        self._successes = 0
        self._since: Optional[float] = None

    def add(self, now_s: float, probability: float, success: bool) -> Optional[str]:
        """Count one decision; return the summary line when the period is over."""
        if self.period_s == 0:
            return None
        if self._since is None:
            self._since = now_s
        self._probabilities.append(probability)
        self._successes += bool(success)
        if now_s - self._since < self.period_s:
            return None
        probabilities, successes = self._probabilities, self._successes
        self._probabilities, self._successes, self._since = [], 0, now_s
        verdict = 'SUCCESS' if success else 'no success'
        return (f'p={probability:.3f} {verdict} (threshold {self.threshold:.3f}); last '
                f'{len(probabilities)} sets: p {min(probabilities):.3f}-'
                f'{max(probabilities):.3f}, {successes} successes')
