"""
Key presses from the terminal on stdin, without ROS and without X.

The terminal is put in cbreak mode (keys arrive one by one, no echo; Ctrl-C
still raises SIGINT) and restored on :meth:`TerminalKeys.close`, which also runs
at interpreter exit so that a crash never leaves the shell without echo.
"""

import atexit
import os
import select
import sys
import termios
import tty
from typing import List, Optional, TextIO

from hilserl.human.teleop.keys import KeyDecoder


class NotATerminal(ValueError):
    """stdin is not a terminal (a ValueError: run_node reports it as bad configuration)."""


class TerminalKeys:
    """Read key names from a terminal file descriptor without blocking."""

    def __init__(self, fd: Optional[int] = None, esc_timeout_s: float = 0.05):
        """Put ``fd`` (stdin by default) in cbreak mode; raise NotATerminal if it is not one."""
        self.fd = sys.stdin.fileno() if fd is None else fd
        if not os.isatty(self.fd):
            raise NotATerminal('stdin is not a terminal; start this node in a terminal of its '
                               'own (ros2 run, or the installed executable), not from a launch '
                               'file')
        self.decoder = KeyDecoder(esc_timeout_s)
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd, termios.TCSANOW)
        atexit.register(self.close)

    def read_keys(self, now: float) -> List[str]:
        """Return the keys typed since the last call (never blocks)."""
        data = b''
        while self._saved is not None and select.select([self.fd], [], [], 0)[0]:
            chunk = os.read(self.fd, 1024)
            if not chunk:
                break  # the terminal hung up
            data += chunk
        return self.decoder.feed(data, now)

    def close(self) -> None:
        """Restore the terminal as it was (idempotent)."""
        if self._saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            except termios.error:
                pass  # the terminal is gone; nothing to restore
            self._saved = None
            atexit.unregister(self.close)


class StatusLine:
    """One line of state, rewritten in place on a terminal, printed on change otherwise."""

    def __init__(self, stream: TextIO = None):
        """Write to ``stream`` (stderr by default)."""
        self.stream = stream or sys.stderr
        self.in_place = self.stream.isatty()
        self._last = None

    def show(self, text: str) -> None:
        """Show ``text`` if it differs from what is shown."""
        if text == self._last:
            return
        self._last = text
        if self.in_place:
            self.stream.write('\r' + text + '\x1b[K')
        else:
            self.stream.write(text + '\n')
        self.stream.flush()

    def print(self, text: str) -> None:
        """Print a line of its own (above the status line on a terminal)."""
        prefix = '\r\x1b[K' if self.in_place else ''
        self.stream.write(prefix + text + '\n')
        self._last = None
        self.stream.flush()

    def clear(self) -> None:
        """Blank the status line on a terminal, so a log line can start at column 0."""
        if self.in_place and self._last is not None:
            self.stream.write('\r\x1b[K')
            self.stream.flush()
        self._last = None

    def close(self) -> None:
        """End the status line so the shell prompt starts on a new line."""
        if self.in_place and self._last is not None:
            self.stream.write('\n')
            self.stream.flush()
