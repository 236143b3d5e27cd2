"""A control loop's thread at real-time priority, and only that thread."""

import os
import threading

from hilserl_common.node_support import make_thread_realtime
import pytest


def run_in_a_thread(function):
    """Return what ``function`` returns when run in a new thread (pytest's stays as it is)."""
    result = {}

    def target():
        result['value'] = function()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return result['value']


def scheduling():
    """Return the calling thread's (policy without flags, priority)."""
    policy = os.sched_getscheduler(0) & ~getattr(os, 'SCHED_RESET_ON_FORK', 0)
    return policy, os.sched_getparam(0).sched_priority


def test_the_calling_thread_runs_fifo_and_the_threads_it_starts_do_not():
    def loop_thread():
        refused = make_thread_realtime(20)
        return refused, scheduling(), run_in_a_thread(scheduling)

    refused, loop, started_by_loop = run_in_a_thread(loop_thread)
    if refused is not None:
        # Not permitted here: the loop runs on at normal priority, and says how to allow it.
        assert 'rtprio' in refused and loop[0] == os.SCHED_OTHER
        return
    assert loop == (os.SCHED_FIFO, 20)
    assert started_by_loop == (os.SCHED_OTHER, 0)
    assert scheduling() == (os.SCHED_OTHER, 0)   # nor did the test's own thread change


def test_priority_zero_changes_nothing_and_out_of_range_is_an_error():
    assert run_in_a_thread(lambda: (make_thread_realtime(0), scheduling())) == (
        None, (os.SCHED_OTHER, 0))
    for priority in (-1, 100):
        with pytest.raises(ValueError, match='thread_priority'):
            make_thread_realtime(priority)
