"""
``sensor_msgs/Joy`` from the Linux joystick API, for machines without the ``joy`` package.

Reads ``struct js_event`` records from ``device`` (``/dev/input/js0``) and
publishes ``joy`` the way the ``joy`` node does: axes in [-1, 1] with stick up
and left positive, a deadzone, a message on every change and, while nothing
changes, again at ``autorepeat_rate``. A missing or unplugged device is reported
in one line and retried every ``retry_interval_s``; the pad's state is cleared
(one all-released message) when it goes away, so a held stick stops there.
The decoding is in :mod:`hilserl.human.teleop.js_event`.
"""

import errno
import fcntl
import os
import time
from typing import Optional

from rclpy.node import Node
from sensor_msgs.msg import Joy

from hilserl.human.teleop.js_event import (JoyState, JsEventReader, JSIOCGAXES, JSIOCGBUTTONS)
from hilserl_common.node_support import declare, run_node

# Device polling period; one record is 8 bytes, a pad sends a few hundred per second.
POLL_PERIOD_S = 0.01


def _count(fd: int, request: int) -> int:
    """Return the axis or button count from the driver, 0 if it cannot tell (a FIFO)."""
    buffer = bytearray(1)
    try:
        fcntl.ioctl(fd, request, buffer)
    except OSError:
        return 0
    return buffer[0]


class JoyPublisherNode(Node):
    """Publish ``joy`` from a joystick device; see the module docstring."""

    def __init__(self, **kwargs):
        """Declare the parameters and start polling the device."""
        super().__init__('joy_publisher', **kwargs)
        self._fd: Optional[int] = None  # set first: destroy_node may run on a refused config
        self._device = declare(self, 'device', '/dev/input/js0',
                               'Joystick device (Linux joystick API).')
        self._deadzone = declare(self, 'deadzone', 0.05,
                                 'Axis values within this of 0 are published as 0, [0, 1).')
        autorepeat = declare(self, 'autorepeat_rate', 20.0,
                             'Republish the unchanged state at this rate (Hz); 0: only on '
                             'change.')
        self._retry_s = declare(self, 'retry_interval_s', 1.0,
                                'Time between attempts to open a missing device, s.')
        self._frame_id = declare(self, 'frame_id', 'joy', 'frame_id of the Joy header.')
        if autorepeat < 0:
            raise ValueError(f'autorepeat_rate must not be negative, got {autorepeat}')
        if self._retry_s <= 0:
            raise ValueError(f'retry_interval_s must be positive, got {self._retry_s}')
        JoyState(self._deadzone)  # validates the deadzone
        self._repeat_s = 1.0 / autorepeat if autorepeat > 0 else None
        self._publisher = self.create_publisher(Joy, 'joy', 10)
        self._state = JoyState(self._deadzone)
        self._reader = JsEventReader()
        self._next_open = 0.0
        self._last_publish = 0.0
        self._last_problem = None
        self.create_timer(POLL_PERIOD_S, self._poll)

    def _open(self, now: float) -> None:
        self._next_open = now + self._retry_s
        try:
            fd = os.open(self._device, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as error:
            hint = (" (add yourself to the 'input' group)" if error.errno == errno.EACCES
                    else '')
            self._problem(f'cannot open joystick {self._device}: {error.strerror}{hint}; '
                          f'retrying every {self._retry_s:g} s')
            return
        self._fd = fd
        self._state = JoyState(self._deadzone, _count(fd, JSIOCGAXES), _count(fd, JSIOCGBUTTONS))
        self._reader = JsEventReader()
        self._last_problem = None
        self.get_logger().info(f'joystick {self._device} opened ({len(self._state.axes)} axes, '
                               f'{len(self._state.buttons)} buttons as reported by the driver)')

    def _problem(self, text: str) -> None:
        """Log ``text`` once, not on every retry."""
        if text != self._last_problem:
            self._last_problem = text
            self.get_logger().warning(text)

    def _lost(self, error: OSError) -> None:
        os.close(self._fd)
        self._fd = None
        self._state.clear()
        self._publish(time.monotonic())
        self._problem(f'joystick {self._device} lost ({error.strerror}); retrying every '
                      f'{self._retry_s:g} s')

    def _poll(self) -> None:
        now = time.monotonic()
        if self._fd is None:
            if now >= self._next_open:
                self._open(now)
            if self._fd is None:
                return
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            data = b''
        except OSError as error:  # ENODEV: unplugged
            self._lost(error)
            return
        changed = False
        for event in self._reader.feed(data):
            changed |= self._state.apply(event)
        repeat = self._repeat_s is not None and now - self._last_publish >= self._repeat_s
        # Until the driver's initial events come (a FIFO has no ioctl), there is nothing to say.
        if (changed or repeat) and (self._state.axes or self._state.buttons):
            self._publish(now)

    def _publish(self, now: float) -> None:
        msg = Joy(axes=[float(v) for v in self._state.axes], buttons=list(self._state.buttons))
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self._frame_id
        self._publisher.publish(msg)
        self._last_publish = now

    def destroy_node(self):
        """Close the device."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return super().destroy_node()


def main(args=None):
    """Run the joystick publisher until shut down."""
    run_node(JoyPublisherNode, args)


if __name__ == '__main__':
    main()
