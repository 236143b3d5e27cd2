"""
The driver core's lifecycle steps over the emulator: configure, activate, deactivate, cleanup.

What the servos hold (torque, goal, EEPROM) is read from the emulator; the order of
the writes from a bus that records them.
"""

import logging
import time

import pytest

from hilserl_so100_driver.driver_config import DriverConfig
from hilserl_so100_driver.driver_core import DriverCore
from test_driver_core import calibration, IDS, RecordingBus

pytest.importorskip('scservo_sdk')
# No test here is about reply timing: the SDK waits 100 ms, not 34, for the emulator's thread
# (CI once lost configure() and activate() to a starved thread with the SDK's window).
pytestmark = pytest.mark.usefixtures('patient_replies')

TORQUE, GOAL = 40, 42   # Torque_Enable and Goal_Position addresses


class SequenceBus(RecordingBus):
    """The SDK bus, remembering single writes and sync writes in one sequence."""

    def sync_write(self, address, length, data_by_id):
        self.writes.append((None, address, {i: bytes(d) for i, d in data_by_id.items()}))
        return super().sync_write(address, length, data_by_id)


@pytest.fixture
def core(bus):
    """Return a function making a core on the emulator's port; all shut down at the end."""
    cores = []

    def make(**config):
        messages = []
        made = DriverCore(SequenceBus(bus.port), calibration(),
                          DriverConfig(control_rate_hz=50.0, **config),
                          log=lambda level, text: messages.append((level, text)))
        made.goal_log = []
        made.messages = messages
        cores.append(made)
        return made
    yield make
    for each in cores:
        each.shutdown()


def torques(bus):
    return [bus.servo_value(i, 'Torque_Enable') for i in IDS]


def holding_present(bus):
    """Return whether every servo's goal is its present position (within a tick)."""
    return all(abs(bus.servo_value(i, 'Goal_Position') - bus.servo_value(i, 'Present_Position'))
               <= 1 for i in IDS)


def test_configure_sets_the_servos_up_with_torque_off_and_moves_nothing(bus, core):
    for servo_id in IDS:
        bus.configure(servo_id, 'Torque_Enable', 1)   # left on by an earlier program
    driver = core()
    assert driver.configure(), driver.last_error
    assert driver.connected and not driver.active and driver.bus.is_open
    assert torques(bus) == [0] * 6
    assert bus.servo_value(2, 'Homing_Offset') == -200   # the calibration, saved
    assert bus.servo_value(1, 'Min_Position_Limit') == 1000
    assert driver.goal_log == [] and driver.positions() is not None
    # Commands are not taken before activation, and nothing else moves either.
    driver.set_command([0.3, 0, 0, 0, 0, 0.5])
    driver.tick()
    assert driver.goal_log == [] and torques(bus) == [0] * 6
    driver.start_homing()
    assert driver.homing_result == (False, 'the driver is not active')


def test_activate_holds_where_the_arm_is_then_switches_torque_on(bus, core):
    driver = core()
    assert driver.configure(), driver.last_error
    bus.move_by_hand(1, 2048 + 300)   # torque off: the arm can be moved before activation
    assert driver.activate() and driver.active, driver.last_error
    assert torques(bus) == [1] * 6
    assert holding_present(bus)
    # The goal (the present position) went out before torque came on.
    goals = [n for n, (i, address, _) in enumerate(driver.bus.writes) if address == GOAL]
    torque_on = [n for n, (i, address, data) in enumerate(driver.bus.writes)
                 if address == TORQUE and data == b'\x01']
    assert goals and torque_on and max(goals) < min(torque_on)
    target = [0.2, 0, 0, 0, 0, 0.5]
    for _ in range(40):
        driver.set_command(target)
        driver.tick()
        time.sleep(0.02)
    assert driver.positions()[0] == pytest.approx(0.2, abs=0.02)


@pytest.mark.parametrize('on_fault, torque', [('hold', 1), ('torque_off', 0)])
def test_deactivate_holds_then_leaves_torque_as_on_fault_says(bus, core, on_fault, torque):
    driver = core(on_fault=on_fault, max_joint_step=0.01)
    assert driver.configure() and driver.activate(), driver.last_error
    for _ in range(5):   # a slow move under way: the goal is ahead of the arm
        driver.set_command([1.0, 0, 0, 0, 0, 0.5])
        driver.tick()
    driver.bus.writes.clear()
    driver.deactivate()
    assert not driver.active and driver.connected
    assert torques(bus) == [torque] * 6
    held = driver.goal_log[-1]
    assert held == driver.positions_raw   # the goal is where the arm was
    # (a sync write has no reply: give the emulator's thread a moment to apply it)
    deadline = time.monotonic() + 2.0
    while [bus.servo_value(i, 'Goal_Position') for i in IDS] != held:
        assert time.monotonic() < deadline, 'the held goal did not reach the servos'
        time.sleep(0.01)
    order = [(address, data) for _, address, data in driver.bus.writes]
    assert order[0][0] == GOAL
    if on_fault == 'torque_off':
        assert all(address == TORQUE for address, _ in order[1:]) and len(order) > 1
    else:
        assert len(order) == 1
    assert any('deactivated: holding the present position' in text
               for _, text in driver.messages)
    # Inactive: commands and homing are refused, ticks write no goal.
    writes = len(driver.goal_log)
    driver.set_command([0.5, 0, 0, 0, 0, 0.5])
    driver.tick()
    driver.start_homing()
    assert len(driver.goal_log) == writes and driver.homing_result[0] is False
    # Activated again: from the present position (the arm has settled), torque on.
    time.sleep(0.3)
    assert driver.activate(), driver.last_error
    assert torques(bus) == [1] * 6 and holding_present(bus)


def test_cleanup_closes_the_port_and_a_new_configure_opens_it(bus, core):
    driver = core(on_fault='torque_off')
    assert driver.configure() and driver.activate(), driver.last_error
    driver.deactivate()
    driver.cleanup()
    assert not driver.connected and not driver.bus.is_open
    assert torques(bus) == [0] * 6   # as deactivation left them
    assert driver.configure() and driver.bus.is_open and torques(bus) == [0] * 6


def test_a_configure_that_fails_says_why_and_leaves_the_port_closed(bus, core):
    driver = core()
    bus.vanish(3)
    assert not driver.configure()
    assert '3' in driver.last_error and 'answer' in driver.last_error
    assert not driver.connected and not driver.bus.is_open
    # No 'retrying' message: nothing retries a lifecycle step by itself.
    assert not [text for level, text in driver.messages if level == logging.ERROR]
    bus.reappear(3)
    assert driver.configure() and driver.connected
