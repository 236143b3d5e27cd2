"""
Console-script entry points: a stop signal while a program is still importing stops it quietly.

A node's modules (rclpy, torch, MuJoCo) take a second or more to import, and a graph
stopped right after its start (Ctrl-C seconds after ``ros2 launch``, a launcher's
SIGINT or SIGTERM) reaches its nodes there: before :func:`node_support.run_node`
(or a command's :class:`~hilserl_common.stop_signals.StopSignals`) is in place,
Python's own SIGINT handler raises KeyboardInterrupt wherever the import is (a
traceback, exit status 1) and SIGTERM kills the process (-15).

So every executable's console script is a :func:`console_script`, which FIRST puts
a start-up handler on SIGINT and SIGTERM, THEN imports the program's module. A signal
that comes while the module imports stops the process at once, without finishing the
import: one line on stderr, and the exit status of a requested stop (0 for a node, as
``run_node`` gives; 130 for a command that reports Ctrl-C so). Nothing has started
that needs cleaning up yet: no ROS context, no file, no device; hence ``os._exit``,
which no library's ``except`` clause in the middle of its import can swallow, and
which runs no half-imported library's exit hook. Once the module is imported, the
handlers it found are back in place and the program's ``main`` runs, whose own
handlers take over as before.

A signal inherited as ignored (``nohup``, a background job of a non-interactive
shell) stays ignored, as POSIX programs do. Handlers set from Python do not survive
``exec``: a process that a node starts gets its default handlers (or its own).

The window left is what runs before any code of ours: the interpreter's start (a signal
then kills the process: exit status -2 or -15, no traceback) and the generated console
script's import of ``importlib.metadata`` to find its entry point (a SIGINT there is a
KeyboardInterrupt traceback): about 0.1 s in all on an idle machine, 0.35 s on a 2-core
machine at load 6, against the seconds the program's own imports take.
"""

import importlib
import os
import signal
import sys
from typing import Callable, Dict, Optional

from hilserl_common.stop_signals import flush_standard_streams, signal_name, STOP_SIGNALS


class StartupSignals:
    """
    SIGINT and SIGTERM while the program's modules import: exit at once with ``status``.

    ``name`` prefixes the one line written on stderr.
    """

    def __init__(self, name: str, status: int = 0):
        """Prepare the handler; :meth:`install` puts it in place."""
        self.name = name
        self.status = status
        self._previous: Dict[int, object] = {}

    def install(self) -> 'StartupSignals':
        """Handle SIGINT and SIGTERM, except one inherited as ignored."""
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue
            self._previous[signum] = signal.signal(signum, self.handle)
        return self

    def restore(self) -> None:
        """Put back the handlers :meth:`install` replaced (unless one was changed since)."""
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self.handle:
                # None: a handler not set from Python; the default is what it was then.
                signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def handle(self, signum: int, _frame=None) -> None:
        """Stop the process now, quietly: the import is abandoned."""
        flush_standard_streams()
        try:
            os.write(2, f'[{self.name}] {signal_name(signum)} while starting: stopped\n'
                     .encode(errors='replace'))
        except OSError:
            pass
        os._exit(self.status)

    def __enter__(self) -> 'StartupSignals':
        """Install the handler for the ``with`` block."""
        return self.install()

    def __exit__(self, *exc_info) -> Optional[bool]:
        """Restore the previous handlers."""
        self.restore()
        return None


def run(target: str, name: Optional[str] = None, stopped_status: int = 0):
    """
    Import ``target``'s module (``'package.module:function'``) quietly stoppable; call it.

    ``name`` (default: the executable's file name) prefixes the line a stop during the
    import writes; ``stopped_status`` is then the exit status. Return what the
    function returns (a console script exits with it).
    """
    module_name, _, function = target.partition(':')
    with StartupSignals(name or os.path.basename(sys.argv[0]), stopped_status):
        module = importlib.import_module(module_name)
    return getattr(module, function or 'main')()


def console_script(target: str, name: Optional[str] = None,
                   stopped_status: int = 0) -> Callable[[], object]:
    """
    Return an entry-point function that runs ``target`` through :func:`run`.

    A package lists its executables with it in a light module (one that imports no
    more than this one), which its ``setup.py`` points at, e.g.
    ``actor = hilserl.launching.executables:actor`` with
    ``actor = console_script('hilserl.nodes.actor:main')``. The function's ``target``
    attribute names what it runs.
    """
    def main():
        return run(target, name, stopped_status)
    main.target = target
    main.__doc__ = f'Run {target}; a stop signal while it imports exits with {stopped_status}.'
    return main
