"""SIGINT and SIGTERM: at most one interrupts, later ones and those during cleanup wait."""

import signal

import pytest

from hilserl_common import stop_signals
from hilserl_common.stop_signals import signal_name, StopSignals


def test_the_first_signal_interrupts_and_later_ones_are_counted_and_reported_once():
    lines = []
    with StopSignals('learner', write=lines.append) as signals:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        assert signals.requested and not signals.interrupting
        # The final save goes on: nothing is raised, however many follow.
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
    assert signals.received == [signal.SIGINT, signal.SIGINT, signal.SIGTERM, signal.SIGINT]
    assert lines == ['[learner] SIGINT again while stopping: ignored; finishing the '
                     'shutdown first\n']


def test_sigterm_interrupts_as_sigint_does():
    with StopSignals('node', write=lambda line: None) as signals:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
    assert signals.received == [signal.SIGTERM]


def test_a_first_signal_during_cleanup_does_not_interrupt_it():
    lines = []
    with StopSignals('recorder', write=lines.append) as signals:
        signals.stop_interrupting()   # the node stopped by itself and is cleaning up
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)
    assert signals.requested and signals.received == [signal.SIGTERM, signal.SIGTERM]
    # The first is the request (the node was stopping anyway): only the next is reported.
    assert lines == ['[recorder] SIGTERM again while stopping: ignored; finishing the '
                     'shutdown first\n']


def test_the_previous_handlers_come_back():
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    with StopSignals('cli', write=lambda line: None) as signals:
        assert signal.getsignal(signal.SIGINT) == signals.handle
        assert signal.getsignal(signal.SIGTERM) == signals.handle
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_signal_names():
    assert signal_name(signal.SIGINT) == 'SIGINT'
    assert signal_name(signal.SIGTERM) == 'SIGTERM'
    assert signal_name(999) == 'signal 999'


def test_ignored_from_the_exit_on():
    with StopSignals('node', write=lambda line: None) as signals:
        signals.ignore()   # Python's finalization would reset a handler to the default
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        signal.raise_signal(signal.SIGTERM)   # the test process lives on
        signal.raise_signal(signal.SIGINT)
    assert signals.received == []


def test_with_a_grace_the_first_signal_is_a_request_and_a_late_one_forces(monkeypatch):
    """A node: rclpy stops the spin; a signal 2 s later interrupts a stuck callback."""
    clock = [100.0]
    monkeypatch.setattr(stop_signals.time, 'monotonic', lambda: clock[0])
    lines = []
    with StopSignals('actor', grace_s=2.0, write=lines.append) as signals:
        signal.raise_signal(signal.SIGINT)     # the terminal's
        clock[0] += 0.01
        signal.raise_signal(signal.SIGINT)     # launch's own, without a terminal
        clock[0] += 0.3
        signal.raise_signal(signal.SIGINT)     # Ctrl-C again
        assert signals.requested and signals.interrupting
        clock[0] += 5.0
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)   # launch's SIGTERM: the callback is stuck
        signal.raise_signal(signal.SIGTERM)       # nothing more is raised
    assert lines == ['[actor] SIGINT again while stopping: ignored; waiting for the work '
                     'in progress (one 2 s after the first interrupts it)\n']


def test_with_a_grace_nothing_is_raised_once_the_cleanup_began(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(stop_signals.time, 'monotonic', lambda: clock[0])
    with StopSignals('learner', grace_s=2.0, write=lambda line: None) as signals:
        signal.raise_signal(signal.SIGINT)
        signals.stop_interrupting()   # the spin ended: destroy_node writes the checkpoint
        clock[0] += 10.0
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
    assert len(signals.received) == 3
