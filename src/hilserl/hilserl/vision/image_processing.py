"""
Crop and resize camera frames; plain NumPy/OpenCV, no ROS.

The processor node is a thin shell around this module so that the image
arithmetic can be tested on known pixels without starting a ROS graph.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np


class ImageProcessingError(ValueError):
    """A frame or a setting that the processor cannot handle."""


@dataclass(frozen=True)
class CropBox:
    """A region of interest in pixels: ``[top, left, height, width]``."""

    top: int
    left: int
    height: int
    width: int

    @classmethod
    def from_sequence(cls, values: Sequence[int]) -> 'CropBox':
        """Build a crop from ``[top, left, height, width]``, rejecting nonsense early."""
        values = list(values)
        if len(values) != 4:
            raise ImageProcessingError(
                f'crop must be [top, left, height, width], got {len(values)} values {values}')
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            raise ImageProcessingError(f'crop values must be integers, got {values}')
        top, left, height, width = (int(v) for v in values)
        if top < 0 or left < 0:
            raise ImageProcessingError(f'crop top and left must be >= 0, got {values}')
        if height <= 0 or width <= 0:
            raise ImageProcessingError(f'crop height and width must be > 0, got {values}')
        return cls(top, left, height, width)

    def as_list(self) -> list:
        """Return ``[top, left, height, width]``."""
        return [self.top, self.left, self.height, self.width]

    def check_fits(self, image_height: int, image_width: int) -> None:
        """Raise if the crop reaches outside an image of the given size."""
        if self.top + self.height > image_height or self.left + self.width > image_width:
            raise ImageProcessingError(
                f'crop {self.as_list()} reaches outside the {image_height}x{image_width} image')


def parse_size(values: Sequence[int]) -> Tuple[int, int]:
    """Validate a ``[height, width]`` output size."""
    values = list(values)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ImageProcessingError(f'resize_size must be [height, width], got {values}')
    height, width = int(values[0]), int(values[1])
    if height <= 0 or width <= 0:
        raise ImageProcessingError(f'resize_size must be positive, got {values}')
    return height, width


def crop_and_resize(image: np.ndarray, crop: Optional[CropBox],
                    size: Tuple[int, int]) -> np.ndarray:
    """
    Crop ``image`` (H×W or H×W×C, uint8) to ``crop`` and resize it to ``size`` = (h, w).

    Shrinking uses area averaging, which is what a 128-pixel policy input wants:
    every source pixel contributes, so thin features are not aliased away.
    Enlarging uses bilinear interpolation.
    """
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageProcessingError(f'expected a non-empty H×W or H×W×C image, got {image.shape}')
    if crop is not None:
        crop.check_fits(image.shape[0], image.shape[1])
        image = image[crop.top:crop.top + crop.height, crop.left:crop.left + crop.width]
    out_height, out_width = size
    if image.shape[0] == out_height and image.shape[1] == out_width:
        return np.ascontiguousarray(image)
    shrinking = out_height <= image.shape[0] and out_width <= image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(image, (out_width, out_height), interpolation=interpolation)
    if image.ndim == 3 and resized.ndim == 2:
        # OpenCV drops a trailing channel axis of length 1; keep the caller's layout.
        resized = resized[:, :, np.newaxis]
    return resized
