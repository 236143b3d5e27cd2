"""
The arm layer, without ROS.

Robot files and their registry, kinematics, the safety filter, joint limits.
"""
