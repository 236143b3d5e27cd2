"""
The Linux joystick API (``/dev/input/js*``) as ``sensor_msgs/Joy`` contents, without ROS.

The device delivers 8-byte ``struct js_event`` records (linux/joystick.h):
uint32 time in ms, int16 value, uint8 type (1 button, 2 axis, with 0x80 set for
the synthetic events that report the initial state right after opening), uint8
number. Axes are scaled the way the ``joy`` package does: -32768..32767 to
[-1, 1] with the sign flipped (stick up and left are positive), and a smooth
deadzone.
"""

from dataclasses import dataclass
import struct
from typing import List

JS_EVENT_BUTTON = 0x01
JS_EVENT_AXIS = 0x02
JS_EVENT_INIT = 0x80
RECORD = struct.Struct('<IhBB')  # little-endian, as on every Linux target we run on
AXIS_MAX = 32767

# ioctl requests for the axis and button counts: _IOR('j', 0x11 / 0x12, __u8).
JSIOCGAXES = 0x80016A11
JSIOCGBUTTONS = 0x80016A12


@dataclass(frozen=True)
class JsEvent:
    """One decoded ``struct js_event``."""

    time_ms: int
    value: int
    kind: int  # JS_EVENT_BUTTON or JS_EVENT_AXIS, the init flag removed
    number: int
    initial: bool

    def pack(self) -> bytes:
        """Return the 8 bytes the kernel would deliver (tests write these)."""
        kind = self.kind | (JS_EVENT_INIT if self.initial else 0)
        return RECORD.pack(self.time_ms & 0xFFFFFFFF, self.value, kind, self.number)


class JsEventReader:
    """Split a byte stream into events, keeping a partial record for the next read."""

    def __init__(self):
        """Start with nothing buffered."""
        self._pending = b''

    def feed(self, data: bytes) -> List[JsEvent]:
        """Return the complete events in ``data`` (after what was pending)."""
        buffer = self._pending + data
        whole = len(buffer) - len(buffer) % RECORD.size
        self._pending = buffer[whole:]
        events = []
        for time_ms, value, kind, number in RECORD.iter_unpack(buffer[:whole]):
            events.append(JsEvent(time_ms, value, kind & ~JS_EVENT_INIT, number,
                                  bool(kind & JS_EVENT_INIT)))
        return events


def scale_axis(raw: int, deadzone: float) -> float:
    """Return the joy-node value of a raw axis reading: [-1, 1], sign flipped."""
    raw = max(-AXIS_MAX, min(AXIS_MAX, int(raw)))
    dead = deadzone * AXIS_MAX
    if abs(raw) <= dead:
        return 0.0
    magnitude = (abs(raw) - dead) / (AXIS_MAX - dead)
    return -magnitude if raw > 0 else magnitude


class JoyState:
    """The axes and buttons of one device, grown as events name higher numbers."""

    def __init__(self, deadzone: float = 0.05, axes: int = 0, buttons: int = 0):
        """Start with ``axes`` centred axes and ``buttons`` released buttons."""
        if not 0.0 <= deadzone < 1.0:
            raise ValueError(f'deadzone must be in [0, 1), got {deadzone}')
        self.deadzone = deadzone
        self.axes: List[float] = [0.0] * axes
        self.buttons: List[int] = [0] * buttons

    def apply(self, event: JsEvent) -> bool:
        """Apply ``event``; return whether the published state changed."""
        if event.kind == JS_EVENT_AXIS:
            values, value = self.axes, scale_axis(event.value, self.deadzone)
            blank = 0.0
        elif event.kind == JS_EVENT_BUTTON:
            values, value, blank = self.buttons, 1 if event.value else 0, 0
        else:
            return False  # an event type this API does not define; ignore it
        grown = event.number >= len(values)
        if grown:
            values.extend([blank] * (event.number + 1 - len(values)))
        changed = grown or values[event.number] != value
        values[event.number] = value
        return changed

    def clear(self) -> None:
        """Centre every axis and release every button (the device went away)."""
        self.axes = [0.0] * len(self.axes)
        self.buttons = [0] * len(self.buttons)
