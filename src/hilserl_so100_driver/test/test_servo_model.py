"""One servo with explicit time: motion, limits, homing offset, EEPROM lock, heat, status."""

import pytest

from hilserl_so100_driver.servo_model import ServoModel
from hilserl_so100_driver.sts3215 import ErrorBit, register


def enabled(position=2048, **kwargs):
    servo = ServoModel(1, position=position, now=0.0, **kwargs)
    servo.set('Torque_Enable', 1)
    return servo


def test_power_up_state():
    servo = ServoModel(3, position=1000, now=0.0)
    assert servo.id == 3
    assert servo.get('Model_Number') == 777
    assert servo.get('Present_Position') == 1000
    assert servo.get('Goal_Position') == 1000
    assert servo.get('Lock') == 1
    assert servo.get('Torque_Enable') == 0
    assert servo.get('Torque_Limit') == servo.get('Max_Torque_Limit') == 1000
    assert servo.get('Present_Voltage') == 74
    assert servo.get('Present_Temperature') == 25
    assert servo.status == 0
    assert servo.read(3, 2) == bytes((0x09, 0x03))


def test_moves_at_bounded_default_speed():
    servo = enabled()
    servo.set('Goal_Position', 3000)
    servo.advance(0.1)
    assert servo.get('Present_Position') == 2048 + round(0.1 * servo.spec.max_speed)
    assert servo.get('Present_Speed') == round(servo.spec.max_speed)
    assert servo.get('Moving') == 1
    servo.advance(1.0)
    assert servo.get('Present_Position') == 3000
    assert servo.get('Present_Speed') == 0
    assert servo.get('Moving') == 0


def test_goal_speed_limits_and_sign():
    servo = enabled()
    servo.set('Goal_Speed', 500)
    servo.set('Goal_Position', 1000)
    servo.advance(0.5)
    assert servo.get('Present_Position') == 2048 - 250
    assert servo.get('Present_Speed') == -500
    assert servo.read(58, 2) == (500 | 0x8000).to_bytes(2, 'little')
    assert servo.get('Present_Load') < 0


def test_no_motion_with_torque_off():
    servo = ServoModel(1, position=2048, now=0.0)
    servo.set('Goal_Position', 3000)
    servo.advance(1.0)
    assert servo.get('Present_Position') == 2048
    servo.set('Torque_Enable', 1)
    servo.advance(2.0)
    assert servo.get('Present_Position') == 3000


def test_acceleration_ramp():
    servo = enabled()
    servo.set('Acceleration', 10)  # 1000 step/s^2
    servo.set('Goal_Position', 4000)
    servo.advance(0.2)
    assert servo.get('Present_Speed') == pytest.approx(200, abs=2)
    assert servo.get('Present_Position') == pytest.approx(2048 + 20, abs=2)
    servo.advance(10.0)
    assert servo.get('Present_Position') == 4000
    assert servo.get('Present_Speed') == 0


def test_limits_clamp_the_goal():
    servo = enabled()
    servo.set('Lock', 0)
    servo.set('Max_Position_Limit', 2500)
    servo.set('Min_Position_Limit', 1500)
    servo.set('Goal_Position', 4000)
    servo.advance(2.0)
    assert servo.get('Present_Position') == 2500
    assert servo.get('Goal_Position') == 4000  # the register keeps what was written
    servo.set('Goal_Position', 10)
    servo.advance(4.0)
    assert servo.get('Present_Position') == 1500


def test_homing_offset_shifts_present_position():
    servo = ServoModel(1, position=2048, now=0.0)
    servo.set('Homing_Offset', -100)
    assert servo.read(31, 2) == bytes((100, 0x08))  # sign in bit 11
    assert servo.get('Present_Position') == 2148
    servo.set('Homing_Offset', 300)
    assert servo.get('Present_Position') == 1748
    servo.set('Homing_Offset', 2047)
    assert servo.get('Present_Position') == (2048 - 2047) % 4096


def test_torque_enable_128_recentres():
    servo = ServoModel(1, position=1000, now=0.0)
    servo.set('Torque_Enable', 128)
    assert servo.get('Present_Position') == 2048
    assert servo.get('Homing_Offset') == 1000 - 2048
    assert servo.get('Torque_Enable') == 0


