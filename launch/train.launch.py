"""
Train: HIL-SERL actor and learner with a human (or the scripted one) able to take over.

    ros2 launch hilserl train.launch.py demos:=dataset run_dir:=runs/pick
    ros2 launch hilserl train.launch.py robot:=so100 reward:=classifier \
        classifier_model:=models/pick teleop:=gamepad demos:=dataset

Without robot:=, the arm is the default one config/default_robot.yaml names; robot:=
picks another from the registry (config/robots/NAME.yaml) or takes your own robot file
(robot:=/path/to/my_arm.yaml, docs/robots.md).

The node graph is defined once in hilserl.launching.modes; `hilserl launch train` starts the
same graph on machines without the launch packages.
"""

from hilserl.launching.launch_description import generate_mode_launch_description


def generate_launch_description():
    """Return the train mode's launch description."""
    return generate_mode_launch_description('train')
