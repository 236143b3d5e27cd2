"""
When the reward classifier's probabilities make a success: a threshold held for a few sets; no ROS.

A classifier judges one frame set at a time. Near the boundary of the task (a cube
lifted a centimetre short of the goal, on its way up) a single set can pass the
threshold by a fluke of the pixels, and an episode that ends on it teaches the policy
to reach for that fluke. A success therefore needs ``frames`` consecutive sets at or
above the threshold (``frames`` = 1: every set on its own):

    success_t = all(p_{t-k} >= threshold for k in 0 .. frames - 1)

At 10 frame sets a second the default of 2 adds 0.1 s before an episode ends on a
success; a success the arm holds loses nothing.
"""

#: Consecutive frame sets at or above the threshold that make a success.
DEFAULT_SUCCESS_FRAMES = 2


class SuccessDecision:
    """Turn a stream of probabilities into success decisions (see the module)."""

    def __init__(self, threshold: float, frames: int = DEFAULT_SUCCESS_FRAMES):
        """Decide with ``threshold`` held over ``frames`` consecutive sets."""
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f'success_threshold must be in [0, 1], got {threshold}')
        if frames < 1:
            raise ValueError(f'success_frames must be 1 or more, got {frames}')
        self.threshold = threshold
        self.frames = frames
        self._run = 0   # consecutive sets at or above the threshold so far

    def add(self, probability: float) -> bool:
        """Take the next set's probability; return whether this set makes a success."""
        self._run = self._run + 1 if probability >= self.threshold else 0
        return self._run >= self.frames

    def reset(self) -> None:
        """Forget the sets so far (a new episode: its first sets count afresh)."""
        self._run = 0
