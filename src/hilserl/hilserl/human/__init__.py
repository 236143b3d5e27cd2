"""
The human in the loop, without ROS.

Teleop mappings, the scripted human, its policy and its failures.
"""
