"""The crop window's logic, driven by synthetic mouse and key events on the Agg canvas."""

import os
import subprocess
import sys

from matplotlib.backend_bases import KeyEvent, MouseEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
import pytest

from hilserl.vision.crop_selector import CropSelector
from hilserl.vision.image_processing import crop_and_resize, CropBox

FRAME = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
SIZE = (8, 10)


def make_selector(initial=None, done=None):
    figure = Figure()
    FigureCanvasAgg(figure)
    selector = CropSelector(figure, 'front', FRAME, SIZE, initial, on_done=done)
    figure.canvas.draw()
    return selector


def mouse(selector, name, xdata, ydata):
    """Send a left-button mouse event at frame coordinates (x: column, y: row)."""
    x, y = selector.frame_axes.transData.transform((xdata, ydata))
    MouseEvent(name, selector.figure.canvas, x, y, button=1)._process()


def drag(selector, start, end):
    mouse(selector, 'button_press_event', *start)
    mouse(selector, 'motion_notify_event', *end)
    mouse(selector, 'button_release_event', *end)


def key(selector, name):
    KeyEvent('key_press_event', selector.figure.canvas, name)._process()


def test_a_dragged_rectangle_is_the_crop_in_frame_pixels_and_its_preview_is_the_processors():
    done = []
    selector = make_selector(done=done.append)
    # From the top-left corner of pixel (row 3, column 4) to the bottom-right of (14, 19).
    drag(selector, (3.5, 2.5), (19.5, 14.5))
    assert selector.box == CropBox(top=3, left=4, height=12, width=16)
    np.testing.assert_array_equal(selector.preview(),
                                  crop_and_resize(FRAME, selector.box, SIZE))
    np.testing.assert_array_equal(selector._preview.get_array(), selector.preview())
    assert done == []
    key(selector, 'enter')
    assert selector.accepted is True and done == [selector]


def test_a_rectangle_dragged_past_the_frame_is_clipped_to_it():
    selector = make_selector()
    drag(selector, (19.8, 9.7), (40.0, 30.0))   # from inside pixel (row 10, column 20)
    box = selector.box
    assert (box.left, box.top) == (20, 10)
    assert box.left + box.width == FRAME.shape[1] and box.top + box.height == FRAME.shape[0]


def test_the_present_crop_is_shown_and_kept_when_accepted_unchanged():
    present = CropBox(top=2, left=5, height=10, width=12)
    selector = make_selector(initial=present)
    assert selector.box == present
    np.testing.assert_array_equal(selector._preview.get_array(),
                                  crop_and_resize(FRAME, present, SIZE))
    key(selector, 'enter')
    assert selector.accepted is True


@pytest.mark.parametrize('name', ['escape', 'c'])
def test_escape_or_c_skips_the_camera(name):
    done = []
    selector = make_selector(done=done.append)
    drag(selector, (3.5, 2.5), (19.5, 14.5))
    key(selector, name)
    assert selector.accepted is False and done == [selector]


def test_enter_without_a_rectangle_does_nothing():
    done = []
    selector = make_selector(done=done.append)
    key(selector, 'enter')
    assert selector.accepted is None and selector.box is None and done == []


def test_no_window_is_one_line_not_a_traceback(tmp_path):
    """A display that cannot be opened: the crop command says so and how to go on."""
    params = tmp_path / 'processor.yaml'
    params.write_text('image_processor:\n  ros__parameters:\n    resize_size: [8, 10]\n')
    code = ('import sys\n'
            'from hilserl.vision import crop_roi\n'
            'import numpy as np\n'
            'frames = {"front": np.zeros((24, 32, 3), np.uint8)}\n'
            'try:\n'
            '    crop_roi.select_interactively(frames, ["front"],\n'
            f'                                   crop_roi.ProcessorParameters({str(params)!r}))\n'
            'except crop_roi.CropToolError as error:\n'
            '    print(error)\n'
            '    sys.exit(3)\n')
    environment = {**os.environ, 'DISPLAY': ':97'}   # no X server there
    environment.pop('WAYLAND_DISPLAY', None)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env=environment, timeout=60)
    assert result.returncode == 3, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('cannot open a window (TkAgg:')
    assert lines[0].endswith('--camera NAME=top,left,height,width')
    assert 'Traceback' not in result.stderr
