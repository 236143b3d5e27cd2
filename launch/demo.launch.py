"""
Demo: generated camera frames through the image processor, with a monitor.

    ros2 launch hilserl demo.launch.py duration:=10

The node graph is defined once in hilserl.launching.modes; `hilserl launch demo` starts the
same graph on machines without the launch packages.
"""

from hilserl.launching.launch_description import generate_mode_launch_description


def generate_launch_description():
    """Return the demo mode's launch description."""
    return generate_mode_launch_description('demo')
