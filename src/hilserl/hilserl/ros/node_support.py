"""
Re-exports :mod:`hilserl_common.node_support`, where it lives.

The arm drivers share it without the learning stack (hilserl_common depends on rclpy
alone); hilserl's modules import it from here or from there alike.
"""

from hilserl_common import EXIT_BAD_CONFIG
from hilserl_common.node_support import (declare, drain, FORCE_STOP_AFTER_S, log_at,
                                         make_thread_realtime, NodeFailed, run_node, StopNode,
                                         valid_camera_name)

__all__ = ['declare', 'drain', 'EXIT_BAD_CONFIG', 'FORCE_STOP_AFTER_S', 'log_at',
           'make_thread_realtime', 'NodeFailed', 'run_node', 'StopNode', 'valid_camera_name']
