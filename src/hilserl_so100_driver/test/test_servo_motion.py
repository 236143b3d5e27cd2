"""The shaft motion of one time step, against closed-form kinematics."""

import math

import pytest

from hilserl_so100_driver.servo_motion import position_step, velocity_step


def test_position_without_ramp_moves_at_full_speed_and_stops_on_target():
    assert position_step(100.0, 1000.0, 0.0, 3000.0, 0.0, 0.1) == (400.0, 3000.0)
    assert position_step(100.0, 0.0, 0.0, 3000.0, 0.0, 0.1) == (0.0, 0.0)
    assert position_step(100.0, 1000.0, 0.0, 0.0, 0.0, 0.1) == (100.0, 0.0)


def test_position_ramp_follows_a_trapezoid():
    # 2000 steps at 1000 step/s^2 up to 1000 step/s: 1 s up (500), 1 s cruise, 1 s down.
    present, velocity = position_step(0.0, 2000.0, 0.0, 1000.0, 1000.0, 1.0)
    assert present == pytest.approx(500.0, abs=2.0)
    assert velocity == pytest.approx(1000.0, abs=2.0)
    present, velocity = position_step(present, 2000.0, velocity, 1000.0, 1000.0, 1.0)
    assert present == pytest.approx(1500.0, abs=3.0)
    present, velocity = position_step(present, 2000.0, velocity, 1000.0, 1000.0, 1.2)
    assert (present, velocity) == (2000.0, 0.0)


def test_velocity_ramp_then_cruise():
    assert velocity_step(0.0, 500.0, 0.0, 0.5) == (500.0, 250.0)
    end, distance = velocity_step(0.0, 1000.0, 4000.0, 0.1)   # still ramping
    assert end == pytest.approx(400.0) and distance == pytest.approx(20.0)
    end, distance = velocity_step(0.0, -1000.0, 4000.0, 0.5)   # 0.25 s ramp, 0.25 s cruise
    assert end == -1000.0
    assert distance == pytest.approx(-125.0 - 250.0)
    assert math.isclose(velocity_step(300.0, 300.0, 4000.0, 1.0)[1], 300.0)
