"""The gamepad teleop node: sensor_msgs/Joy in, teleop commands and episode events out."""

import statistics

from hilserl_interfaces.msg import EndEffectorCommand, EpisodeEvent
import numpy as np
import pytest
from sensor_msgs.msg import Joy
from std_msgs.msg import Bool

from hilserl.launching.graph import NodeSpec
from hilserl.ros.teleop_output import EVENT_QOS, INTERVENTION_QOS
from hilserl_testing.processes import wait_for_output

PRESETS = {'xbox': 'teleop_joy_xbox.yaml', 'playstation': 'teleop_joy_playstation.yaml',
           'logitech': 'teleop_joy_logitech.yaml'}


class Gamepad:
    """The probe as a joy node with an Xbox pad: 8 axes, 11 buttons."""

    def __init__(self, probe, namespace=''):
        self.joy = probe.publisher(Joy, f'{namespace}/joy', 10)
        self.commands = probe.subscribe(EndEffectorCommand, f'{namespace}/teleop/command', 10)
        self.events = probe.subscribe(EpisodeEvent, f'{namespace}/episode_events', EVENT_QOS)
        self.intervention = probe.subscribe(Bool, f'{namespace}/teleop/intervention',
                                            INTERVENTION_QOS)
        probe.wait_for_subscribers(self.joy, timeout=20)
        for collector in (self.commands, self.events, self.intervention):
            collector.wait_for_publishers(timeout=20)

    def send(self, axes=None, pressed=()):
        values = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]  # triggers rest at +1
        for index, value in (axes or {}).items():
            values[index] = value
        self.joy.publish(Joy(axes=values, buttons=[int(i in pressed) for i in range(11)]))

    def command_after(self, predicate, what, **state):
        self.commands.messages.clear()
        self.send(**state)
        return self.commands.wait_for(predicate, timeout=10, what=what)

    def event_after(self, event, **state):
        self.events.messages.clear()
        self.send(**state)
        return self.events.wait_for(lambda m: m.event == event, timeout=10,
                                    what=f'event {event}')


def spec(preset='xbox', namespace='', **parameters):
    return NodeSpec('joy_teleop', 'joy_teleop', namespace=namespace,
                    parameter_files=(PRESETS[preset],),
                    parameters={'joy_timeout_s': 5.0, **parameters})


def test_sticks_and_gripper_buttons_make_commands(processes, probe):
    processes.start_node(spec())
    pad = Gamepad(probe)
    pad.send()
    idle = pad.commands.wait_for_messages(2)[-1]
    assert list(idle.delta_xyz) == [0.0, 0.0, 0.0] and idle.gripper == 1
    assert idle.source == EndEffectorCommand.SOURCE_HUMAN
    command = pad.command_after(lambda m: m.delta_xyz[0] > 0, 'forward',
                                axes={1: 1.0, 0: -1.0, 4: 0.05})  # 0.05: in the deadzone
    assert list(command.delta_xyz) == [1.0, -1.0, 0.0]
    pad.command_after(lambda m: m.gripper == EndEffectorCommand.GRIPPER_CLOSE, 'close (A)',
                      pressed=(0,))
    pad.command_after(lambda m: m.gripper == EndEffectorCommand.GRIPPER_OPEN, 'open (B)',
                      pressed=(1,))


def test_commands_come_at_a_steady_rate_hz(processes, probe):
    processes.start_node(spec(rate_hz=20.0))
    pad = Gamepad(probe)
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9
              for m in pad.commands.wait_for_messages(21, timeout=20)]
    assert statistics.median(np.diff(stamps)) == pytest.approx(0.05, rel=0.3)


def test_buttons_raise_events_once_and_rb_holds_the_intervention(processes, probe):
    processes.start_node(spec())
    pad = Gamepad(probe)
    assert pad.intervention.wait_for_messages(1)[0].data is False
    pad.send()
    start = pad.event_after(EpisodeEvent.INTERVENTION_START, pressed=(5,))
    assert start.source == 'joy_teleop'
    pad.intervention.wait_for(lambda m: m.data is True, what='intervention True')
    pad.event_after(EpisodeEvent.INTERVENTION_END)
    pad.events.messages.clear()
    pad.send(pressed=(7,))  # Start: success
    pad.send(pressed=(7,))  # still held: no second event
    pad.send(pressed=(6,))  # Back: failure
    pad.events.wait_for(lambda m: m.event == EpisodeEvent.FAILURE, timeout=10, what='failure')
    assert [m.event for m in pad.events.messages] == [EpisodeEvent.SUCCESS,
                                                      EpisodeEvent.FAILURE]
    pad.event_after(EpisodeEvent.RERECORD, pressed=(3,))


@pytest.mark.parametrize('preset', list(PRESETS))
def test_each_preset_file_loads(processes, probe, preset):
    node = processes.start_node(spec(preset))
    pad = Gamepad(probe)
    pad.send(axes={1: 1.0})
    pad.commands.wait_for(lambda m: m.delta_xyz[0] == 1.0, timeout=10, what='forward')
    assert 'Traceback' not in node.output()


def test_bad_mapping_is_a_clear_startup_error(processes):
    node = processes.start_node(spec(**{'buttons.success': 0}))
    assert node.wait(timeout=30) == 78
    output = wait_for_output(node, 'button 0 is both gripper_close and success', 5)
    assert 'Traceback' not in output
