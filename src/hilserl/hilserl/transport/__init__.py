"""
Getting data between processes, without ROS.

Actor-to-learner delivery (sequence numbers, acknowledgements, outbox), the
received transition as plain data, and the DDS settings of the processes the suite
starts.
"""
