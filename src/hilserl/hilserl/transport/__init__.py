"""
Getting data between processes, without ROS.

Actor-to-learner delivery (sequence numbers, acknowledgements, outbox) and
the DDS settings of the processes the suite starts.
"""
