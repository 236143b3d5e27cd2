"""
Choose the image processor's crop rectangles from recorded frames; no ROS.

The processor crops raw camera frames (``<camera>.crop`` = ``[top, left, height, width]``)
and resizes them to ``resize_size``. This module parses rectangles given on the command
line or dragged in a window (:mod:`hilserl.vision.crop_selector`), checks them against a
frame, writes them into the processor's parameter file (ruamel.yaml round trip, so the
file's comments and order survive) and saves previews of the processed result.
"""

import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from hilserl.vision.image_processing import (CropBox, crop_and_resize, ImageProcessingError,
                                             parse_size)

NODE_KEYS = ('image_processor', '/image_processor', '/**')
DEFAULT_RESIZE = (128, 128)


class CropToolError(Exception):
    """Bad input to the crop tool, reported as one line."""


def parse_camera_rectangle(text: str) -> Tuple[str, CropBox]:
    """Parse ``camera=top,left,height,width`` into the camera name and its crop."""
    camera, separator, numbers = text.partition('=')
    camera = camera.strip()
    if not separator or not camera:
        raise CropToolError(f"expected CAMERA=top,left,height,width, got '{text}'")
    try:
        values = [int(value) for value in numbers.replace(' ', '').split(',')]
    except ValueError:
        raise CropToolError(f"bad rectangle for camera '{camera}' in '{text}': values must "
                            'be integers') from None
    try:
        return camera, CropBox.from_sequence(values)
    except ImageProcessingError as error:
        raise CropToolError(f"bad rectangle for camera '{camera}' in '{text}': {error}") \
            from None


def check_inside(camera: str, box: CropBox, frame: np.ndarray) -> None:
    """Raise unless ``box`` lies inside ``frame``."""
    try:
        box.check_fits(frame.shape[0], frame.shape[1])
    except ImageProcessingError as error:
        raise CropToolError(f"camera '{camera}': {error}") from None


def _yaml():
    from ruamel.yaml import YAML
    yaml = YAML()   # round trip: keeps comments, key order and flow style
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


class ProcessorParameters:
    """The image processor's parameter file, edited in place with its comments kept."""

    def __init__(self, path: str) -> None:
        """Load ``path`` and find the processor's ``ros__parameters``."""
        from ruamel.yaml import YAMLError
        self.path = path
        try:
            with open(path, encoding='utf-8') as stream:
                self.document = _yaml().load(stream)
        except (OSError, YAMLError) as error:
            raise CropToolError(f'cannot read {path}: {error}') from None
        self.parameters = None
        for key in NODE_KEYS:
            node = self.document.get(key) if isinstance(self.document, dict) else None
            if isinstance(node, dict) and isinstance(node.get('ros__parameters'), dict):
                self.parameters = node['ros__parameters']
                break
        if self.parameters is None:
            raise CropToolError(f'{path} has no image_processor: ros__parameters: section')

    @property
    def camera_names(self) -> List[str]:
        """Return the file's ``camera_names`` (empty when it has none)."""
        return [str(name) for name in self.parameters.get('camera_names') or []]

    @property
    def resize_size(self) -> Tuple[int, int]:
        """Return the file's ``resize_size`` ``(height, width)``."""
        try:
            return parse_size(self.parameters.get('resize_size', list(DEFAULT_RESIZE)))
        except ImageProcessingError as error:
            raise CropToolError(f'{self.path}: {error}') from None

    def check_camera(self, camera: str) -> None:
        """Raise if the file configures cameras and ``camera`` is not one of them."""
        if self.camera_names and camera not in self.camera_names:
            raise CropToolError(f"camera '{camera}' is not in camera_names "
                                f"{self.camera_names} of {self.path}")

    def present_crop(self, camera: str) -> Optional[CropBox]:
        """Return ``<camera>.crop`` as the file has it, or None (none, or not a valid crop)."""
        section = self.parameters.get(camera)
        values = section.get('crop') if isinstance(section, dict) else None
        try:
            return CropBox.from_sequence(values) if values else None
        except ImageProcessingError:
            return None

    def set_crop(self, camera: str, box: CropBox) -> None:
        """Set ``<camera>.crop``, written as a flow list ``[top, left, height, width]``."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq
        values = CommentedSeq(box.as_list())
        values.fa.set_flow_style()
        section = self.parameters.get(camera)
        if not isinstance(section, dict):
            section = CommentedMap()
            self.parameters[camera] = section
        section['crop'] = values

    def save(self) -> None:
        """Write the file back, through a temporary file so a failure leaves it intact."""
        temporary = f'{self.path}.tmp'
        with open(temporary, 'w', encoding='utf-8') as stream:
            _yaml().dump(self.document, stream)
        os.replace(temporary, self.path)


def save_previews(frames: Dict[str, np.ndarray], crops: Dict[str, CropBox],
                  size: Tuple[int, int], preview_dir: str) -> List[str]:
    """Save ``<camera>_crop.png``: each frame cropped and resized as the processor does."""
    import cv2
    os.makedirs(preview_dir, exist_ok=True)
    written = []
    for camera, box in crops.items():
        processed = crop_and_resize(frames[camera], box, size)
        path = os.path.join(preview_dir, f'{camera}_crop.png')
        if not cv2.imwrite(path, np.ascontiguousarray(processed[..., ::-1])):
            raise CropToolError(f'cannot write {path}')
        written.append(path)
    return written


def display_available() -> bool:
    """Return whether a window can be opened (an X11 or Wayland display on Linux)."""
    if not sys.platform.startswith('linux'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))


def select_interactively(frames: Dict[str, np.ndarray], cameras: Sequence[str],
                         parameters: 'ProcessorParameters') -> Dict[str, CropBox]:
    """
    Let the user drag a rectangle on each camera's frame, with the processed preview beside it.

    Enter accepts, c or Esc skips the camera (its crop stays as it is).
    """
    from hilserl.vision.crop_selector import CropSelectorError, select_with_windows
    present = {camera: box for camera in cameras
               if (box := parameters.present_crop(camera)) is not None}
    try:
        return select_with_windows(frames, cameras, parameters.resize_size, present)
    except CropSelectorError as error:
        raise CropToolError(f'{error}: pass the rectangles with '
                            '--camera NAME=top,left,height,width') from None
