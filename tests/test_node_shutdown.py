"""Ctrl-C ends a node quietly even when it lands inside rclpy; real bugs still show."""

import os
import signal
import sys

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
