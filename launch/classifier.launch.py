"""
Classifier: collect reward-classifier data, or test a trained classifier live.

    ros2 launch hilserl classifier.launch.py use:=collect dataset_dir:=classifier_data
    ros2 launch hilserl classifier.launch.py use:=test model_path:=models/pick rviz:=true

robot:= picks the arm (default: the one config/default_robot.yaml names; a registry name
of config/robots/ or your own robot file, docs/robots.md).

The node graph is defined once in hilserl.launching.modes; `hilserl launch classifier` starts the
same graph on machines without the launch packages.
"""

from hilserl.launching.launch_description import generate_mode_launch_description


def generate_launch_description():
    """Return the classifier mode's launch description."""
    return generate_mode_launch_description('classifier')
