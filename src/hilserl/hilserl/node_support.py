"""What every hilserl node's ``main()`` shares: start-up, clean errors, shutdown."""

import re
import sys

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException

from hilserl.graph import EXIT_BAD_CONFIG

_SNAKE_CASE = re.compile(r'^[a-z][a-z0-9_]*$')


class StopNode(Exception):
    """Raised from a callback when a node has finished its job; exits with status 0."""


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


def valid_camera_name(name: str) -> bool:
    """Return whether ``name`` can be used in topic and parameter names."""
    return bool(_SNAKE_CASE.match(name))


def run_node(node_class, args=None, **node_kwargs) -> None:
    """
    Create ``node_class`` and spin it until Ctrl-C or shutdown.

    A bad configuration (a ValueError or a parameter error raised while the node
    starts) is reported as one readable line and exit status 78, not a traceback.
    """
    rclpy.init(args=args)
    node = None
    try:
        try:
            node = node_class(**node_kwargs)
        except (ValueError, ParameterException) as error:
            name = getattr(node_class, '__name__', 'node')
            print(f'[FATAL] {name}: bad configuration: {error}', file=sys.stderr, flush=True)
            sys.exit(EXIT_BAD_CONFIG)
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException, StopNode):
        pass
    except Exception:
        # A callback that was running when Ctrl-C shut the context down fails on the
        # closed context (e.g. publish raises); that is the shutdown, not a bug.
        if rclpy.ok():
            raise
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
