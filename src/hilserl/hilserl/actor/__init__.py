"""
The actor's logic, without ROS.

Action choice (core), episodes and their labels, the reward check, the state
vector.
"""
