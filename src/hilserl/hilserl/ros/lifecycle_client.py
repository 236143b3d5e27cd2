"""
Change the state of managed (lifecycle) nodes through their ``lifecycle_msgs`` services.

What ``ros2 lifecycle get|set`` does, for ``hilserl lifecycle`` on machines without
ros2cli, and :meth:`LifecycleClient.bring_up` (configure, then activate, node after
node), which ``hilserl launch`` runs for a mode's managed nodes. The client is a
:class:`~hilserl.ros.private_node.PrivateNode`: the caller's signal handlers stay.
"""

import time
from typing import Callable, Iterable

# The transitions by label, as `ros2 lifecycle set` takes them.
TRANSITIONS = ('configure', 'activate', 'deactivate', 'cleanup', 'shutdown')
# How long a node has to answer a service call once the service is there.
ANSWER_TIMEOUT_S = 30.0
# How long one request waits for its response before it is asked again.
RETRY_S = 2.0
# The states a node is in while a transition's callback runs.
TRANSITION_STATES = ('configuring', 'cleaningup', 'shuttingdown', 'activating',
                     'deactivating', 'errorprocessing')


class LifecycleError(Exception):
    """A managed node that is not there, does not answer or refused a transition."""


def full_node_name(name: str) -> str:
    """Return ``name`` with its leading slash: ``so100_follower`` -> ``/so100_follower``."""
    return name if name.startswith('/') else f'/{name}'


class LifecycleClient:
    """Call other nodes' lifecycle services; ``close()`` when done (or use ``with``)."""

    def __init__(self, wait_s: float = 10.0, answer_s: float = ANSWER_TIMEOUT_S):
        """Wait ``wait_s`` for a node's service to appear, ``answer_s`` for its reply."""
        from hilserl.ros.private_node import PrivateNode
        self.wait_s = wait_s
        self.answer_s = answer_s
        self._private = PrivateNode('hilserl_lifecycle')
        self._node, self._executor = self._private.node, self._private.executor
        self._clients = {}

    def close(self) -> None:
        """Destroy the client node and its context."""
        self._private.close()

    def __enter__(self) -> 'LifecycleClient':
        """Use the client in a ``with`` block."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close the client."""
        self.close()

    def _client(self, node: str, service: str):
        from lifecycle_msgs.srv import ChangeState, GetState
        name = f'{full_node_name(node)}/{service}'
        client = self._clients.get(name)
        if client is None:
            service_type = ChangeState if service == 'change_state' else GetState
            client = self._clients[name] = self._node.create_client(service_type, name)
        if not client.wait_for_service(timeout_sec=self.wait_s):
            raise LifecycleError(f'no {name} service after {self.wait_s:g} s: is the node '
                                 'running, and is it a managed node?')
        return name, client

    def _ask(self, client, request, timeout_s: float):
        """Send ``request`` once; return the response, or None after ``timeout_s``."""
        future = client.call_async(request)
        self._executor.spin_until_future_complete(future, timeout_sec=timeout_s)
        if future.done():
            return future.result()
        client.remove_pending_request(future)
        return None

    def state(self, node: str) -> str:
        """Return the label of ``node``'s state, e.g. ``'inactive'``."""
        from lifecycle_msgs.srv import GetState
        name, client = self._client(node, 'get_state')
        # A server may drop a response to a client it has not matched yet (Fast DDS:
        # "failed to send response (timeout)"): asking again is harmless for a query.
        deadline = time.monotonic() + self.answer_s
        while (left := deadline - time.monotonic()) > 0:
            response = self._ask(client, GetState.Request(), min(RETRY_S, left))
            if response is not None:
                return response.current_state.label
        raise LifecycleError(f'{name} did not answer within {self.answer_s:g} s')

    def change(self, node: str, transition: str) -> str:
        """Make ``transition`` (a label of TRANSITIONS); return the new state."""
        from lifecycle_msgs.srv import ChangeState
        if transition not in TRANSITIONS:
            raise LifecycleError(f"no transition '{transition}'; one of {', '.join(TRANSITIONS)}")
        before = self.state(node)
        name, client = self._client(node, 'change_state')
        request = ChangeState.Request()
        request.transition.label = transition
        deadline = time.monotonic() + self.answer_s
        while (left := deadline - time.monotonic()) > 0:
            response = self._ask(client, request, min(RETRY_S, left))
            if response is not None:
                break
            # No answer: the transition may be running, or have run with its response lost.
            # Send it again only while the node is still where it was.
            now = self.state(node)
            while now in TRANSITION_STATES and time.monotonic() < deadline:
                now = self.state(node)
            if now != before:
                return now
        else:
            raise LifecycleError(f'{name} did not answer within {self.answer_s:g} s')
        if not response.success:
            after = self.state(node)
            raise LifecycleError(f'{full_node_name(node)}: {transition} failed from {before}; '
                                 f"it is {after} (the node's log says why)")
        return self.state(node)

    def bring_up(self, nodes: Iterable[str],
                 say: Callable[[str], None] = lambda line: None) -> None:
        """Configure, then activate, each node in turn; one already active is left alone."""
        for node in nodes:
            started = time.monotonic()
            state = self.state(node)
            if state == 'unconfigured':
                state = self.change(node, 'configure')
            if state == 'inactive':
                state = self.change(node, 'activate')
            if state != 'active':
                raise LifecycleError(f'{full_node_name(node)} is {state}: it cannot be '
                                     'brought up from there')
            say(f'{full_node_name(node)}: active ({time.monotonic() - started:.1f} s)')
