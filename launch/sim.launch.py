"""
Sim: a MuJoCo arm behind the safety filter, cameras processed for the policy.

    ros2 launch hilserl sim.launch.py robot:=panda task:=push

robot:= picks the arm (default: the one config/default_robot.yaml names; a registry name
of config/robots/ or your own robot file, docs/robots.md).

The node graph is defined once in hilserl.launching.modes; `hilserl launch sim` starts the
same graph on machines without the launch packages.
"""

from hilserl.launching.launch_description import generate_mode_launch_description


def generate_launch_description():
    """Return the sim mode's launch description."""
    return generate_mode_launch_description('sim')
