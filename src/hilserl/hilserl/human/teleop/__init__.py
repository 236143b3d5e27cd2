"""
Teleoperation: a human takes over the arm at any time (HIL-SERL interventions).

The mappings (gamepad, keyboard, leader arm) are plain modules without ROS;
:mod:`hilserl.ros.teleop_output` holds what every teleop node publishes.
"""
