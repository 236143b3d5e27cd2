"""What every hilserl node's ``main()`` shares: start-up, clean errors, shutdown."""

import faulthandler
import os
import re
import signal
import sys
from typing import Optional

import rclpy
import rclpy.node
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException

from hilserl_common import EXIT_BAD_CONFIG
from hilserl_common.stop_signals import StopSignals
from hilserl_common.teardown_watchdog import TeardownWatchdog

_SNAKE_CASE = re.compile(r'^[a-z][a-z0-9_]*$')


class StopNode(Exception):
    """Raised from a callback when a node has finished its job; exits with status 0."""


class NodeFailed(Exception):
    """
    Raised from a callback when the node cannot go on; exits with status 78.

    E.g. it cannot fit its peers' configuration: the message is printed as one FATAL
    line, as a bad configuration at start-up is.
    """


def declare(node, name: str, default, description: str, read_only: bool = True):
    """
    Declare a described parameter of ``node`` and return its value.

    ``default`` may be a ``rclpy.Parameter.Type`` to declare a typed parameter
    without a value (its value is then None unless a parameter file sets it).
    """
    descriptor = ParameterDescriptor(description=description, read_only=read_only)
    value = node.declare_parameter(name, default, descriptor).value
    if value is None and isinstance(default, list):
        return []   # rcl reads an override `[]` as no value at all
    return value


def make_thread_realtime(priority: int) -> Optional[str]:
    """
    Schedule the calling thread SCHED_FIFO at ``priority`` (1-99); 0 leaves it alone.

    Threads it starts afterwards do not inherit the policy (SCHED_RESET_ON_FORK): only
    the loop that asked runs ahead of everything else. Return None when done (or not
    asked), else why not, for the node to log as a warning and carry on at normal
    priority, as ros2_control's controller manager does with its ``thread_priority``.
    """
    if not 0 <= priority <= 99:
        raise ValueError(f'thread_priority {priority} is not 0 (normal) or 1-99 (SCHED_FIFO)')
    if priority == 0:
        return None
    if not hasattr(os, 'SCHED_FIFO'):
        return 'real-time scheduling (SCHED_FIFO) is not available on this system'
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK,
                              os.sched_param(priority))
    except PermissionError:
        return (f'not permitted to run at real-time priority {priority} (SCHED_FIFO), so the '
                'loop runs at normal priority and its period may jitter under load; allow '
                "it with a line '<user> - rtprio 99' in /etc/security/limits.conf (log in "
                'again), or set thread_priority:=0 to run at normal priority silently')
    return None


def log_at(logger, level: str, message: str) -> None:
    """Log ``message`` at ``level`` ('error', 'warning' or else info) through ``logger``."""
    # rclpy refuses one call site logging at several severities, hence a call per level.
    if level == 'error':
        logger.error(message)
    elif level == 'warning':
        logger.warning(message)
    else:
        logger.info(message)


def drain(subscription, callback) -> int:
    """
    Pass ``callback`` every message ``subscription`` holds but has not delivered; count them.

    For a node's ``destroy_node``: once Ctrl-C stopped the executor, messages the
    middleware has already acknowledged to their publisher (one that waited with
    ``wait_for_all_acked`` counts them as delivered) still sit in the reader's queue.
    Taking them works on a context that has been shut down.
    """
    count = 0
    while True:
        try:
            with subscription.handle:
                taken = subscription.handle.take_message(subscription.msg_type,
                                                         subscription.raw)
        except RuntimeError:   # InvalidHandle or RCLError: the subscription is gone
            return count
        if taken is None:
            return count
        callback(taken[0])
        count += 1


def valid_camera_name(name: str) -> bool:
    """Return whether ``name`` can be used in topic and parameter names."""
    return bool(_SNAKE_CASE.match(name))


# A stop signal this long after the first interrupts a callback that kept the node from
# stopping (launch's SIGTERM comes 5 s after its SIGINT); sooner ones, e.g. a second
# Ctrl-C or launch's own SIGINT on top of the terminal's, only wait.
FORCE_STOP_AFTER_S = 2.0


def _rclpy_teardown_codes() -> tuple:
    """Return the code of rclpy's part of a node's end (watched by TeardownWatchdog)."""
    return (rclpy.node.Node.destroy_node.__code__, rclpy.try_shutdown.__code__)


class _BadConfiguration(Exception):
    """The node refused its configuration while it was created."""


def run_node(node_class, args=None, **node_kwargs) -> None:
    """
    Create ``node_class`` and spin it until Ctrl-C, SIGTERM or shutdown.

    A bad configuration (a ValueError or a parameter error raised while the node
    starts) is reported as one readable line and exit status 78, not a traceback.

    SIGINT and SIGTERM (:class:`hilserl_common.stop_signals.StopSignals`): the first one
    is a request, which rclpy's own handlers (``rclpy.init`` chains them to these)
    carry out: they wake the executor and shut the context down, so the spin ends once
    the running callback returns, and ``destroy_node`` runs (a final save, a thread's
    join) with nothing to interrupt it, however many signals follow. Only a signal
    ``FORCE_STOP_AFTER_S`` or more after the first, while the node still spins (a
    callback that does not return), raises KeyboardInterrupt in it. A requested stop
    exits with status 0, also when the middleware's teardown does not return
    (:mod:`hilserl_common.teardown_watchdog`).
    """
    name = getattr(node_class, '__name__', 'node')
    signals = StopSignals(name, grace_s=FORCE_STOP_AFTER_S)
    node = None
    fatal = None
    # A node that does not stop when asked tells where it is: `hilserl launch` sends
    # SIGUSR1 before it escalates (`kill -USR1 PID` does the same by hand).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        signals.install()
        rclpy.init(args=args)
        try:
            try:
                node = node_class(**node_kwargs)
            except (ValueError, ParameterException) as error:
                raise _BadConfiguration(f'bad configuration: {error}') from None
            signals.name = node.get_name()
            if not signals.requested:   # one that came before rclpy's handlers were in place
                rclpy.spin(node)
        finally:
            # Whatever ended the spin, the cleanup below is not to be interrupted.
            signals.stop_interrupting()
    except (KeyboardInterrupt, ExternalShutdownException, StopNode):
        pass
    except _BadConfiguration as error:
        if not signals.requested:   # not an error that a stop signal caused
            fatal = str(error)
    except NodeFailed as error:
        fatal = str(error)
    except Exception:
        # A callback that was running when a stop signal shut the context down fails on
        # the closed context (e.g. publish raises; rclpy's C++ code may also turn a
        # forced KeyboardInterrupt into another error); that is the shutdown, not a bug.
        if rclpy.ok() and not signals.requested:
            raise
    finally:
        signals.stop_interrupting()
        # The status this run ends with, should the middleware's teardown not return.
        status = (EXIT_BAD_CONFIG if fatal is not None
                  else 1 if sys.exc_info()[1] is not None else 0)
        with TeardownWatchdog(name, _rclpy_teardown_codes(), status=status):
            if node is not None:
                node.destroy_node()
            rclpy.try_shutdown()
        signals.ignore()   # exiting now: a late SIGTERM must not turn status 0 into a kill
    if fatal is not None:
        print(f'[FATAL] {name}: {fatal}', file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_CONFIG)
