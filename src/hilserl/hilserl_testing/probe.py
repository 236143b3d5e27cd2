"""
The test's own node: publish, subscribe, set parameters, all with deadlines.

Every wait spins the probe's executor until a condition holds or the deadline
passes, so tests wait exactly as long as the graph needs and fail with a clear
message when it never gets there.
"""

import time
from typing import Any, Callable, Dict, List

import rclpy
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.srv import SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger


class Collector:
    """Messages received on one subscription, in arrival order."""

    def __init__(self, probe: 'GraphProbe', topic: str):
        """Start empty; the probe appends to ``messages``."""
        self._probe = probe
        self.topic = topic
        self.messages: List[Any] = []
        self.subscription = None

    def wait_for_publishers(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` publishers have matched this subscription."""
        self._probe.spin_until(lambda: self.subscription.get_publisher_count() >= count,
                               timeout, f'{count} publisher(s) on {self.topic}')

    def wait_for_messages(self, count: int = 1, timeout: float = 10.0) -> List[Any]:
        """Wait until ``count`` messages have arrived; return them all."""
        self._probe.spin_until(lambda: len(self.messages) >= count, timeout,
                               f'{count} message(s) on {self.topic} '
                               f'(got {len(self.messages)})')
        return self.messages

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 10.0,
                 what: str = 'a matching message') -> Any:
        """Wait for a message that satisfies ``predicate``; return it."""
        found = []

        def check():
            found.extend(m for m in self.messages if predicate(m))
            return bool(found)
        self._probe.spin_until(check, timeout, f'{what} on {self.topic}')
        return found[0]


class GraphProbe:
    """A node in the test process, in its own rclpy context."""

    def __init__(self, name: str = 'test_probe'):
        """Initialise a private context so tests never share rclpy state."""
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def subscribe(self, msg_type, topic: str, qos) -> Collector:
        """Subscribe to ``topic`` and collect what arrives."""
        collector = Collector(self, topic)
        collector.subscription = self.node.create_subscription(
            msg_type, topic, collector.messages.append, qos)
        return collector

    def publisher(self, msg_type, topic: str, qos):
        """Return a publisher on ``topic``."""
        return self.node.create_publisher(msg_type, topic, qos)

    def wait_for_subscribers(self, publisher, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` subscriptions have matched ``publisher``."""
        self.spin_until(lambda: publisher.get_subscription_count() >= count, timeout,
                        f'{count} subscriber(s) on {publisher.topic_name}')

    def wait_for_graph(self, topic: str, publishers: int = 0, subscribers: int = 0,
                       timeout: float = 10.0) -> None:
        """
        Wait until the graph shows enough endpoints on ``topic`` (the probe's own included).

        Use it before driving a chain of other nodes, whose links to each other the
        probe cannot match itself.
        """
        self.spin_until(lambda: self.node.count_publishers(topic) >= publishers
                        and self.node.count_subscribers(topic) >= subscribers, timeout,
                        f'{publishers} publisher(s) and {subscribers} subscriber(s) on {topic}')

    def spin_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Process callbacks until ``condition()`` is true; fail after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f'timed out after {timeout} s waiting for {what}')
            self.executor.spin_once(timeout_sec=min(0.05, remaining))

    def spin_for(self, seconds: float) -> None:
        """Process callbacks for a fixed time (to observe that nothing happens)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=min(0.05, deadline - time.monotonic()))

    def set_parameters(self, node_name: str, values: Dict[str, Any],
                       timeout: float = 10.0) -> List[Any]:
        """Set parameters of a remote node; return the SetParametersResult list."""
        client = self.node.create_client(SetParameters, f'{node_name}/set_parameters')
        try:
            self.spin_until(client.service_is_ready, timeout,
                            f'service {node_name}/set_parameters')
            request = SetParameters.Request()
            request.parameters = [
                ParameterMsg(name=name, value=Parameter(name, value=value)
                             .get_parameter_value())
                for name, value in values.items()]
            future = client.call_async(request)
            self.spin_until(future.done, timeout, f'reply of {node_name}/set_parameters')
            return future.result().results
        finally:
            self.node.destroy_client(client)

    def trigger(self, service: str, timeout: float = 30.0) -> Trigger.Response:
        """Call a std_srvs/Trigger service once it is offered; return its reply."""
        client = self.node.create_client(Trigger, service)
        try:
            self.spin_until(client.service_is_ready, timeout, f'service {service}')
            future = client.call_async(Trigger.Request())
            self.spin_until(future.done, timeout, f'the reply of {service}')
            return future.result()
        finally:
            self.node.destroy_client(client)

    def close(self) -> None:
        """Destroy the node and shut the context down."""
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
