"""TeardownWatchdog: a thread stuck in a watched function ends the process, others do not."""

import threading
import time

from hilserl_common.teardown_watchdog import TeardownWatchdog


def stuck_in_teardown(release: threading.Event) -> None:
    """Stand for a middleware teardown: returns only when released."""
    release.wait(30.0)


def elsewhere(release: threading.Event) -> None:
    release.wait(30.0)


def run_watched(target, grace_s):
    """Run ``target`` in a thread watched for ``grace_s``; return (exit statuses, seconds)."""
    release, statuses, started = threading.Event(), [], []
    worker = threading.Thread(target=lambda: (started.append(time.monotonic()),
                                              target(release)))
    worker.start()
    while not started:
        time.sleep(0.001)
    watchdog = TeardownWatchdog('test_node', [stuck_in_teardown.__code__], grace_s=grace_s,
                                status=78, thread_id=worker.ident, poll_s=0.01,
                                on_stuck=lambda status: (statuses.append(status),
                                                         release.set()))
    with watchdog:
        worker.join(10.0)
    return statuses, time.monotonic() - started[0], watchdog


def test_a_thread_stuck_in_a_watched_function_ends_with_the_run_s_status(capfd):
    statuses, seconds, watchdog = run_watched(stuck_in_teardown, grace_s=0.3)
    assert statuses == [78] and watchdog.fired
    assert 0.3 <= seconds < 5.0
    assert ('[WARN] test_node: stuck_in_teardown did not return in 0.3 s'
            in capfd.readouterr().err)


def test_a_thread_elsewhere_is_left_alone():
    release = threading.Event()
    statuses = []
    worker = threading.Thread(target=elsewhere, args=(release,))
    worker.start()
    watchdog = TeardownWatchdog('test_node', [stuck_in_teardown.__code__], grace_s=0.05,
                                thread_id=worker.ident, poll_s=0.01,
                                on_stuck=statuses.append)
    with watchdog:
        deadline = time.monotonic() + 0.5   # ten times the grace, watched all along
        while time.monotonic() < deadline:
            assert watchdog.inside() is None
            time.sleep(0.01)
    release.set()
    worker.join(5.0)
    assert statuses == [] and not watchdog.fired


def test_a_teardown_that_returns_in_time_is_not_cut_short():
    def stuck_in_teardown_briefly():
        done = threading.Event()
        done.wait(0.05)

    watched = TeardownWatchdog('test_node', [stuck_in_teardown_briefly.__code__],
                               grace_s=1.0, poll_s=0.01, on_stuck=lambda status: None)
    with watched:
        stuck_in_teardown_briefly()
    assert not watched.fired
