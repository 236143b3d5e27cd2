"""Terminal bytes to keys, key bindings and the keyboard's commands, one feature each."""

import os
import pty
import re

import pytest

from hilserl.arm.safety_filter import Gripper
from hilserl.human.teleop.common import IDLE
from hilserl.human.teleop.keyboard import DEFAULT_BINDINGS, KeyBindings, KeyboardTeleop
from hilserl.human.teleop.keys import KeyDecoder
from hilserl.human.teleop.terminal import NotATerminal, TerminalKeys


def decode(data: bytes, now=0.0, decoder=None):
    return (decoder or KeyDecoder()).feed(data, now)


def test_printable_keys_and_space_are_themselves():
    assert decode(b'sS+ q') == ['s', 'S', '+', 'space', 'q']


def test_arrows_in_normal_and_application_mode():
    assert decode(b'\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1bOD') == [
        'up', 'down', 'right', 'left', 'up', 'left']


def test_page_up_and_down_and_modified_arrows():
    assert decode(b'\x1b[5~\x1b[6~\x1b[1;5A') == ['page_up', 'page_down', 'up']


def test_lone_escape_is_reported_after_the_timeout_only():
    decoder = KeyDecoder(esc_timeout_s=0.05)
    assert decoder.feed(b'\x1b', 0.0) == []
    assert decoder.flush(0.03) == []
    assert decoder.flush(0.06) == ['esc']
    assert decoder.flush(0.2) == []


def test_sequence_split_across_reads_is_one_key():
    decoder = KeyDecoder(esc_timeout_s=0.05)
    assert decoder.feed(b'\x1b[', 0.0) == []
    assert decoder.feed(b'5~', 0.01) == ['page_up']


def test_escape_followed_by_a_key_is_both():
    assert decode(b'\x1bs') == ['esc', 's']


def test_control_bytes_and_unknown_sequences():
    assert decode(b'\x03\r\x7f\x1b[99Z\xc3\xa9') == ['ctrl_c', 'enter', 'backspace']


def test_default_bindings_do_not_clash_and_move_z_without_s():
    bindings = KeyBindings(DEFAULT_BINDINGS)
    assert bindings.action('s') == 'success'
    assert {bindings.action(k) for k in ('page_up', 'u', 'page_down', 'd')} == {'up', 'down'}
    assert 'PgUp/u up' in bindings.help_line()


@pytest.mark.parametrize('bindings, message', [
    ({'success': ['s'], 'up': ['s']}, "key 's' is bound to both up and success"),
    ({'jump': ['j']}, 'unknown key action'),
    ({'up': ['pgup']}, "'pgup' (for up) is not a key name"),
])
def test_bad_bindings_are_refused_with_a_reason(bindings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        KeyBindings(bindings)


def test_key_press_moves_for_the_hold_window():
    teleop = KeyboardTeleop(KeyBindings(DEFAULT_BINDINGS), key_hold_s=0.2, speed=0.5)
    assert teleop.press('up', 1.0) == 'forward'
    assert teleop.press('page_down', 1.0) == 'down'
    assert teleop.command(1.1).delta_xyz == (0.5, 0.0, -0.5)
    assert teleop.command(1.25) == IDLE


def test_gripper_keys_and_speed_keys():
    teleop = KeyboardTeleop(KeyBindings(DEFAULT_BINDINGS), key_hold_s=0.2, speed=0.5)
    teleop.press('c', 0.0)
    assert teleop.command(0.1).gripper == Gripper.CLOSE
    teleop.press('+', 0.1)
    assert teleop.speed == pytest.approx(0.75)
    teleop.press('o', 0.2)
    assert teleop.command(0.3).gripper == Gripper.OPEN


def test_session_keys_are_returned_for_the_node():
    teleop = KeyboardTeleop(KeyBindings(DEFAULT_BINDINGS))
    actions = [teleop.press(key, 0.0) for key in ('space', 's', 'esc', 'r', 'q', 'x')]
    assert actions == ['intervention', 'success', 'failure', 'rerecord', 'quit', None]
    assert teleop.command(0.0) == IDLE


def test_terminal_is_put_in_cbreak_mode_and_restored():
    import termios
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        keys = TerminalKeys(slave)
        assert not termios.tcgetattr(slave)[3] & termios.ICANON
        os.write(master, b'\x1b[Ax')
        assert keys.read_keys(0.0) == ['up', 'x']
        keys.close()
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_a_pipe_is_not_a_terminal():
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(NotATerminal, match='stdin is not a terminal'):
            TerminalKeys(read_end)
    finally:
        os.close(read_end)
        os.close(write_end)
