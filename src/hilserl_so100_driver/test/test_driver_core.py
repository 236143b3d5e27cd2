"""
The driver core over the emulator through the real Feetech SDK, in-process.

Every test checks that no goal written differs from the previous one by more
than the per-tick limit.
"""

import logging
import math
import time

import pytest

from hilserl_so100_driver.bus_emulator import BusEmulator
from hilserl_so100_driver.calibration import (ArmCalibration, JointCalibration,
                                              load_calibration, save_calibration,
                                              TICKS_PER_RAD)
from hilserl_so100_driver.driver_config import DriverConfig, ERROR, OK, WARN
from hilserl_so100_driver.driver_core import DriverCore
from hilserl_so100_driver.sdk_bus import BusError, SdkBus

pytest.importorskip('scservo_sdk')
# The SDK waits 100 ms for a reply here (conftest.patient_replies): a servo that answers
# must not count as failing because a loaded CI machine left the emulator's thread
# unscheduled for the SDK's own 34 ms. The one test about that window asks for it.
pytestmark = pytest.mark.usefixtures('patient_replies')

IDS = (1, 2, 3, 4, 5, 6)
PERIOD = 0.02
STEP = 0.05  # rad per tick


def calibration():
    return ArmCalibration([
        JointCalibration('shoulder_pan', 1, 0, 100, 1000, 3096),
        JointCalibration('shoulder_lift', 2, 1, -200, 1000, 3096),
        JointCalibration('elbow_flex', 3, 0, 0, 1048, 3048),
        JointCalibration('wrist_flex', 4, 0, 0, 1048, 3048),
        JointCalibration('wrist_roll', 5, 0, 0, 0, 4095),
        JointCalibration('gripper', 6, 0, 0, 2000, 3000, gripper=True),
    ])


class RecordingBus(SdkBus):
    """The SDK bus, remembering every single-servo write in order."""

    def __init__(self, port):
        super().__init__(port)
        self.writes = []

    def write(self, servo_id, address, data):
        self.writes.append((servo_id, address, bytes(data)))
        return super().write(servo_id, address, data)


class Loop:
    """
    A core on a bus, ticked every PERIOD, with its goals and log kept.

    With ``tick_clock`` the core's clock advances exactly PERIOD a tick, whatever the wall
    clock does, so command timeouts counted in ticks hold on a loaded machine (the servos
    still move in real time); without it, the core reads the wall clock (a tick's bus
    time budget, reply time-outs).
    """

    def __init__(self, port, tick_clock=False, **config):
        self.messages = []
        self.bus = RecordingBus(port)
        self.now = 0.0
        settings = dict(control_rate_hz=1 / PERIOD, max_joint_step=STEP, home_speed=2.0)
        settings.update(config)
        self.core = DriverCore(self.bus, calibration(), DriverConfig(**settings),
                               clock=(lambda: self.now) if tick_clock else time.monotonic,
                               log=lambda level, text: self.messages.append((level, text)))
        self.core.goal_log = []

    def run(self, ticks=1, until=None, timeout=5.0):
        deadline = time.monotonic() + timeout
        for _ in range(ticks if until is None else 1_000_000):
            start = time.monotonic()
            self.core.tick()
            self.now += PERIOD
            if until is not None and until():
                return
            if time.monotonic() > deadline:
                raise AssertionError('condition not reached')
            time.sleep(max(0.0, PERIOD - (time.monotonic() - start)))

    def start(self):
        self.run(until=lambda: self.core.connected)

    def levels(self):
        return [h.level for h in self.core.health]

    def assert_step_limited(self):
        limit = STEP * TICKS_PER_RAD + 1  # +1: goals are rounded to whole ticks
        log = self.core.goal_log
        for before, after in zip(log, log[1:]):
            assert max(abs(a - b) for a, b in zip(before, after)) <= limit, (before, after)


@pytest.fixture
def loop(bus):
    loops = []

    def make(tick_clock=False, **config):
        loops.append(Loop(bus.port, tick_clock, **config))
        return loops[-1]
    yield make
    for each in loops:
        each.core.shutdown()


