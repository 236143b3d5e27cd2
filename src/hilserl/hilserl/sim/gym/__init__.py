"""Gymnasium environments as arms of the suite (issue 27); no ROS."""
