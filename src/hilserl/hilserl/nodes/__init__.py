"""ROS 2 nodes of the suite; each module holds one Node subclass and a ``main()``."""
