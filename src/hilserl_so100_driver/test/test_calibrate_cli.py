"""
so100_calibrate end to end: the program on the emulator's pty, its stdin driven from here.

The emulated servos are turned through the emulator's API meanwhile, as a
person turns a torque-off arm by hand.
"""

import os
import subprocess
import sys
import threading
import time

import pytest

from hilserl_so100_driver.bus_emulator import BusEmulator
from hilserl_so100_driver.calibration import load_calibration
from hilserl_so100_driver.guided_calibration import middle_offsets, RangeRecorder

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper']
IDS = [1, 2, 3, 4, 5, 6]
OLD_OFFSETS = [0, 300, 0, 0, 0, 0]  # servo 2 was calibrated before
# The middle pose as the servos read it before calibrating (old offsets).
MIDDLE = [1900, 2300, 2100, 2048, 1000, 2600]
# Encoder - 2048 at the middle pose.
NEW_OFFSETS = [-148, 552, 52, 0, -1048, 552]
# Ranges the "hand" sweeps, in the calibrated frame (the middle pose reads 2048).
RANGES = [(1100, 3000), (900, 3100), (1000, 3050), (1200, 2900), (500, 3500), (2000, 3400)]

pytest.importorskip('scservo_sdk')


class Program:
    """so100_calibrate as a child process with piped stdin and collected stdout."""

    def __init__(self, *args):
        env = dict(os.environ)
        env['PYTHONPATH'] = PACKAGE_DIR + os.pathsep + env.get('PYTHONPATH', '')
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'hilserl_so100_driver.calibrate_cli', *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip('\n'))

    def wait_for(self, predicate, what, timeout=10.0, start=0):
        """Wait until ``predicate(line)`` holds for a line from index ``start``; return index."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index in range(start, len(self.lines)):
                if predicate(self.lines[index]):
                    return index
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f'{what} not printed within {timeout} s; output:\n'
                             + '\n'.join(self.lines) + '\nstderr:\n' + self._stderr())

    def _stderr(self):
        if self.process.poll() is None:
            return '(running)'
        return self.process.stderr.read()

    def enter(self):
        self.process.stdin.write('\n')
        self.process.stdin.flush()

    def finish(self, timeout=15.0):
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5.0)
        return code, '\n'.join(self.lines), self.process.stderr.read()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def table_shows(name, low=None, high=None):
    def check(line):
        words = line.split()
        return (len(words) == 5 and words[0] == name
                and (low is None or words[2] == str(low))
                and (high is None or words[4] == str(high)))
    return check


@pytest.fixture
def emulator(tmp_path):
    with BusEmulator(IDS, positions=2048, link=str(tmp_path / 'ttyArm')) as bus:
        yield bus


def old_frame(index, calibrated):
    """Present_Position before calibrating of a reading ``calibrated`` after it."""
    return (calibrated + NEW_OFFSETS[index] - OLD_OFFSETS[index]) % 4096


def sweep(bus, program, index, start):
    """Turn joint ``index`` to both ends of its range and back, each seen in the table."""
    low, high = RANGES[index]
    name = JOINTS[index]
    bus.move_by_hand(IDS[index], old_frame(index, low))
    start = program.wait_for(table_shows(name, low=low), f'{name} min {low}', start=start)
    bus.move_by_hand(IDS[index], old_frame(index, high))
    start = program.wait_for(table_shows(name, low, high), f'{name} range {low}-{high}',
                             start=start)
    bus.move_by_hand(IDS[index], old_frame(index, 2048))
    return start


def test_guided_calibration_writes_json_and_servo_registers(emulator, tmp_path):
    emulator.configure(2, 'Homing_Offset', OLD_OFFSETS[1])
    for servo_id in IDS:
        emulator.configure(servo_id, 'Min_Position_Limit', 10)
    output = tmp_path / 'arm.json'
    lerobot = tmp_path / 'lerobot.json'
    program = Program('--port', emulator.port, '--output', str(output),
                      '--lerobot-json', str(lerobot))
    try:
        program.wait_for(lambda line: line.startswith('Step 1'), 'the first prompt')
        for servo_id, position in zip(IDS, MIDDLE):
            emulator.move_by_hand(servo_id, position)
        program.enter()
        seen = program.wait_for(lambda line: line.startswith('Step 2'), 'the second prompt')
        for index in range(3):
            seen = sweep(emulator, program, index, seen)
        program.enter()  # too early: wrist_flex and the gripper have not moved
        seen = program.wait_for(lambda line: 'not moved yet: wrist_flex, gripper' in line,
                                'the unmoved joints', start=seen)
        for index in range(3, 6):
            seen = sweep(emulator, program, index, seen)
        program.enter()
        code, out, err = program.finish()
    finally:
        program.kill()
    assert code == 0, out + err
    assert 'Traceback' not in err

    calibration = load_calibration(str(output))
    assert calibration.names == JOINTS and calibration.ids == IDS
    for index, joint in enumerate(calibration.joints):
        expected = (0, 4095) if joint.name == 'wrist_roll' else RANGES[index]
        assert (joint.homing_offset, joint.range_min, joint.range_max) == (
            NEW_OFFSETS[index], *expected), joint
        assert joint.drive_mode == 0 and joint.gripper == (joint.name == 'gripper')
    assert load_calibration(str(lerobot)) == calibration

    for index, joint in enumerate(calibration.joints):
        servo_id = IDS[index]
        values = {name: emulator.servo_value(servo_id, name) for name in (
            'Homing_Offset', 'Min_Position_Limit', 'Max_Position_Limit', 'Lock',
            'Torque_Enable', 'Present_Position')}
        assert values == {'Homing_Offset': joint.homing_offset,
                          'Min_Position_Limit': joint.range_min,
                          'Max_Position_Limit': joint.range_max,
                          'Lock': 1, 'Torque_Enable': 0,
                          'Present_Position': 2048}, joint.name  # the middle pose
        with emulator.lock:  # saved to flash: written between Lock=0 and Lock=1
            servo = emulator.servo(servo_id)
            assert servo.saved('Homing_Offset') == joint.homing_offset
            assert servo.saved('Max_Position_Limit') == joint.range_max


def test_a_silent_servo_is_named_and_nothing_is_written(emulator, tmp_path):
    emulator.vanish(4)
    output = tmp_path / 'arm.json'
    program = Program('--port', emulator.port, '--output', str(output))
    try:
        code, out, err = program.finish()
    finally:
        program.kill()
    assert code == 1
    assert err.strip() == 'so100_calibrate: servo(s) [4] do not answer'
    assert not output.exists()
    assert emulator.servo_value(1, 'Homing_Offset') == 0


def test_missing_port_and_help(tmp_path):
    program = Program('--port', str(tmp_path / 'nothing'), '--output', str(tmp_path / 'a.json'))
    code, _, err = program.finish()
    assert code == 1
    assert err.count('\n') == 1 and 'does not exist' in err and 'Traceback' not in err
    program = Program('--help')
    code, out, _ = program.finish()
    assert code == 0
    for option in ('--port', '--output', '--lerobot-json', '--ids', '--joints', '--full-turn'):
        assert option in out


def test_middle_offsets_and_recorder_frame():
    # Present 100 under offset -100 is encoder 0: -2048 does not fit, -2047 is the nearest.
    assert middle_offsets([2048, 1000, 100, 4000], [0, 200, -100, 0]) == [0, -848, -2047, 1952]
    recorder = RangeRecorder(['a', 'wrist_roll'], [1, 2], [0, 0], [1000, 0])
    recorder.update({1: 3048, 2: 10})
    recorder.update({1: 3148})
    assert (recorder.low, recorder.high, recorder.last) == ([2048, 10], [2148, 10], [2148, 10])
    assert recorder.unmoved(min_range=100) == []
    assert recorder.unmoved(min_range=101) == ['a']
    joints = recorder.calibration().joints
    assert [(j.homing_offset, j.range_min, j.range_max) for j in joints] == [
        (1000, 2048, 2148), (0, 0, 4095)]
