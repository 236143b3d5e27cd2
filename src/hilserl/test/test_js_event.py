"""Linux joystick API records to Joy contents, as the joy node scales them."""

import pytest

from hilserl.human.teleop.js_event import (JoyState, JS_EVENT_AXIS, JS_EVENT_BUTTON, JsEvent,
                                           JsEventReader, scale_axis)


def test_records_decode_with_the_init_flag_split_off():
    data = (JsEvent(1000, 1, JS_EVENT_BUTTON, 3, True).pack()
            + JsEvent(1010, -32767, JS_EVENT_AXIS, 1, False).pack())
    assert len(data) == 16
    assert JsEventReader().feed(data) == [JsEvent(1000, 1, JS_EVENT_BUTTON, 3, True),
                                          JsEvent(1010, -32767, JS_EVENT_AXIS, 1, False)]


def test_a_record_split_across_reads_is_kept_until_complete():
    reader = JsEventReader()
    record = JsEvent(5, 1, JS_EVENT_BUTTON, 0, False).pack()
    assert reader.feed(record[:3]) == []
    assert reader.feed(record[3:]) == [JsEvent(5, 1, JS_EVENT_BUTTON, 0, False)]


def test_axes_are_flipped_and_scaled_to_unit_range_like_the_joy_node():
    assert scale_axis(-32767, 0.0) == 1.0  # stick up reads negative: published +1
    assert scale_axis(32767, 0.0) == -1.0
    assert scale_axis(-32768, 0.0) == 1.0
    assert scale_axis(0, 0.0) == 0.0


def test_deadzone_is_smooth():
    assert scale_axis(1000, 0.05) == 0.0
    assert scale_axis(-32767, 0.05) == 1.0
    assert scale_axis(-(1638 + 15565), 0.05) == pytest.approx(0.5, abs=1e-3)


def test_state_grows_with_event_numbers_and_reports_changes():
    state = JoyState(deadzone=0.0)
    assert state.apply(JsEvent(0, 1, JS_EVENT_BUTTON, 2, True))
    assert state.buttons == [0, 0, 1]
    assert not state.apply(JsEvent(1, 1, JS_EVENT_BUTTON, 2, False))
    assert state.apply(JsEvent(2, 32767, JS_EVENT_AXIS, 1, False))
    assert state.axes == [0.0, -1.0]
    assert not state.apply(JsEvent(3, 0, 0x04, 0, False))  # unknown type ignored


def test_clear_releases_everything():
    state = JoyState(deadzone=0.0, axes=2, buttons=2)
    state.apply(JsEvent(0, 1, JS_EVENT_BUTTON, 1, False))
    state.apply(JsEvent(0, 999, JS_EVENT_AXIS, 0, False))
    state.clear()
    assert state.axes == [0.0, 0.0] and state.buttons == [0, 0]
