"""
A node whose middleware teardown never returns still stops when asked, with status 0.

rclpy's ``Node.destroy_node`` is replaced, in the node's own process, by one that does
the real teardown and then never returns (what Fast DDS once did on a loaded machine);
Ctrl-C must end the process well before launch would escalate (SIGTERM after 5 s).
"""

import signal
import sys
import time

from hilserl_testing.processes import wait_for_output

NODE = '''
import threading
import rclpy.node
from hilserl_common.node_support import run_node

real_destroy_node = rclpy.node.Node.destroy_node


def destroy_node_that_hangs(self):
    real_destroy_node(self)
    print('teardown started', flush=True)
    threading.Event().wait()


rclpy.node.Node.destroy_node = destroy_node_that_hangs


class Idle(rclpy.node.Node):
    def __init__(self):
        super().__init__('idle')
        self.create_timer(0.5, lambda: None)
        self.get_logger().info('spinning')


run_node(Idle)
'''


def test_a_hanging_middleware_teardown_ends_with_status_0_after_the_grace(processes):
    node = processes.start([sys.executable, '-c', NODE], 'idle')
    wait_for_output(node, 'spinning', 60)
    node.send_signal(signal.SIGINT)
    wait_for_output(node, 'teardown started', 20)
    started = time.monotonic()
    assert node.wait(timeout=20) == 0, node.output()
    assert time.monotonic() - started < 5.0, node.output()
    assert ('[WARN] Idle: destroy_node_that_hangs did not return in 3 s'
            in node.output()), node.output()
