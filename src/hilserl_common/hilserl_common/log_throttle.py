"""
Rate-limit repeated error reports per key; no ROS.

A camera that sends a bad frame usually sends thirty a second. Each distinct
(camera, problem) pair is reported at most once per period, with a count of
what was suppressed in between, so the log stays readable and nothing is hidden.
"""

import time
from typing import Callable, Dict, Hashable, Optional


class LogThrottle:
    """Decide which repeated reports to emit."""

    def __init__(self, period_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        """Report each key at most once every ``period_s`` seconds of ``clock``."""
        self.period_s = period_s
        self._clock = clock
        self._last_report: Dict[Hashable, float] = {}
        self._suppressed: Dict[Hashable, int] = {}
        self.total: Dict[Hashable, int] = {}

    def check(self, key: Hashable) -> Optional[int]:
        """
        Count one occurrence of ``key``.

        Returns None when it should stay silent, otherwise the number of
        occurrences suppressed since the last report (0 for the first one).
        """
        self.total[key] = self.total.get(key, 0) + 1
        now = self._clock()
        last = self._last_report.get(key)
        if last is not None and now - last < self.period_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._last_report[key] = now
        return self._suppressed.pop(key, 0)
