#!/usr/bin/env python3
"""
A node for the shutdown tests, run through ``hilserl_common.node_support.run_node``.

    interrupted_node.py interrupt   # the callback turns Ctrl-C into a RuntimeError
    interrupted_node.py fail        # the callback raises a RuntimeError by itself
    interrupted_node.py drain       # messages queued at Ctrl-C are handled on the way out
    interrupted_node.py slow_cleanup  # destroy_node joins a thread for 1.5 s, like a final save

In the first case the callback never returns, so only a forced stop ends it (a
signal 2 s or more after the first, as launch's SIGTERM), and it behaves like
rclpy's C++ code does when the KeyboardInterrupt lands while it converts a message:
it comes out as another error while the context still reports ok. rclpy's own
signal handler, which would shut the context down from another thread, is taken
out so the context stays ok for certain.

In the drain case the callback, busy until Ctrl-C shuts the context down, keeps the
executor from delivering the ``drained`` messages the test publishes;
``destroy_node`` drains them and prints what it got.

In the slow_cleanup case the node spins idle; its ``destroy_node`` prints ``cleaning
up``, joins a worker thread that takes 1.5 s (as the learner joins its trainer and
writes its final checkpoint) and prints ``cleanup done``: signals sent meanwhile
must not cut it short.
"""

import sys
import threading
import time

from rclpy.node import Node
from rclpy.signals import uninstall_signal_handlers
from std_msgs.msg import String

from hilserl_common.node_support import drain, run_node


class BusyNode(Node):
    """A node whose one timer callback runs until interrupted, or fails."""

    def __init__(self, behaviour: str):
        super().__init__('busy_node')
        self._behaviour = behaviour
        self._received = []
        self._subscription = self.create_subscription(String, 'drained',
                                                      self._on_message, 10)
        if behaviour == 'interrupt':
            uninstall_signal_handlers()   # SIGINT now reaches only Python's handler
        self._timer = self.create_timer(0.01, self._on_timer)

    def _on_message(self, msg: String) -> None:
        self._received.append(msg.data)

    def _on_timer(self):
        self._timer.cancel()
        if self._behaviour == 'fail':
            raise RuntimeError('a bug in a callback')
        print('in callback', flush=True)
        if self._behaviour == 'slow_cleanup':
            return
        if self._behaviour == 'drain':
            while self.context.ok():   # busy until Ctrl-C shuts the context down
                time.sleep(0.01)
            return
        try:
            while True:
                time.sleep(0.01)
        except KeyboardInterrupt:
            if self._behaviour == 'interrupt':
                raise RuntimeError('Unable to convert call argument') from None
            raise

    def destroy_node(self):
        if self._behaviour == 'slow_cleanup':
            print('cleaning up', flush=True)
            worker = threading.Thread(target=time.sleep, args=(1.5,))
            worker.start()
            worker.join(timeout=30.0)
            print('cleanup done', flush=True)
        if self._behaviour == 'drain':
            drain(self._subscription, self._on_message)
            print(f"received {' '.join(self._received)}", flush=True)
        return super().destroy_node()


if __name__ == '__main__':
    run_node(BusyNode, behaviour=sys.argv[1])
