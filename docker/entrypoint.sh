#!/bin/bash
# Entrypoint of the hilserl images: the ROS install, then the workspace, then the command
# (`ros2 launch hilserl ...`, `hilserl ...`, a node, or a shell).
set -e

# shellcheck disable=SC1090
source "/opt/ros/${ROS_DISTRO:?the image sets ROS_DISTRO}/setup.bash"
# shellcheck disable=SC1091
source /hilserl_ws/install/setup.bash

exec "$@"