def test_positions_and_commands_round_trip_in_radians(bus, loop):
    arm = loop()
    arm.start()
    assert arm.core.connected and arm.levels() == [OK] * 6
    # Homing offsets written to the servos: present = encoder (2048) - offset.
    expected = [-100 / TICKS_PER_RAD, -200 / TICKS_PER_RAD, 0.0, 0.0, 0.5 / TICKS_PER_RAD,
                0.048]
    assert arm.core.positions() == pytest.approx(expected, abs=1e-9)
    target = [0.4, -0.3, 0.5, -0.2, 1.0, 0.8]
    arm.core.set_command(target)

    ticks = calibration().to_raws(target)

    def there():
        arm.core.set_command(target)  # a live command stream
        return all(abs(p - t) <= 1 for p, t in zip(arm.core.positions_raw, ticks))
    arm.run(until=there)
    assert arm.core.positions() == pytest.approx(target, abs=0.002)
    for servo_id, raw in zip(IDS, ticks):
        assert abs(bus.servo_value(servo_id, 'Present_Position') - raw) <= 1
    # shoulder_lift is reversed: a negative angle is a higher tick count.
    assert bus.servo_value(2, 'Present_Position') > 2048
    arm.assert_step_limited()


def test_commands_are_clamped_and_held_when_they_stop(loop):
    arm = loop(tick_clock=True, command_timeout_s=0.2)   # 10 ticks
    arm.start()
    arm.core.set_command([5.0, 0, 0, 0, 0, 0])
    arm.run(8)
    moving = arm.core.goal[0]
    arm.run(int(0.3 / PERIOD))  # the command goes stale: the goal stops where it was
    held = arm.core.goal[0]
    assert held > moving
    arm.run(5)
    assert arm.core.goal[0] == held and held < 3096

    def at_maximum():
        arm.core.set_command([5.0, 0, 0, 0, 0, 0])
        return arm.core.goal[0] == 3096  # the calibrated maximum
    arm.run(until=at_maximum)
    with pytest.raises(ValueError, match='needs 6 finite values'):
        arm.core.set_command([0.0] * 5)
    with pytest.raises(ValueError):
        arm.core.set_command([math.nan] * 6)
    arm.assert_step_limited()


def test_torque_and_eeprom_lock_sequence(bus, loop):
    arm = loop(acceleration=100, p_coefficient=20)
    arm.start()
    for servo_id in IDS:
        assert bus.servo_value(servo_id, 'Torque_Enable') == 1
        assert bus.servo_value(servo_id, 'Lock') == 1
        assert bus.servo_value(servo_id, 'Acceleration') == 100
        assert bus.servo_value(servo_id, 'P_Coefficient') == 20
    assert bus.servo_value(1, 'Min_Position_Limit') == 1000
    assert bus.servo_value(2, 'Homing_Offset') == -200  # sign-magnitude, bit 11
    # Per servo: torque off, unlock, EEPROM writes, lock, ..., torque on last.
    names = {40: 'torque', 55: 'lock', 41: 'accel', 21: 'p', 31: 'offset', 9: 'min',
             11: 'max'}
    for joint in calibration().joints:
        servo_id = joint.id
        # Only values that differ from the factory ones are written.
        expected = {'p'} | {name for name, value, factory in (
            ('offset', joint.homing_offset, 0), ('min', joint.range_min, 0),
            ('max', joint.range_max, 4095)) if value != factory}
        seq = [(names[a], d[0] if len(d) == 1 else None) for i, a, d in arm.bus.writes
               if i == servo_id]
        assert seq[0] == ('torque', 0) and seq[-1] == ('torque', 1)
        unlock, lock = seq.index(('lock', 0)), seq.index(('lock', 1))
        assert {n for n, _ in seq[unlock + 1:lock]} == expected
        assert 0 < unlock < lock < seq.index(('accel', 100))
    # Written with the lock open, so saved: a power cycle keeps them.
    bus.power_cycle(2)
    assert bus.servo_value(2, 'Homing_Offset') == -200
    # A second start finds them in place and leaves the EEPROM (and its lock) alone.
    bus.power_cycle()
    again = loop(acceleration=100, p_coefficient=20)
    again.start()
    assert not [w for w in again.bus.writes if w[1] == 55]


