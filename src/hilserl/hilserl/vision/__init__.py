"""
Cameras and images, without ROS.

Camera sources, test pattern, image decoding, crop and resize, frame sync, classifier
display.
"""