def test_eeprom_lock_volatile_policy():
    servo = ServoModel(1, now=0.0)
    servo.set('Min_Position_Limit', 100)  # locked: takes effect, not saved
    assert servo.get('Min_Position_Limit') == 100
    assert servo.saved('Min_Position_Limit') == 0
    servo.power_cycle()
    assert servo.get('Min_Position_Limit') == 0
    servo.set('Lock', 0)
    servo.set('Min_Position_Limit', 100)
    servo.power_cycle()
    assert servo.get('Min_Position_Limit') == 100
    assert servo.get('Lock') == 1  # locked again after power-up


def test_eeprom_lock_refuse_policy():
    servo = ServoModel(1, now=0.0, lock_policy='refuse')
    servo.set('Min_Position_Limit', 100)
    assert servo.get('Min_Position_Limit') == 0
    servo.set('Lock', 0)
    servo.set('Min_Position_Limit', 100)
    assert servo.get('Min_Position_Limit') == 100


def test_read_only_and_gaps_ignore_writes():
    servo = ServoModel(1, now=0.0)
    servo.write(3, b'\x00\x00')
    servo.write(56, b'\x00\x00')
    servo.write(50, b'\x01')
    assert servo.get('Model_Number') == 777
    assert servo.get('Present_Position') == 2048
    assert servo.read(50, 1) == b'\x00'
    assert servo.read(250, 10) == bytes(10)


def test_multi_register_write():
    servo = ServoModel(1, now=0.0)
    # Acceleration, Goal_Position, Goal_Time, Goal_Speed in one write from 41.
    servo.write(41, bytes((5,)) + register('Goal_Position').encode(3000) + b'\x00\x00'
                + register('Goal_Speed').encode(700))
    assert servo.get('Acceleration') == 5
    assert servo.get('Goal_Position') == 3000
    assert servo.get('Goal_Speed') == 700


def test_reg_write_waits_for_action():
    servo = ServoModel(1, now=0.0)
    servo.reg_write(42, register('Goal_Position').encode(1234))
    assert servo.get('Goal_Position') == 2048
    assert servo.get('Async_Write_Flag') == 1
    servo.action()
    assert servo.get('Goal_Position') == 1234
    assert servo.get('Async_Write_Flag') == 0


def test_overheat_sets_status_and_releases_torque():
    servo = enabled()
    servo.forced_temperature = 80.0
    servo.advance(0.01)
    assert servo.get('Present_Temperature') == 80
    assert servo.status & ErrorBit.OVERHEAT
    assert servo.get('Torque_Enable') == 0  # Unloading_Condition has the temperature bit
    servo.forced_temperature = None
    servo.advance(0.02)
    assert servo.status == 0


def test_temperature_rises_under_load():
    servo = enabled()
    servo.external_load = 900
    servo.advance(0.001)
    assert servo.get('Present_Load') == 900
    assert servo.get('Present_Current') > 300
    servo.advance(600.0)
    assert servo.get('Present_Temperature') > 60
    assert servo.status & ErrorBit.OVERHEAT


def test_voltage_out_of_range():
    servo = ServoModel(1, now=0.0, voltage=12.0)
    assert servo.status & ErrorBit.VOLTAGE
    assert servo.get('Present_Voltage') == 120


def test_velocity_mode_wraps():
    servo = enabled(position=4000)
    servo.set('Lock', 0)
    servo.set('Operating_Mode', 1)
    servo.set('Goal_Speed', 1000)
    servo.advance(0.2)
    assert servo.get('Present_Position') == (4000 + 200) % 4096


def test_factory_reset_keeps_id():
    servo = ServoModel(4, now=0.0)
    servo.set('Lock', 0)
    servo.set('Max_Position_Limit', 3000)
    servo.factory_reset()
    assert servo.get('Max_Position_Limit') == 4095
    assert servo.id == 4


def test_set_present_position_by_hand():
    servo = ServoModel(1, now=0.0)
    servo.set_present_position(3210)
    assert servo.get('Present_Position') == 3210
