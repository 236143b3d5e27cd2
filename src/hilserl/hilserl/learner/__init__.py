"""
The learner's logic, without ROS.

Transition intake, step assembly, SAC updates (core), training metrics.
"""
