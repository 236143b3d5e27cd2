"""
Starting the node graph: modes as data and the two ways to launch them.

The modes (graph, modes, mode_parts), ``hilserl launch`` (runner), the
launch files' description (launch_description) and stop signals.
"""
