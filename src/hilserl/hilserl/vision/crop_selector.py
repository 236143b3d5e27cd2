"""
Drag a crop rectangle on a camera frame and see what the image processor will publish; no ROS.

One matplotlib figure per camera: the raw frame on the left with a draggable, resizable
rectangle (matplotlib's ``RectangleSelector``), on the right the rectangle's content
cropped and resized exactly as the processor does (``crop_and_resize``), redrawn on every
change. Enter accepts the rectangle, Escape or ``c`` keeps the camera's crop as it was.

:class:`CropSelector` works on any matplotlib canvas, so tests drive it with synthetic
mouse and key events on the headless Agg backend; :func:`select_with_windows` opens the
windows on an interactive backend (TkAgg, which needs only the Python standard library's
tkinter) and says in one line why when it cannot.
"""

from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from hilserl.vision.image_processing import CropBox, crop_and_resize

ACCEPT_KEYS = ('enter',)
SKIP_KEYS = ('escape', 'c')
INTERACTIVE_BACKENDS = ('TkAgg', 'QtAgg', 'GTK4Agg', 'GTK3Agg')


class CropSelectorError(Exception):
    """No window can be opened, reported as one line."""


class CropSelector:
    """One camera's frame with a draggable crop rectangle and the processed preview."""

    def __init__(self, figure, camera: str, frame: np.ndarray, resize_size: Tuple[int, int],
                 initial: Optional[CropBox] = None,
                 on_done: Optional[Callable[['CropSelector'], None]] = None):
        """Draw ``frame`` (H x W x 3 RGB) on ``figure``; ``initial`` shows the present crop."""
        from matplotlib.widgets import RectangleSelector
        self.camera, self.frame, self.resize_size = camera, frame, tuple(resize_size)
        self.accepted: Optional[bool] = None   # None while undecided
        self._on_done = on_done
        self.figure = figure
        self.frame_axes, self.preview_axes = figure.subplots(
            1, 2, gridspec_kw={'width_ratios': [3, 1]})
        self.frame_axes.imshow(frame)
        self.frame_axes.set_title(f'{camera}: drag the crop - Enter accepts, Esc skips')
        self.preview_axes.set_title(f'published {self.resize_size[0]}x{self.resize_size[1]}')
        self.preview_axes.set_axis_off()
        self.selector = RectangleSelector(
            self.frame_axes, lambda press, release: self._show_preview(), useblit=False,
            button=[1], minspanx=2, minspany=2, spancoords='pixels', interactive=True,
            props={'edgecolor': 'yellow', 'fill': False, 'linewidth': 2})
        self._preview = None
        if initial is not None:
            top, left = initial.top, initial.left
            self.selector.extents = (left - 0.5, left + initial.width - 0.5,
                                     top - 0.5, top + initial.height - 0.5)
            self.selector.set_visible(True)
            self._show_preview()
        figure.canvas.mpl_connect('key_press_event', self._on_key)

    @property
    def box(self) -> Optional[CropBox]:
        """Return the frame pixels whose centres the rectangle covers; None if none drawn."""
        x0, x1, y0, y1 = self.selector.extents
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None
        height, width = self.frame.shape[:2]
        # Pixel i spans [i - 0.5, i + 0.5] in imshow's data coordinates, its centre at i.
        left = int(np.clip(np.ceil(x0), 0, width - 1))
        top = int(np.clip(np.ceil(y0), 0, height - 1))
        right = int(np.clip(np.floor(x1) + 1, left + 1, width))
        bottom = int(np.clip(np.floor(y1) + 1, top + 1, height))
        return CropBox(top, left, bottom - top, right - left)

    def preview(self) -> Optional[np.ndarray]:
        """Return what the processor publishes for the present rectangle."""
        box = self.box
        return None if box is None else crop_and_resize(self.frame, box, self.resize_size)

    def _show_preview(self) -> None:
        image = self.preview()
        if image is None:
            return
        if self._preview is None:
            self._preview = self.preview_axes.imshow(image)
        else:
            self._preview.set_data(image)
        box = self.box
        self.preview_axes.set_xlabel(f'crop {box.as_list()}')
        self.figure.canvas.draw_idle()

    def _on_key(self, event) -> None:
        if event.key in ACCEPT_KEYS and self.box is not None:
            self.accepted = True
        elif event.key in SKIP_KEYS:
            self.accepted = False
        else:
            return
        if self._on_done is not None:
            self._on_done(self)


def open_interactive_backend() -> str:
    """Switch matplotlib to the first interactive backend that loads; return its name."""
    import matplotlib
    from matplotlib import pyplot
    failures = []
    for backend in INTERACTIVE_BACKENDS:
        try:
            pyplot.switch_backend(backend)
            figure = pyplot.figure()   # fails here when no display can be opened
            pyplot.close(figure)
            return matplotlib.get_backend()
        except Exception as error:   # ImportError, TclError, RuntimeError, ... per toolkit
            failures.append(f'{backend}: {str(error).splitlines()[0] if str(error) else error}')
    raise CropSelectorError('cannot open a window (' + '; '.join(failures) + ')')


def select_with_windows(frames: Dict[str, np.ndarray], cameras: Sequence[str],
                        resize_size: Tuple[int, int],
                        present: Dict[str, CropBox]) -> Dict[str, CropBox]:
    """Open one window per camera in turn; return the accepted rectangles."""
    from matplotlib import pyplot
    open_interactive_backend()
    crops = {}
    for camera in cameras:
        figure = pyplot.figure(figsize=(10, 5))
        figure.canvas.manager.set_window_title(f'hilserl crop: {camera}')
        selector = CropSelector(figure, camera, frames[camera], resize_size,
                                present.get(camera),
                                on_done=lambda chosen: pyplot.close(chosen.figure))
        pyplot.show(block=True)   # returns when the window closes (key or close button)
        if selector.accepted and selector.box is not None:
            crops[camera] = selector.box
    return crops
