"""
SIGINT and SIGTERM as a request to stop, however many come and whenever they come.

A process under ``ros2 launch`` or ``hilserl launch`` can get several: Ctrl-C pressed
twice; the terminal's SIGINT and, when launch runs without a terminal, launch's own
SIGINT to every node; SIGTERM when a node has not exited ``sigterm_timeout`` seconds
after the SIGINT. Python's default handler raises KeyboardInterrupt on every SIGINT,
also one that lands in a final save or in a thread's join, and SIGTERM kills at once.

:class:`StopSignals` handles both alike and raises KeyboardInterrupt (in the main
thread) at most once, to interrupt the work in progress: at the first signal when
``grace_s`` is 0 (a command), or at a later one that comes ``grace_s`` or more after
the first (a node: the first signal is only a request, which rclpy's own handler
carries out by waking the executor and shutting the context down once the running
callback returns; a later one forces a callback that keeps it from returning). Once
the cleanup has begun (:meth:`StopSignals.stop_interrupting`) nothing is raised: the
signals are counted and reported once on stderr, and the process exits as its cleanup
says.
"""

import os
import signal
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def signal_name(signum: int) -> str:
    """Return e.g. ``'SIGINT'`` for ``signal.SIGINT``."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f'signal {signum}'


def write_stderr(text: str) -> None:
    """Write ``text`` to stderr in one write(2) call, never raising."""
    # Safe inside a signal handler, whatever the main thread was printing when the
    # signal came (Python's buffered streams refuse re-entry).
    try:
        os.write(2, text.encode(errors='replace'))
    except OSError:
        pass


def flush_standard_streams() -> None:
    """Flush stdout and stderr before an ``os._exit``, never raising."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:   # e.g. the main thread was writing to it when the signal came
            pass


class StopSignals:
    """
    The process's SIGINT and SIGTERM handler: stop once, never cut the cleanup short.

    ``name`` prefixes the one line printed when signals come during the cleanup;
    ``grace_s``: see the module documentation.
    """

    def __init__(self, name: str, grace_s: float = 0.0,
                 write: Callable[[str], None] = write_stderr):
        """Prepare the handler; :meth:`install` puts it in place."""
        self.name = name
        self.grace_s = grace_s
        self.received: List[int] = []
        self._write = write
        self._first_at: Optional[float] = None
        self._interrupting = True
        self._reported = False
        self._previous: Dict[int, object] = {}

    @property
    def requested(self) -> bool:
        """Return whether a stop signal has come."""
        return bool(self.received)

    @property
    def interrupting(self) -> bool:
        """Return whether a signal may still raise KeyboardInterrupt."""
        return self._interrupting

    def install(self) -> 'StopSignals':
        """Handle SIGINT and SIGTERM from now on; off the main thread, which cannot, not."""
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self.handle)
        return self

    def restore(self) -> None:
        """Put back the handlers that :meth:`install` replaced."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def ignore(self) -> None:
        """
        Ignore SIGINT and SIGTERM from now on: the process is about to exit.

        Python's finalization resets a signal with a Python handler to its default, and
        SIGTERM's kills: a launcher's SIGTERM that came then would turn an exit with
        status 0 into one by signal. An ignored signal stays ignored.
        """
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)

    def stop_interrupting(self) -> None:
        """Only count signals from now on: the cleanup has begun."""
        self._interrupting = False

    def handle(self, signum: int, _frame=None) -> None:
        """Count ``signum``; raise KeyboardInterrupt if it is the one that interrupts."""
        now = time.monotonic()
        self.received.append(signum)
        if self._first_at is None:
            self._first_at = now
        if self._interrupting and now - self._first_at >= self.grace_s:
            self._interrupting = False
            raise KeyboardInterrupt
        if len(self.received) > 1 and not self._reported:
            self._reported = True
            again = ' again' if signum in self.received[:-1] else ''
            what = 'finishing the shutdown first' if not self._interrupting else (
                f'waiting for the work in progress (one {self.grace_s:g} s after the first '
                'interrupts it)')
            self._write(f'[{self.name}] {signal_name(signum)}{again} while stopping: '
                        f'ignored; {what}\n')

    def __enter__(self) -> 'StopSignals':
        """Install the handler for the ``with`` block."""
        return self.install()

    def __exit__(self, *exc_info) -> Optional[bool]:
        """Restore the previous handlers."""
        self.restore()
        return None
