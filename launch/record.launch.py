"""
Record: demonstrations in simulation, one bag per episode under dataset_dir.

    ros2 launch hilserl record.launch.py task:=pick_lift teleop:=scripted num_episodes:=10

robot:= picks the arm (default: the one config/default_robot.yaml names; a registry name
of config/robots/ or your own robot file, docs/robots.md).

The node graph is defined once in hilserl.launching.modes; `hilserl launch record` starts the
same graph on machines without the launch packages.
"""

from hilserl.launching.launch_description import generate_mode_launch_description


def generate_launch_description():
    """Return the record mode's launch description."""
    return generate_mode_launch_description('record')
