"""
Shutting a node down: Ctrl-C ends it quietly even when it lands inside rclpy (real
bugs still show), and messages already acknowledged to their publisher can still be
taken after the context is shut down.
"""

import os
import signal
import sys

from rclpy.duration import Duration
from std_msgs.msg import String

from hilserl.testing.processes import wait_for_output

HELPER = os.path.join(os.path.dirname(__file__), 'helpers', 'interrupted_node.py')


def test_ctrl_c_surfacing_as_another_error_exits_cleanly(processes):
    node = processes.start([sys.executable, HELPER, 'interrupt'], 'busy_node')
    wait_for_output(node, 'in callback', timeout=30)
    node.send_signal(signal.SIGINT)
    assert node.wait(timeout=30) == 0, node.output()
    assert 'Traceback' not in node.output()


def test_an_error_without_ctrl_c_is_still_reported(processes):
    node = processes.start([sys.executable, HELPER, 'fail'], 'busy_node')
    assert node.wait(timeout=30) != 0
    assert 'RuntimeError: a bug in a callback' in node.output()


def test_messages_acknowledged_before_ctrl_c_are_drained_on_the_way_out(processes, probe):
    node = processes.start([sys.executable, HELPER, 'drain'], 'busy_node')
    wait_for_output(node, 'in callback', timeout=30)   # its executor is busy from now on
    publisher = probe.publisher(String, '/drained', 10)
    probe.wait_for_subscribers(publisher, timeout=30)
    for text in ('a', 'b', 'c'):
        publisher.publish(String(data=text))
    assert publisher.wait_for_all_acked(Duration(seconds=10))
    node.send_signal(signal.SIGINT)
    assert node.wait(timeout=30) == 0, node.output()
    assert 'received a b c' in node.output()
