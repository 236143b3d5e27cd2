"""Recorded demonstrations: rosbag2 (MCAP) episodes, written and read without ROS."""
