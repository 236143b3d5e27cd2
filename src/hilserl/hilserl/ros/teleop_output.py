"""
What every teleop node publishes, in one place.

The contract (docs/teleop.md, "The teleop contract"):

- ``teleop/command`` (hilserl_interfaces/EndEffectorCommand, ``source`` =
  SOURCE_HUMAN, stamped) at a steady ``rate_hz`` while the node runs, idle
  (zero move, gripper STAY) when the human does nothing. It is published
  whether or not the human is in control; the consumer decides what to execute.
- ``teleop/intervention`` (std_msgs/Bool, reliable + transient local, depth 1):
  False at start, then on every change, so a late subscriber knows who drives.
- ``episode_events`` (hilserl_interfaces/EpisodeEvent, reliable, depth 10) with
  ``source`` = the node's name: INTERVENTION_START/END on every change, and
  SUCCESS, FAILURE, RERECORD when the human asks. ``episode_index`` is the one
  of the last EPISODE_START seen there (0 before any).

A node subclasses :class:`TeleopNode`, implements :meth:`current_command` and
calls :meth:`set_intervention` and :meth:`raise_event`; :meth:`attach_terminal`
adds keys from the terminal on stdin.
"""

import time
from typing import Callable, Iterable, Optional

from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool

from hilserl.human.teleop.common import TeleopCommand, TeleopEvent
from hilserl.human.teleop.keyboard import DEFAULT_BINDINGS, EVENT_ACTIONS, KeyBindings
from hilserl.human.teleop.terminal import StatusLine, TerminalKeys
from hilserl_common.node_support import declare, StopNode

INTERVENTION_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                              durability=DurabilityPolicy.TRANSIENT_LOCAL)
EVENT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# Terminal polling period: well under the Escape-key timeout.
KEY_POLL_PERIOD_S = 0.02


class TeleopNode(Node):
    """Base of the teleop nodes: the three publishers, intervention state, the rate timer."""

    def __init__(self, node_name: str, **kwargs):
        """Declare ``rate_hz``, create the publishers and announce "not intervening"."""
        super().__init__(node_name, **kwargs)
        self._terminal: Optional[TerminalKeys] = None  # destroy_node may run on a bad config
        rate = declare(self, 'rate_hz', 30.0, 'Rate of teleop/command (Hz).')
        if rate <= 0:
            raise ValueError(f'rate_hz must be positive, got {rate}')
        self._command_publisher = self.create_publisher(EndEffectorCommand, 'teleop/command', 10)
        self._intervention_publisher = self.create_publisher(Bool, 'teleop/intervention',
                                                             INTERVENTION_QOS)
        self._event_publisher = self.create_publisher(EpisodeEvent, 'episode_events', EVENT_QOS)
        self.create_subscription(EpisodeEvent, 'episode_events', self._on_episode_event,
                                 EVENT_QOS)
        self.intervention = False
        self.episode_index = 0
        self._intervention_publisher.publish(Bool(data=False))
        self.status = StatusLine()
        self.create_timer(1.0 / rate, self._publish_command)

    def current_command(self, now: float) -> TeleopCommand:
        """Return the human's command at monotonic time ``now`` (subclasses implement it)."""
        raise NotImplementedError

    def _publish_command(self) -> None:
        delta, gripper = self.current_command(time.monotonic())
        msg = EndEffectorCommand(delta_xyz=[float(v) for v in delta], gripper=int(gripper),
                                 source=EndEffectorCommand.SOURCE_HUMAN)
        msg.header.stamp = self.get_clock().now().to_msg()
        self._command_publisher.publish(msg)

    def set_intervention(self, active: bool) -> None:
        """Record who is in control; publish the state and an event when it changes."""
        active = bool(active)
        if active == self.intervention:
            return
        self.intervention = active
        self._intervention_publisher.publish(Bool(data=active))
        self._publish_event(EpisodeEvent.INTERVENTION_START if active
                            else EpisodeEvent.INTERVENTION_END)
        self._log('human in control' if active else 'policy in control')

    def raise_event(self, event: TeleopEvent) -> None:
        """Publish a SUCCESS, FAILURE or RERECORD event."""
        self._publish_event(int(event))
        self._log(f'{event.name.lower()} reported')

    def _log(self, text: str) -> None:
        self.status.clear()  # the status line is redrawn below the log line
        self.get_logger().info(text)

    def _publish_event(self, event: int) -> None:
        msg = EpisodeEvent(event=event, source=self.get_name(),
                           episode_index=self.episode_index)
        msg.header.stamp = self.get_clock().now().to_msg()
        self._event_publisher.publish(msg)

    def _on_episode_event(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EPISODE_START:
            self.episode_index = msg.episode_index

    def declare_key_bindings(self, actions: Iterable[str]) -> KeyBindings:
        """Declare ``bindings.<action>`` for ``actions`` and return the bindings."""
        bindings = {action: declare(self, f'bindings.{action}', list(DEFAULT_BINDINGS[action]),
                                    f'Keys for {action.replace("_", " ")} (key names: a '
                                    'character, up, down, left, right, page_up, page_down, '
                                    'space, esc, ...).')
                    for action in actions}
        return KeyBindings(bindings, actions)

    def attach_terminal(self, on_key: Callable[[str, float], None],
                        esc_timeout_s: float = 0.05) -> None:
        """Read keys from the terminal on stdin; raises NotATerminal (bad config) otherwise."""
        self._terminal = TerminalKeys(esc_timeout_s=esc_timeout_s)

        def poll():
            now = time.monotonic()
            for key in self._terminal.read_keys(now):
                on_key(key, now)
        self.create_timer(KEY_POLL_PERIOD_S, poll)

    def session_action(self, action: Optional[str]) -> None:
        """Act on a key's session action: intervention toggle, events, quit."""
        if action == 'intervention':
            self.set_intervention(not self.intervention)
        elif action in EVENT_ACTIONS:
            self.raise_event(EVENT_ACTIONS[action])
        elif action == 'quit':
            raise StopNode()

    def destroy_node(self):
        """Give the terminal back before going away."""
        if self._terminal is not None:
            self._terminal.close()
            self.status.close()
        return super().destroy_node()
