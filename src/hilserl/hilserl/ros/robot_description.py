"""
Wait for the URDF an arm's stack publishes on a topic, before a node builds on it.

robot_state_publisher, and with it every ros2_control stack, publishes the URDF as a
std_msgs/String on ``robot_description`` with transient-local durability: a
subscriber that joins later still gets the last one. A node that needs the URDF to
start (the safety filter's kinematics) calls :func:`wait_for_robot_description`
while it is constructed, before it creates its own timers and subscriptions.
"""

import time

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

# robot_state_publisher's QoS for robot_description; a volatile subscriber would miss a
# description published before it joined.
DESCRIPTION_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
# How often the wait looks at its deadline and at a shutdown while nothing arrives.
_POLL_S = 0.1


def wait_for_robot_description(node, topic: str, timeout_s: float) -> str:
    """
    Return the URDF text the first message on ``topic`` carries, spinning ``node`` for it.

    Raises ValueError (one line, naming the topic) when nothing arrives within
    ``timeout_s`` seconds, or the text is empty. The node is spun on an executor of its
    own, so call this before creating callbacks that must not run yet.
    """
    received = []
    subscription = node.create_subscription(
        String, topic, lambda msg: received.append(msg.data), DESCRIPTION_QOS)
    name = subscription.topic_name
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    deadline = time.monotonic() + timeout_s
    node.get_logger().info(f'waiting up to {timeout_s:g} s for the robot description on {name}')
    try:
        while not received and rclpy.ok(context=node.context):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            executor.spin_once(timeout_sec=min(left, _POLL_S))
    finally:
        executor.remove_node(node)
        executor.shutdown()
        node.destroy_subscription(subscription)
    if not received:
        raise ValueError(f'no robot description on {name} within {timeout_s:g} s: is '
                         'robot_state_publisher (your ros2_control stack) running and '
                         'publishing a std_msgs/String there, transient local?')
    if not received[0].strip():
        raise ValueError(f'the robot description on {name} is empty')
    return received[0]