@pytest.mark.parametrize('on_shutdown, torque', [('hold', 1), ('torque_off', 0)])
def test_state_on_shutdown(bus, loop, on_shutdown, torque):
    arm = loop(on_shutdown=on_shutdown)
    arm.start()
    arm.run(3)
    arm.core.shutdown()
    assert not arm.bus.is_open
    assert all(bus.servo_value(i, 'Torque_Enable') == torque for i in IDS)


def test_reset_to_home_interpolates_within_the_step_limit(bus, loop):
    home = [0.0, 0.0, 0.0, 0.0, 0.0, 0.5]
    arm = loop(home_positions=home, home_speed=1.0)
    arm.start()
    away = [0.6, -0.3, 0.0, 0.2, 0.1, 0.9]
    away_raw = [int(round(r)) for r in calibration().to_raws(away)]

    def away_reached():
        arm.core.set_command(away)
        return arm.core.goal_log[-1] == away_raw
    arm.run(until=away_reached)
    arm.core.goal_log.clear()
    arm.core.start_homing()
    assert arm.core.homing and arm.core.homing_result is None
    arm.run(until=lambda: arm.core.homing_result is not None)
    assert arm.core.homing_result == (True, 'home reached')
    assert arm.core.positions() == pytest.approx(home, abs=0.05)
    arm.assert_step_limited()
    # Joint-space linear: at 1 rad/s the 0.6 rad joint paces the move and the others
    # keep their share of the way (checked halfway, before anything arrives).
    log = arm.core.goal_log
    start, end, middle = log[0], log[-1], log[len(log) // 2]
    progress = [(m - s) / (e - s) for s, e, m in zip(start, end, middle) if abs(e - s) > 50]
    assert max(progress) - min(progress) < 0.1
    assert 0.6 / STEP <= len(log) < 0.6 / PERIOD * 2.0  # the step limit allows no fewer


def test_fault_no_reply_hold_then_recover(bus, loop):
    arm = loop(max_failed_ticks=4, on_fault='hold')
    arm.start()
    arm.core.set_command([0.3, 0, 0, 0, 0, 0.5])
    bus.set_fault(3, no_reply=True)
    arm.run()
    assert arm.levels() == [OK, OK, WARN, OK, OK, OK]  # others still read
    assert arm.core.health[2].retries == 0  # a time-out uses the whole tick budget
    arm.run(3)
    assert arm.levels()[2] == ERROR and arm.core.fault and '[3]' in arm.core.fault
    writes = len(arm.core.goal_log)
    arm.core.set_command([0.3, 0, 0, 0, 0, 0.5])
    arm.run(4)
    assert len(arm.core.goal_log) == writes  # hold: no new goals
    assert bus.servo_value(1, 'Torque_Enable') == 1
    assert arm.core.start_homing() is None and not arm.core.homing_result[0]
    assert any(level == logging.ERROR and 'holding the last goal' in text
               for level, text in arm.messages)
    bus.clear_faults(3)
    arm.run(4)
    assert arm.core.fault is None and arm.levels() == [OK] * 6
    arm.core.set_command([0.3, 0, 0, 0, 0, 0.5])
    arm.run(3)
    assert len(arm.core.goal_log) > writes  # commanding again, from the last goal
    arm.assert_step_limited()


def test_fault_torque_off_latches_until_reset(bus, loop):
    arm = loop(max_failed_ticks=3, on_fault='torque_off')
    arm.start()
    bus.vanish(5)
    arm.run(3)
    assert arm.core.fault and not arm.core.torque_on
    bus.reappear(5)
    assert all(bus.servo_value(i, 'Torque_Enable') == 0 for i in IDS if i != 5)
    arm.run(5)
    assert arm.core.fault is not None  # latched: torque stays off
    arm.run(until=lambda: arm.core.failed_ticks == 0)  # (a bus still failing refuses)
    arm.core.start_homing()
    arm.run(until=lambda: arm.core.homing_result is not None)
    assert arm.core.homing_result[0] and arm.core.fault is None, arm.core.homing_result
    assert all(bus.servo_value(i, 'Torque_Enable') == 1 for i in IDS)
    arm.assert_step_limited()


def test_fault_corrupt_replies_are_retried(bus, loop):
    arm = loop(max_failed_ticks=5, retries=3)
    arm.start()
    bus.set_fault(4, corrupt=0.5)
    arm.core.set_command([0.2, 0, 0, 0, 0, 0.5])
    arm.run(30)
    assert arm.core.health[3].retries > 5
    assert arm.core.fault is None
    assert arm.core.positions()[0] == pytest.approx(0.2, abs=0.01)
    arm.assert_step_limited()


def test_fault_late_replies_never_mix_up_servos(bus, loop, sdk_timing):
    arm = loop(max_failed_ticks=100)
    arm.start()
    bus.set_fault(2, delay_ms=60)  # beyond the SDK's time-out: replies arrive late
    for _ in range(10):
        arm.run()
        positions = arm.core.positions()
        assert positions[0] == pytest.approx(-100 / TICKS_PER_RAD)
        assert positions[2:5] == pytest.approx([0.0, 0.0, 0.5 / TICKS_PER_RAD])
    assert arm.levels()[1] == WARN and arm.core.health[1].failed_reads >= 10
    bus.set_fault(2, delay_ms=0)
    time.sleep(0.1)
    arm.run(2)
    assert arm.levels() == [OK] * 6


def test_fault_overheat_is_an_error_from_the_status_bits(bus, loop):
    arm = loop(status_every=2)
    arm.start()
    arm.run(2)
    assert arm.core.health[5].temperature == 25 and arm.core.health[5].voltage == 7.4
    bus.set_fault(6, overheat=True)
    arm.run(2)
    assert arm.levels()[5] == ERROR and 'overheat' in arm.core.health[5].summary()
    assert arm.levels()[:5] == [OK] * 5


def test_unplugged_adapter_reconnects_without_traceback(tmp_path, loop):
    link = str(tmp_path / 'ttySO100')
    bus = BusEmulator(IDS, link=link).start()
    try:
        arm = Loop(link, reconnect_period_s=0.2)
        arm.run(3)
        bus.stop()  # unplugged
        arm.run()
        assert not arm.core.connected and arm.levels() == [ERROR] * 6
        assert 'port lost' in arm.core.last_error
        opens = []
        original = arm.bus.open

        def counting_open():
            opens.append(time.monotonic())
            original()
        arm.bus.open = counting_open
        arm.run(int(0.7 / PERIOD))
        assert 2 <= len(opens) <= 5  # every reconnect_period_s, not every tick
        with pytest.raises(BusError, match='cannot open'):
            arm.bus.open()
        errors = [text for level, text in arm.messages if level == logging.ERROR]
        assert len(errors) == 1 and 'retrying every 0.2 s' in errors[0]
        bus.start()  # plugged in again behind the same link
        arm.run(until=lambda: arm.core.connected, timeout=3.0)
        assert arm.levels() == [OK] * 6
        arm.core.set_command([0.1, 0, 0, 0, 0, 0.5])
        arm.run(until=lambda: abs(arm.core.positions()[0] - 0.1) < 0.01)
        arm.assert_step_limited()
        arm.core.shutdown()
    finally:
        bus.stop()


def test_calibration_file_drives_the_core(tmp_path, bus, loop):
    path = str(tmp_path / 'cal.json')
    save_calibration(calibration(), path)
    core = DriverCore(SdkBus(bus.port), load_calibration(path), DriverConfig())
    try:
        core.tick()
        assert core.positions()[0] == pytest.approx(-100 / TICKS_PER_RAD)
    finally:
        core.shutdown()


def test_passive_leader_reads_with_torque_off(bus, loop):
    arm = loop(passive=True)
    arm.start()
    arm.run(2)
    assert arm.core.connected and arm.levels() == [OK] * 6
    bus.move_by_hand(1, 2048 + 512)  # Present_Position; the range middle is 2048
    arm.run(2)
    assert arm.core.positions()[0] == pytest.approx(512 / TICKS_PER_RAD)
    assert all(bus.servo_value(i, 'Torque_Enable') == 0 for i in IDS)
    assert arm.core.goal_log == []
    with pytest.raises(ValueError, match='passive'):
        arm.core.set_command([0.0] * 6)
    arm.core.start_homing()
    assert arm.core.homing_result[0] is False
