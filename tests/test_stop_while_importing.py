"""
A stop signal that reaches an executable while it still imports: exit status, no traceback.

A graph stopped seconds after its start (Ctrl-C right after ``ros2 launch``, or a
launcher's SIGINT and SIGTERM) reaches nodes that are still importing rclpy, torch and
MuJoCo. Every installed console script of hilserl and hilserl_so100_driver is started
here as ``ros2 run`` and the runners start it (``lib/<package>/<executable>``, in its
own process group), and SIGINT or SIGTERM goes to its group while it imports.

How the test knows the process is inside its imports, without a timed guess: the
interpreter handles SIGINT from its start, but not SIGTERM; the first handler of
SIGTERM is the console script's start-up handler (:mod:`hilserl_common.entry`),
installed right before the program's module is imported. So the signal is sent as soon
as ``/proc/<pid>/status`` shows SIGTERM handled. The program's own handlers come only
once that import is done (half a second or more: rclpy, numpy, torch), and the line
``[<name>] SIGINT while starting: stopped``, which only the start-up handler writes,
proves the signal landed in the import. Each run takes a fraction of a second: no
graph, no DDS traffic.
"""

import importlib.metadata
import signal
import time

from hilserl.launching.runner import catches_signal, executable_path, EXIT_INTERRUPTED
from hilserl_testing.processes import mode_command
import pytest

PACKAGES = ('hilserl', 'hilserl_so100_driver')
# The executables that are not nodes, and the exit status each gives a stop (a node's
# is 0): the commands report an interruption as shells do.
COMMANDS = {'hilserl': EXIT_INTERRUPTED, 'so100_calibrate': EXIT_INTERRUPTED,
            'servo_bus_emulator': 0}
HANDLER_DEADLINE_S = 30.0
EXIT_DEADLINE_S = 30.0


def console_scripts():
    """Return (package, executable) of every installed console script of ``PACKAGES``."""
    return [(package, entry.name) for package in PACKAGES
            for entry in importlib.metadata.distribution(package).entry_points
            if entry.group == 'console_scripts']


def wait_until_importing(process) -> None:
    """Return once ``process`` handles SIGTERM: its console script's start-up handler."""
    # A tight poll: the window it looks for lasts the whole import.
    deadline = time.monotonic() + HANDLER_DEADLINE_S
    while time.monotonic() < deadline:
        if catches_signal(process.pid, signal.SIGTERM):
            return
        assert process.alive(), f'{process.name} exited first:\n{process.output()}'
        time.sleep(0.001)
    raise AssertionError(f'{process.name} never handled SIGTERM:\n{process.output()}')


def stop_while_importing(processes, command, name, signum) -> tuple:
    """Start ``command``, signal its group while it imports; return (status, output)."""
    process = processes.start(command, f'{name}-{signal.Signals(signum).name}')
    wait_until_importing(process)
    process.send_signal(signum)
    status = process.wait(timeout=EXIT_DEADLINE_S)
    return status, process.output()


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
@pytest.mark.parametrize('package, name', console_scripts(), ids=lambda value: value)
def test_a_stop_while_importing_exits_quietly(processes, package, name, signum):
    status, output = stop_while_importing(
        processes, [executable_path(package, name)], name, signum)
    assert status == COMMANDS.get(name, 0), output
    assert 'Traceback' not in output
    assert f'[{name}] {signal.Signals(signum).name} while starting: stopped\n' in output


@pytest.mark.parametrize('mode', ['record', 'train'])
def test_python_m_hilserl_launch_stopped_while_importing_reports_an_interruption(
        processes, mode):
    # `python -m hilserl launch` is how the tests and the pip-only install start a mode.
    status, output = stop_while_importing(processes, mode_command(mode), 'hilserl',
                                          signal.SIGINT)
    assert status == EXIT_INTERRUPTED, output
    assert 'Traceback' not in output
    assert '[hilserl] SIGINT while starting: stopped\n' in output
