"""
Generated camera frames for trying the suite without a camera; no ROS.

The pattern moves (colour bars scroll, a white square orbits) so a consumer
can see that frames are fresh, and it is a pure function of the frame index so
tests can predict every pixel.
"""

import numpy as np

BAR_COLOURS_RGB = np.array([
    [255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
    [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0],
], dtype=np.uint8)


class TestPattern:
    """Render frame ``i`` of a moving colour-bar pattern at a fixed size."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, height: int, width: int, seed: int = 0):
        """Precompute the bars once; frames are then a roll and a square."""
        if height <= 0 or width <= 0:
            raise ValueError(f'test pattern size must be positive, got {height}x{width}')
        self.height, self.width = height, width
        bar_of_column = (np.arange(width) * len(BAR_COLOURS_RGB)) // width
        row = BAR_COLOURS_RGB[bar_of_column]
        self._bars = np.broadcast_to(row, (height, width, 3)).copy()
        self._square = max(4, min(height, width) // 8)
        self._phase = seed % max(1, width)

    def frame(self, index: int) -> np.ndarray:
        """Return frame ``index`` as an H×W×3 RGB uint8 array."""
        shift = (index * 4 + self._phase) % self.width
        image = np.roll(self._bars, shift, axis=1)
        top, left = self.square_position(index)
        image[top:top + self._square, left:left + self._square] = 255
        return image

    def square_position(self, index: int) -> tuple:
        """Return the (top, left) corner of the orbiting square in frame ``index``."""
        angle = 2.0 * np.pi * (index % 120) / 120.0
        centre_y, centre_x = self.height / 2.0, self.width / 2.0
        radius = min(self.height, self.width) / 4.0
        top = int(centre_y + radius * np.sin(angle)) - self._square // 2
        left = int(centre_x + radius * np.cos(angle)) - self._square // 2
        return (min(max(top, 0), self.height - self._square),
                min(max(left, 0), self.width - self._square))
