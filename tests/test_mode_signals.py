"""
Stopping modes as ``ros2 launch`` users stop them, through the pip-only runner.

The runner and its nodes share a process group, as ``ros2 launch`` and its nodes do,
and the test signals the whole group as a terminal or a service manager would:

- ``sigint_once``: Ctrl-C in a terminal (the runner is interactive: its stdin is a
  terminal, so it leaves the SIGINT to the terminal, which sent it to every node);
- ``sigint_twice``: Ctrl-C pressed twice, 300 ms apart;
- ``sigint_noninteractive``: Ctrl-C without a terminal on stdin (a script, a service):
  the runner also sends its own SIGINT to every node, as ``ros2 launch`` does then;
- ``sigterm``: SIGTERM to the group (``kill -TERM -<pgid>``, a container stopping).

Each time every node exits with status 0, nothing prints a traceback, and train mode's
learner writes its final checkpoint, which a resumed learner continues from.
"""

import json
import os
import re
import signal
import time

from hilserl.launching.runner import EXIT_INTERRUPTED
from hilserl_testing.processes import mode_command
from hilserl_testing.terminal import start_mode_on_terminal
import pytest

PATTERNS = ('sigint_once', 'sigint_twice', 'sigint_noninteractive', 'sigterm')
INTERACTIVE = ('sigint_once', 'sigint_twice')
STATUS = re.compile(r'status: (\d+) transitions received')
RESUMED = re.compile(r'resumed from (\S+): (\d+) transitions \((\d+) from the log\), '
                     r'(\d+) learner steps')


def start(processes, pattern, mode, **arguments):
    """Start ``mode`` through the runner, on a terminal when ``pattern`` is interactive."""
    if pattern in INTERACTIVE:
        return start_mode_on_terminal(processes, mode, **arguments)
    return processes.start_mode(mode, **arguments)


def stop(runner, pattern):
    """Send ``pattern``'s signals to the runner's process group."""
    if pattern == 'sigterm':
        runner.send_signal(signal.SIGTERM)
        return
    runner.send_signal(signal.SIGINT)
    if pattern == 'sigint_twice':
        time.sleep(0.3)   # the scenario itself: a second Ctrl-C 300 ms after the first
        runner.send_signal(signal.SIGINT)


def wait_for_match(process, pattern, timeout, accept=lambda match: True):
    """Wait until ``pattern`` matches a line of the process output that ``accept``s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for match in pattern.finditer(process.output()):
            if accept(match):
                return match
        if not process.alive():
            break
        time.sleep(0.1)
    raise AssertionError(f'{pattern.pattern!r} not printed by {process.name} within '
                         f'{timeout} s; output:\n{process.output()}')


def assert_stopped_cleanly(runner, pattern, timeout):
    """Wait for the runner; assert every node it started exited 0; return the output."""
    status = runner.wait(timeout=timeout)
    output = runner.output()
    assert status == EXIT_INTERRUPTED, output
    started = re.findall(r'\[hilserl launch\] started (\S+) \[pid', output)
    finished = re.findall(r'\[hilserl launch\] (\S+) finished cleanly', output)
    assert started and sorted(started) == sorted(finished), output
    assert 'died with exit code' not in output and 'Traceback' not in output, output
    assert 'still running' not in output, output   # no SIGTERM or SIGKILL was needed
    if pattern in INTERACTIVE:
        assert 'SIGINT: stopping the mode; the nodes got it from the terminal' in output
    else:
        assert 'stopping the mode; sending SIGINT to every node' in output
    if pattern == 'sigint_twice':
        assert 'SIGINT again: ignored, the nodes are stopping' in output, output
    return output


@pytest.mark.parametrize('pattern', PATTERNS)
def test_train_mode_stops_cleanly_and_resumes_from_the_final_checkpoint(
        processes, tmp_path, pattern):
    run_dir = tmp_path / 'run'
    runner = start(processes, pattern, 'train', run_dir=run_dir, task='reach',
                   lock_step='true')
    wait_for_match(runner, STATUS, 120, lambda match: int(match.group(1)) >= 10)
    stop(runner, pattern)
    # With sigint_noninteractive and sigterm each node gets a second signal (the runner's
    # own SIGINT) while it stops; whether a node sees it apart from the first depends on
    # timing (the kernel merges a signal that arrives before the first is handled, and a
    # quick node has exited), so the test asks only what must hold either way.
    output = assert_stopped_cleanly(runner, pattern, timeout=90)

    final = re.search(r'final checkpoint written: (\S+)', output).group(1)
    assert os.listdir(run_dir / 'checkpoints') == [os.path.basename(final)]
    with open(os.path.join(final, 'learner_state.json')) as stream:
        counters = json.load(stream)['counters']
    assert counters['transitions_received'] >= 10

    # The learner alone picks the run up from that checkpoint, nothing left in its log.
    resumed = processes.start(mode_command('train', run_dir=run_dir, resume='true',
                                           role='learner'), 'mode-train-resumed')
    match = wait_for_match(resumed, RESUMED, 90)
    assert match.group(1) == final
    assert int(match.group(2)) == counters['transitions_received']
    assert int(match.group(3)) == 0
    assert int(match.group(4)) == counters['learner_steps']


def test_record_mode_ctrl_c_twice_discards_the_open_episode_and_exits_cleanly(
        processes, tmp_path):
    dataset = tmp_path / 'dataset'
    runner = start(processes, 'sigint_twice', 'record', dataset_dir=dataset, task='reach',
                   num_episodes=5, lock_step='true')
    wait_for_match(runner, re.compile(r'episode #0000 started'), 120)
    stop(runner, 'sigint_twice')
    output = assert_stopped_cleanly(runner, 'sigint_twice', timeout=60)
    assert 'episode #0000 interrupted; discarded' in output, output
    assert not dataset.exists() or not any(dataset.glob('episode_*')), os.listdir(dataset)


@pytest.fixture
def small_classifier(tmp_path):
    """A tiny two-camera classifier at the simulated cameras' size."""
    from hilserl_learning.reward_classifier import save_classifier
    from hilserl_testing.tiny_classifier import train_tiny_classifier
    directory = tmp_path / 'classifier'
    save_classifier(train_tiny_classifier(('front', 'wrist'), 128, samples=8, epochs=2),
                    str(directory))
    return str(directory)


def test_classifier_test_use_stops_cleanly_without_a_terminal(processes, small_classifier):
    runner = start(processes, 'sigint_noninteractive', 'classifier', use='test',
                   model_path=small_classifier, teleop='scripted', lock_step='true')
    wait_for_match(runner, re.compile(r'sets: p '), 120)
    stop(runner, 'sigint_noninteractive')
    assert_stopped_cleanly(runner, 'sigint_noninteractive', timeout=60)
