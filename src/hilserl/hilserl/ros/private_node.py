"""
A node in a ROS context of its own, for tools that run beside a graph.

``hilserl lifecycle``, the runner's bring-up and ``hilserl crop --live`` talk to a graph
from a process that has its own use for SIGINT: their node lives in a context of its own,
initialised without rclpy's signal handlers (the caller's stay), with one executor to spin
it, and is destroyed with its context when closed.
"""

import os


class PrivateNode:
    """``node`` and its ``executor`` in a context of their own; ``close()`` (or ``with``)."""

    def __init__(self, name_prefix: str):
        """Create the node ``<name_prefix>_<pid>``."""
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions
        self._context = Context()
        rclpy.init(context=self._context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(f'{name_prefix}_{os.getpid()}', context=self._context)
        self.executor = SingleThreadedExecutor(context=self._context)
        self.executor.add_node(self.node)

    def close(self) -> None:
        """Destroy the node, its executor and its context."""
        self.executor.shutdown()
        self.node.destroy_node()
        self._context.try_shutdown()

    def __enter__(self) -> 'PrivateNode':
        """Use the node in a ``with`` block."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close the node."""
        self.close()
