"""
Shutting a node down: Ctrl-C ends it quietly even when it lands inside rclpy (real
bugs still show), messages already acknowledged to their publisher can still be
taken after the context is shut down, and more SIGINTs or SIGTERMs during the cleanup
do not cut it short.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from rclpy.duration import Duration
from std_msgs.msg import String

from hilserl_testing.processes import wait_for_output

HELPER = os.path.join(os.path.dirname(__file__), 'helpers', 'interrupted_node.py')


def test_ctrl_c_surfacing_as_another_error_exits_cleanly(processes):
    node = processes.start([sys.executable, HELPER, 'interrupt'], 'busy_node')
    wait_for_output(node, 'in callback', timeout=30)
    node.send_signal(signal.SIGINT)   # a request; the callback never returns
    # As launch escalates: a signal 2 s (FORCE_STOP_AFTER_S) after the first interrupts
    # the callback. Repeated until the node exits.
    deadline = time.monotonic() + 30
    while node.alive() and time.monotonic() < deadline:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
    assert node.wait(timeout=1) == 0, node.output()
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


@pytest.mark.parametrize('first, during_cleanup', [
    (signal.SIGINT, (signal.SIGINT, signal.SIGTERM)),   # Ctrl-C twice, then launch's SIGTERM
    (signal.SIGTERM, (signal.SIGINT,))])                 # a SIGTERM first, then a Ctrl-C
def test_signals_during_the_cleanup_wait_for_it_and_the_stop_exits_0(
        processes, first, during_cleanup):
    node = processes.start([sys.executable, HELPER, 'slow_cleanup'], 'busy_node')
    wait_for_output(node, 'in callback', timeout=30)
    node.send_signal(first)
    wait_for_output(node, 'cleaning up', timeout=30)
    for signum in during_cleanup:
        node.send_signal(signum)
    assert node.wait(timeout=30) == 0, node.output()
    output = node.output()
    assert 'cleanup done' in output and 'Traceback' not in output, output
    # Reported once, however many came.
    assert output.count('while stopping: ignored; finishing the shutdown first') == 1, output
