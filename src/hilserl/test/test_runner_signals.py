"""
The pip-only runner's stop sequence, which is launch's.

SIGINT (unless the terminal sent it), SIGTERM after ``sigterm_timeout``, SIGKILL after
``sigkill_timeout``. The nodes here are small Python processes that stand in for node
executables, so the sequence is seen without ROS: which signals each got, and when.
"""

import io
import signal
import sys
import threading
import time

from hilserl.launching import runner as runner_module
from hilserl.launching.graph import Mode, NodeSpec
from hilserl.launching.runner import EXIT_INTERRUPTED, GraphRunner

# Each prints 'ready' once its handlers are in place.
SCRIPTS = {
    # Ignores SIGINT and SIGTERM: only SIGKILL ends it.
    'stubborn': 'import signal, time\n'
                'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
                'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
                "print('ready', flush=True)\n"
                'time.sleep(60)\n',
    # Says when it gets SIGINT, exits 0 on SIGTERM.
    'waits_for_sigterm': 'import signal, sys, time\n'
                         "signal.signal(signal.SIGINT, lambda *a: print('got SIGINT', "
                         'flush=True))\n'
                         'signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n'
                         "print('ready', flush=True)\n"
                         'for _ in range(1200):\n'
                         '    time.sleep(0.05)\n',
    # Exits 0 on SIGINT.
    'polite': 'import signal, sys, time\n'
              'signal.signal(signal.SIGINT, lambda *a: sys.exit(0))\n'
              "print('ready', flush=True)\n"
              'time.sleep(60)\n',
    # Like 'stubborn', with run_node's SIGUSR1 handler: prints its threads' stacks.
    'stubborn_dumps': 'import faulthandler, signal, time\n'
                      'faulthandler.register(signal.SIGUSR1, all_threads=True)\n'
                      'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
                      'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
                      "print('ready', flush=True)\n"
                      'time.sleep(60)\n',
    # Runs for a second (the others get ready meanwhile), exits 0.
    'finishes': "import time\nprint('ready', flush=True)\ntime.sleep(1.0)\n",
}
FAST = {'sigterm_timeout': 0.3, 'sigkill_timeout': 0.3}


def run(monkeypatch, specs, interactive, signals=()):
    """Run ``specs`` and send ``signals`` to the runner once all are ready; return output."""
    monkeypatch.setattr(runner_module, 'node_command',
                        lambda spec: [sys.executable, '-c', SCRIPTS[spec.executable]])
    output = io.StringIO()
    mode = Mode('test', 'stand-ins', (), lambda arguments: list(specs))
    runner = GraphRunner(mode, {}, output, interactive=interactive)

    def stop_when_ready():
        deadline = time.monotonic() + 30
        while output.getvalue().count('] ready') < len(specs) and time.monotonic() < deadline:
            time.sleep(0.02)
        for signum in signals:
            runner.request_stop(signum)

    sender = threading.Thread(target=stop_when_ready, daemon=True)
    sender.start()
    status = runner.run()
    sender.join()
    return status, output.getvalue()


def test_a_node_that_ignores_sigint_and_sigterm_is_killed_on_launchs_timers(monkeypatch):
    started = time.monotonic()
    status, output = run(monkeypatch, [NodeSpec('stubborn', 'stubborn', **FAST)],
                         interactive=False, signals=[signal.SIGINT])
    assert status == EXIT_INTERRUPTED
    assert 'SIGINT: stopping the mode; sending SIGINT to every node' in output
    assert '/stubborn still running 0.3 s after SIGINT: sending SIGTERM' in output
    assert '/stubborn still running 0.3 s after SIGTERM: sending SIGKILL' in output
    assert '/stubborn died with exit code -9' in output
    assert time.monotonic() - started < 20


def test_a_node_that_handles_sigusr1_says_where_it_is_stuck_before_it_is_killed(monkeypatch):
    status, output = run(monkeypatch, [NodeSpec('stubborn_dumps', 'stubborn_dumps', **FAST)],
                         interactive=False, signals=[signal.SIGINT])
    assert status == EXIT_INTERRUPTED
    # faulthandler's dump: the main thread sleeping in the script's last line.
    assert 'most recent call first' in output and 'line 6' in output
    assert '/stubborn_dumps died with exit code -9' in output
    # A node without a SIGUSR1 handler gets none (it would die of it, not of SIGKILL).
    status, output = run(monkeypatch, [NodeSpec('stubborn', 'stubborn', **FAST)],
                         interactive=False, signals=[signal.SIGINT])
    assert 'most recent call first' not in output and 'exit code -9' in output


def test_interactive_ctrl_c_is_left_to_the_terminal_and_sigterm_follows(monkeypatch):
    status, output = run(monkeypatch, [NodeSpec('waits_for_sigterm', 'node', **FAST)],
                         interactive=True, signals=[signal.SIGINT])
    assert status == EXIT_INTERRUPTED
    assert 'SIGINT: stopping the mode; the nodes got it from the terminal' in output
    assert 'got SIGINT' not in output   # the runner did not send one
    assert '/node still running 0.3 s after SIGINT: sending SIGTERM' in output
    assert '/node finished cleanly' in output


def test_without_a_terminal_the_runner_sends_its_own_sigint(monkeypatch):
    status, output = run(monkeypatch, [NodeSpec('waits_for_sigterm', 'node', **FAST)],
                         interactive=False, signals=[signal.SIGINT])
    assert status == EXIT_INTERRUPTED
    assert '[node] got SIGINT' in output
    assert '/node finished cleanly' in output


def test_sigterm_to_the_runner_stops_the_nodes_with_sigint_even_with_a_terminal(monkeypatch):
    status, output = run(monkeypatch, [NodeSpec('polite', 'node')], interactive=True,
                         signals=[signal.SIGTERM, signal.SIGINT])
    assert status == EXIT_INTERRUPTED
    assert 'SIGTERM: stopping the mode; sending SIGINT to every node' in output
    assert 'SIGINT: ignored, the nodes are stopping' in output
    assert '/node finished cleanly' in output and 'still running' not in output


def test_a_required_node_exiting_stops_the_others_with_sigint(monkeypatch):
    status, output = run(monkeypatch, [NodeSpec('polite', 'helper'),
                                       NodeSpec('finishes', 'main', required=True)],
                         interactive=True)
    assert status == 0, output
    assert '/main exited; shutting down' in output
    assert '/helper finished cleanly' in output and 'still running' not in output


def test_a_node_failing_while_the_mode_stops_makes_the_status_1(monkeypatch):
    status, output = run(monkeypatch, [NodeSpec('stubborn', 'stubborn', **FAST),
                                       NodeSpec('finishes', 'main', required=True)],
                         interactive=False)
    assert status == 1
    assert '/stubborn died with exit code -9' in output
