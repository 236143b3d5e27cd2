"""
The keyboard teleop node on a pseudo-terminal: keys typed in, commands and events out.

The test is the human at the terminal: it types bytes into the terminal's master
side, exactly what a terminal sends for each key.
"""

import signal
import termios

from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent
from std_msgs.msg import Bool

from hilserl.launching.graph import NodeSpec
from hilserl.ros.teleop_output import EVENT_QOS, INTERVENTION_QOS
from hilserl_testing.processes import wait_for_output
from hilserl_testing.terminal import start_node_on_terminal

SPEC = NodeSpec('keyboard_teleop', 'keyboard_teleop', parameter_files=('teleop_keyboard.yaml',),
                parameters={'rate_hz': 50.0, 'key_hold_s': 0.5})


class KeyboardSession:
    """The node, its terminal and the probe's view of its three topics."""

    def __init__(self, processes, probe):
        self.node = start_node_on_terminal(processes, SPEC)
        self.commands = probe.subscribe(EndEffectorCommand, '/teleop/command', 10)
        self.intervention = probe.subscribe(Bool, '/teleop/intervention', INTERVENTION_QOS)
        self.events = probe.subscribe(EpisodeEvent, '/episode_events', EVENT_QOS)
        wait_for_output(self.node, 'keys:', 30)  # the terminal is in cbreak mode now
        for collector in (self.commands, self.intervention, self.events):
            collector.wait_for_publishers(timeout=20)

    def type_and_wait(self, data: bytes, predicate, collector=None, what='a message'):
        collector = collector or self.commands
        collector.messages.clear()
        self.node.type(data)
        return collector.wait_for(predicate, timeout=10, what=what)

    def event_after(self, data: bytes, event: int) -> EpisodeEvent:
        return self.type_and_wait(data, lambda m: m.event == event, self.events,
                                  f'event {event}')


def test_idle_commands_then_keys_move_and_grip(processes, probe):
    session = KeyboardSession(processes, probe)
    idle = session.commands.wait_for_messages(3)[-1]
    assert list(idle.delta_xyz) == [0.0, 0.0, 0.0]
    assert idle.gripper == EndEffectorCommand.GRIPPER_STAY
    assert idle.source == EndEffectorCommand.SOURCE_HUMAN and idle.header.stamp.sec > 0
    forward = session.type_and_wait(b'\x1b[A', lambda m: m.delta_xyz[0] > 0, what='+x')
    assert list(forward.delta_xyz) == [0.5, 0.0, 0.0]
    session.type_and_wait(b'\x1b[6~', lambda m: m.delta_xyz[2] < 0, what='-z (PgDn)')
    session.type_and_wait(b'c', lambda m: m.gripper == EndEffectorCommand.GRIPPER_CLOSE,
                          what='gripper close')
    session.commands.wait_for(lambda m: m.delta_xyz[2] == 0.0 and m.gripper == 1,
                              what='idle again after key_hold_s')


def test_space_toggles_intervention_and_keys_raise_events(processes, probe):
    session = KeyboardSession(processes, probe)
    assert session.intervention.wait_for_messages(1)[0].data is False  # latched at start
    start = session.event_after(b' ', EpisodeEvent.INTERVENTION_START)
    assert start.source == 'keyboard_teleop'
    session.intervention.wait_for(lambda m: m.data is True, what='intervention True')
    for key, event in [(b's', EpisodeEvent.SUCCESS), (b'r', EpisodeEvent.RERECORD),
                       (b'\x1b', EpisodeEvent.FAILURE),  # a lone Esc, after its timeout
                       (b' ', EpisodeEvent.INTERVENTION_END)]:
        session.event_after(key, event)
    session.intervention.wait_for(lambda m: m.data is False, what='intervention False')


def test_q_quits_cleanly_and_restores_the_terminal(processes, probe):
    session = KeyboardSession(processes, probe)
    assert not termios.tcgetattr(session.node.master_fd)[3] & termios.ICANON
    session.node.type(b'q')
    assert session.node.wait(timeout=20) == 0
    assert termios.tcgetattr(session.node.master_fd)[3] & termios.ICANON
    assert 'Traceback' not in session.node.output()


def test_ctrl_c_restores_the_terminal(processes, probe):
    session = KeyboardSession(processes, probe)
    session.node.send_signal(signal.SIGINT)  # what Ctrl-C sends the foreground process
    assert session.node.wait(timeout=20) == 0
    assert termios.tcgetattr(session.node.master_fd)[3] & termios.ICANON
    assert 'Traceback' not in session.node.output()


def test_without_a_terminal_it_exits_with_one_line(processes):
    node = processes.start_node(SPEC)  # stdin is /dev/null
    assert node.wait(timeout=30) == 78
    assert 'stdin is not a terminal' in node.output() and 'Traceback' not in node.output()
