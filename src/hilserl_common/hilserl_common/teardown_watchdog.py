"""
A watchdog over rclpy's own teardown when a node's run ends; no ROS import.

A node's ``destroy_node`` does the node's own cleanup (a final save, a thread's join)
and then returns ``super().destroy_node()``: rclpy destroys the node's entities and
its middleware node, and ``rclpy.try_shutdown`` ends the context. That last part
belongs to the middleware, and once in a few dozen runs on a loaded 2-core machine
Fast DDS did not return from it: ``scripted_human`` sat in rclpy's ``destroy_node``
until launch escalated to SIGTERM and then SIGKILL (exit status -9, a stack dump in
the log) although everything of its own was done. :class:`TeardownWatchdog` watches
the main thread while it is inside those functions; after ``grace_s`` there it writes
one line and ends the process with the status the run would have had.
"""

import os
import sys
import threading
import time
from typing import Callable, Iterable, Optional

from hilserl_common.stop_signals import flush_standard_streams, write_stderr

# rclpy's teardown of a node takes milliseconds; launch sends SIGTERM 5 s after SIGINT.
TEARDOWN_GRACE_S = 3.0


def _flush_and_exit(status: int) -> None:
    flush_standard_streams()
    os._exit(status)


class TeardownWatchdog:
    """
    End the process when a thread stays inside given functions for ``grace_s`` seconds.

    ``codes``: the code objects of the functions (e.g. ``Node.destroy_node.__code__``);
    the thread counts as inside while any frame of its stack runs one of them.
    ``status``: the exit status then (what the run would have returned). ``on_stuck``
    replaces the exit (tests).
    """

    def __init__(self, name: str, codes: Iterable, grace_s: float = TEARDOWN_GRACE_S,
                 status: int = 0, thread_id: Optional[int] = None, poll_s: float = 0.05,
                 on_stuck: Optional[Callable[[int], None]] = None):
        """Watch ``thread_id`` (default: the calling thread) once started."""
        self.name = name
        self.codes = frozenset(codes)
        self.grace_s = grace_s
        self.status = status
        self.thread_id = threading.get_ident() if thread_id is None else thread_id
        self.poll_s = poll_s
        self.on_stuck = on_stuck or _flush_and_exit
        self.fired = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name='teardown-watchdog',
                                        daemon=True)

    def __enter__(self) -> 'TeardownWatchdog':
        """Start watching."""
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        """Stop watching (the teardown returned)."""
        self._done.set()
        self._thread.join()

    def inside(self) -> Optional[str]:
        """Return the name of the watched function the thread is in, or None."""
        frame = sys._current_frames().get(self.thread_id)
        while frame is not None:
            if frame.f_code in self.codes:
                return frame.f_code.co_qualname
            frame = frame.f_back
        return None

    def _watch(self) -> None:
        since = None
        while not self._done.wait(self.poll_s):
            where = self.inside()
            if where is None:
                since = None
                continue
            now = time.monotonic()
            since = now if since is None else since
            if now - since >= self.grace_s:
                self.fired = True
                flush_standard_streams()
                write_stderr(f'[WARN] {self.name}: {where} did not return in '
                             f'{self.grace_s:g} s (the middleware\'s teardown); the node\'s '
                             f'own cleanup is done, so it exits now\n')
                self.on_stuck(self.status)
                return
