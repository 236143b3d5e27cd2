"""
Cameras and images, without ROS.

Camera sources, test pattern, crop and resize, frame sync, classifier display.
"""
