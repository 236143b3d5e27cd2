"""
The ROS glue the nodes share, besides nodes/ and launching/.

Node start-up and parameters, lifecycle, messages to and from plain data, the
teleop output. The other folders, testing/ aside, do not import ROS.
"""
