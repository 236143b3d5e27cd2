"""hilserl: human-in-the-loop sample-efficient RL for robot arms on ROS 2."""

__version__ = '0.1.0'
