"""ROS 2 nodes of the SO100 driver."""
