"""
The node helpers hilserl and its arm drivers share; rclpy and the standard library only.

A driver (hilserl_so100_driver, say) installs with this package instead of hilserl's
learning stack (torch, MuJoCo, pinocchio). ``EXIT_BAD_CONFIG`` is importable without
rclpy: the mode graphs (hilserl.launching.graph) use it too.
"""

# Exit status of a node that refused its configuration (sysexits' EX_CONFIG); the
# nodes exit with it through hilserl_common.node_support.run_node.
EXIT_BAD_CONFIG = 78
# Exit status of a command (or `hilserl launch`) stopped by Ctrl-C or SIGTERM: 128 +
# SIGINT, as shells report it, so that `hilserl launch a && hilserl launch b` stops there.
EXIT_INTERRUPTED = 130
