"""
What the suite's managed (lifecycle) nodes share: ``autostart`` and transitions that say why.

A managed node (the SO100 follower driver, the camera publisher, the actor) starts
unconfigured and is brought up with the ``lifecycle_msgs`` services: configure, then
activate (``ros2 lifecycle set``, ``hilserl lifecycle``, or a launcher).  With
``autostart`` (the default) it does both itself as it starts, so that ``ros2 run``
and a test that starts the node alone get a working node, as before the nodes were
managed; the launch files and ``hilserl launch`` set ``autostart:=false`` and bring
their managed nodes up one after another in graph order (the driver before the actor).
"""

from typing import Callable, Optional

from rclpy.lifecycle import TransitionCallbackReturn

from hilserl_common.node_support import declare

AUTOSTART_DESCRIPTION = (
    'Configure and activate this managed node as it starts (a failed configure is retried '
    'where the node says so). false: it waits unconfigured for the lifecycle services '
    '(ros2 lifecycle set, hilserl lifecycle); the launch files and hilserl launch set false '
    'and bring the managed nodes up in graph order.')
# The state each transition leads to when it succeeds.
GOAL_STATES = {'configure': 'inactive', 'activate': 'active', 'deactivate': 'inactive',
               'cleanup': 'unconfigured', 'shutdown': 'finalized'}


def declare_autostart(node) -> bool:
    """Declare the ``autostart`` parameter of a managed node and return it."""
    return declare(node, 'autostart', True, AUTOSTART_DESCRIPTION)


def lifecycle_state(node) -> str:
    """Return the label of the node's current lifecycle state, e.g. ``'inactive'``."""
    # rclpy has no public accessor; its own services read the same state machine.
    return node._state_machine.current_state[1]


def transition(node, name: str, step: Callable[[], Optional[str]]) -> TransitionCallbackReturn:
    """
    Run ``step`` for the transition ``name``; return SUCCESS, or FAILURE/ERROR said in the log.

    ``step()`` returns None when it is done, or why the transition cannot be made
    (FAILURE: the node stays where it was; the same failure twice in a row is logged
    once). An exception is logged too and is ERROR (rclpy would turn it into ERROR
    without a word).
    """
    try:
        problem = step()
    except Exception as error:  # any bug in a step: said, not swallowed
        node.get_logger().error(f'{name} failed: {type(error).__name__}: {error}')
        return TransitionCallbackReturn.ERROR
    if problem:
        # The same failure again (autostart's retries) is not repeated in the log.
        repeated = getattr(node, '_hilserl_last_failure', None) == (name, problem)
        node._hilserl_last_failure = (name, problem)
        if not repeated:
            node.get_logger().error(f'{name} failed: {problem}')
        return TransitionCallbackReturn.FAILURE
    node._hilserl_last_failure = None
    node.get_logger().info(f'{name}: now {GOAL_STATES.get(name, name)}')
    return TransitionCallbackReturn.SUCCESS


def _advance(node) -> bool:
    """Take the steps towards active that the state allows; return whether it is done."""
    if lifecycle_state(node) == 'unconfigured':
        node.trigger_configure()
    if lifecycle_state(node) == 'inactive':
        node.trigger_activate()
    return lifecycle_state(node) not in ('unconfigured', 'inactive')


def autostart(node, retry_s: Optional[float] = None) -> None:
    """
    Configure and activate ``node`` now; while that fails, try again every ``retry_s``.

    Without ``retry_s`` a failed step leaves the node where it stopped, for the
    lifecycle services. The retries end once the node is active (or finalized).
    """
    if _advance(node) or not retry_s:
        return
    node.get_logger().info(f'autostart: trying again every {retry_s:g} s')
    timer = None

    def retry():
        if _advance(node):
            node.destroy_timer(timer)
    timer = node.create_timer(retry_s, retry)


class ActiveOnly:
    """
    Mixin (before ``LifecycleNode``) of a node whose loop runs only while it is active.

    The loop checks ``self.active``; deactivation calls :meth:`paused`, for the node
    to drop what the pause makes stale.
    """

    active = False

    def on_activate(self, state):
        """Let the loop run."""
        return transition(self, 'activate', self._activated)

    def on_deactivate(self, state):
        """Stop the loop; :meth:`paused`."""
        return transition(self, 'deactivate', self._deactivated)

    def paused(self) -> None:
        """Drop what the pause makes stale (nothing here)."""

    def _activated(self) -> None:
        self.active = True

    def _deactivated(self) -> None:
        self.active = False
        self.paused()
