"""The gamepad mapping: presets, axes, deadzone, buttons, edges, intervention, deadman."""

import os
import re

import pytest

from hilserl.arm.safety_filter import Gripper
from hilserl.human.teleop.common import IDLE, TeleopEvent
from hilserl.human.teleop.joy_mapping import (apply_deadzone, JoyMapping, JoyTeleop,
                                              load_parameter_file)

CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'config')
PRESETS = ['teleop_joy_xbox.yaml', 'teleop_joy_playstation.yaml', 'teleop_joy_logitech.yaml']
AXES, BUTTONS = [0.0] * 8, [0] * 13


def pad(**parameters):
    return JoyTeleop(JoyMapping.from_parameters(parameters))


def press(teleop, now, axes=AXES, **buttons):
    """Send one message with the given button indices pressed, e.g. b5=1."""
    state = list(BUTTONS)
    for name, value in buttons.items():
        state[int(name[1:])] = value
    return teleop.update(axes, state, now)


@pytest.mark.parametrize('preset', PRESETS)
def test_each_preset_loads_and_maps_left_stick_up_to_forward(preset):
    mapping = JoyMapping.from_parameters(load_parameter_file(os.path.join(CONFIG, preset)))
    teleop = JoyTeleop(mapping)
    axes = list(AXES)
    axes[1] = 1.0  # the joy node reports the left stick pushed up as +1 on axis 1
    teleop.update(axes, BUTTONS, 0.0)
    assert teleop.command(0.0).delta_xyz == (1.0, 0.0, 0.0)


def test_axes_are_scaled_signed_and_clipped():
    teleop = pad(**{'axes.x.scale': -0.5, 'axes.y.scale': 3.0, 'deadzone': 0.0})
    teleop.update([0.4, 0.8, 0.0, 0.0, -0.6], BUTTONS, 0.0)
    assert teleop.command(0.0).delta_xyz == pytest.approx((-0.4, 1.0, -0.6))


def test_deadzone_zeroes_small_values_and_rescales_the_rest():
    assert apply_deadzone(0.05, 0.1) == 0.0
    assert apply_deadzone(-1.0, 0.1) == -1.0
    assert apply_deadzone(0.55, 0.1) == pytest.approx(0.5)


def test_nothing_pressed_is_the_idle_command():
    teleop = pad()
    teleop.update(AXES, BUTTONS, 0.0)
    assert teleop.command(0.0) == IDLE


def test_gripper_buttons_close_and_open_while_held():
    teleop = pad()
    press(teleop, 0.0, b0=1)
    assert teleop.command(0.0).gripper == Gripper.CLOSE
    press(teleop, 0.1, b1=1)
    assert teleop.command(0.1).gripper == Gripper.OPEN
    press(teleop, 0.2, b0=1, b1=1)  # both: undecided
    assert teleop.command(0.2).gripper == Gripper.STAY


def test_event_buttons_fire_once_per_press():
    teleop = pad()
    press(teleop, 0.0)
    assert press(teleop, 0.1, b7=1) == [TeleopEvent.SUCCESS]
    assert press(teleop, 0.2, b7=1) == []  # still held
    press(teleop, 0.3)
    assert press(teleop, 0.4, b7=1, b6=1, b3=1) == [
        TeleopEvent.SUCCESS, TeleopEvent.FAILURE, TeleopEvent.RERECORD]


def test_a_button_held_in_the_first_message_fires_nothing():
    assert press(pad(), 0.0, b7=1) == []


def test_intervention_hold_mode_follows_the_button():
    teleop = pad(intervention_mode='hold')
    press(teleop, 0.0, b5=1)
    assert teleop.intervention.active
    press(teleop, 0.1)
    assert not teleop.intervention.active


def test_intervention_toggle_mode_flips_on_each_press():
    teleop = pad(intervention_mode='toggle')
    for now, pressed, expected in [(0.0, 1, True), (0.1, 0, True), (0.2, 1, False)]:
        press(teleop, now, b5=pressed)
        assert teleop.intervention.active is expected


def test_deadman_button_gates_all_motion():
    teleop = pad(**{'buttons.deadman': 4})
    axes = [1.0] * 8
    press(teleop, 0.0, axes=axes, b0=1)
    assert teleop.command(0.0) == IDLE
    press(teleop, 0.1, axes=axes, b0=1, b4=1)
    command = teleop.command(0.1)
    assert command.delta_xyz == (1.0, 1.0, 1.0) and command.gripper == Gripper.CLOSE


def test_silent_pad_gives_idle_and_ends_a_held_intervention():
    teleop = pad(joy_timeout_s=0.5)
    press(teleop, 0.0, axes=[1.0] * 8, b5=1)
    assert teleop.command(0.4).delta_xyz == (1.0, 1.0, 1.0)
    assert teleop.command(0.6) == IDLE and not teleop.intervention.active


def test_indices_the_pad_lacks_are_reported_and_read_as_released():
    teleop = pad(**{'buttons.success': 20})
    press(teleop, 0.0)
    assert press(teleop, 0.1, b7=1) == []
    assert teleop.missing == ['button success (20)']


def test_non_finite_axes_give_no_motion():
    teleop = pad()
    teleop.update([float('nan')] * 8, BUTTONS, 0.0)
    assert teleop.command(0.0) == IDLE


@pytest.mark.parametrize('parameters, message', [
    ({'buttons.success': 0}, 'button 0 is both gripper_close and success'),
    ({'deadzone': 1.0}, 'deadzone must be in [0, 1)'),
    ({'intervention_mode': 'press'}, "intervention_mode must be 'hold' or 'toggle'"),
    ({'axes.x.index': -3}, 'index of x must be -1'),
    ({'axes.x.index': 1.5}, 'axes.x.index must be an integer'),
])
def test_bad_mappings_are_refused_with_a_reason(parameters, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        JoyMapping.from_parameters(parameters)
