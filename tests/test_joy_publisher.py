"""
joy_publisher over a FIFO standing in for /dev/input/js0.

The test writes ``struct js_event`` records into the FIFO as the kernel would
(the initial state first, flagged JS_EVENT_INIT) and checks the Joy messages.
"""

import errno
import os
import time

from sensor_msgs.msg import Joy

from hilserl.human.teleop.js_event import JS_EVENT_AXIS, JS_EVENT_BUTTON, JsEvent
from hilserl.launching.graph import NodeSpec
from hilserl_testing.processes import wait_for_output


def open_writer(path, timeout=20.0):
    """Open the FIFO for writing once the node has opened it for reading."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno not in (errno.ENXIO, errno.ENOENT) or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def initial_state(axes=8, buttons=11):
    records = [JsEvent(0, 0, JS_EVENT_BUTTON, n, True) for n in range(buttons)]
    records += [JsEvent(0, 0, JS_EVENT_AXIS, n, True) for n in range(axes)]
    return b''.join(record.pack() for record in records)


def test_missing_device_is_retried_then_events_become_joy_messages(processes, probe, tmp_path):
    device = str(tmp_path / 'js0')
    node = processes.start_node(NodeSpec('joy_publisher', 'joy_publisher', parameters={
        'device': device, 'retry_interval_s': 0.2, 'autorepeat_rate': 20.0}))
    joy = probe.subscribe(Joy, '/joy', 10)
    wait_for_output(node, f'cannot open joystick {device}: No such file or directory; '
                    'retrying every 0.2 s', 20)
    os.mkfifo(device)
    writer = open_writer(device)
    try:
        os.write(writer, initial_state())
        first = joy.wait_for(lambda m: len(m.axes) == 8 and len(m.buttons) == 11,
                             what='the initial state')
        assert list(first.axes) == [0.0] * 8 and first.header.frame_id == 'joy'
        # Left stick fully up (the kernel reports -32767), button 3 pressed; one record
        # is split across two writes.
        records = (JsEvent(10, -32767, JS_EVENT_AXIS, 1, False).pack()
                   + JsEvent(11, 1, JS_EVENT_BUTTON, 3, False).pack())
        os.write(writer, records[:11])
        os.write(writer, records[11:])
        moved = joy.wait_for(lambda m: len(m.buttons) == 11 and m.buttons[3] == 1,
                             what='button 3 pressed')
        assert moved.axes[1] == 1.0
        count = len(joy.messages)
        joy.wait_for_messages(count + 3)  # nothing changes: autorepeat keeps publishing
        assert all(m.buttons[3] == 1 and m.axes[1] == 1.0 for m in joy.messages[count:])
    finally:
        os.close(writer)
    assert 'Traceback' not in node.output()


def test_bad_parameters_are_a_clear_startup_error(processes):
    node = processes.start_node(NodeSpec('joy_publisher', 'joy_publisher',
                                         parameters={'deadzone': 1.5}))
    assert node.wait(timeout=30) == 78
    assert 'deadzone must be in [0, 1)' in node.output() and 'Traceback' not in node.output()
