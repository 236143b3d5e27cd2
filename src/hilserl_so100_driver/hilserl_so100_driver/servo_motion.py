"""
How an emulated servo's output shaft moves in one time step: plain functions, no registers.

Positions are encoder steps, speeds step/s, accelerations step/s^2, time in seconds.
:class:`hilserl_so100_driver.servo_model.ServoModel` reads the goal, speed and
acceleration registers and calls these with them:

* Position mode: toward the target at most ``vmax``; with ``accel`` > 0 on a
  trapezoidal ramp (speed up, cruise, brake so as to stop on the target).  The dead
  zones are not modelled: the shaft stops exactly on the target.
* Velocity and PWM modes: toward a wanted speed, ramped at ``accel`` when it is > 0.
"""

import math


def position_step(present: float, target: float, velocity: float, vmax: float,
                  accel: float, dt: float) -> tuple[float, float]:
    """Return (position, velocity) after ``dt`` moving toward ``target``."""
    if vmax <= 0.0:
        return present, 0.0
    if not accel:
        error = target - present
        step = vmax * dt
        if abs(error) <= step:
            return target, 0.0
        return present + math.copysign(step, error), math.copysign(vmax, error)
    # Trapezoidal ramp, integrated in small steps (stops early once settled).
    h = max(0.001, dt / 2000.0)
    remaining = dt
    while remaining > 0.0:
        step = min(h, remaining)
        remaining -= step
        error = target - present
        if error == 0.0 and velocity == 0.0:
            break
        wanted = math.copysign(min(vmax, math.sqrt(2.0 * accel * abs(error))), error)
        change = max(-accel * step, min(accel * step, wanted - velocity))
        velocity += change
        moved = velocity * step
        if (error > 0.0 and moved >= error) or (error < 0.0 and moved <= error) or error == 0.0:
            present, velocity = target, 0.0
        else:
            present += moved
    return present, velocity


def velocity_step(start: float, wanted: float, accel: float,
                  dt: float) -> tuple[float, float]:
    """Return (velocity at the end, distance turned) after ``dt`` heading for ``wanted``."""
    if not accel:
        return wanted, wanted * dt
    t_ramp = abs(wanted - start) / accel
    if t_ramp >= dt:  # still ramping at the end of the step
        end = start + math.copysign(accel * dt, wanted - start)
        return end, (start + end) / 2.0 * dt
    # ramp, then cruise
    return wanted, (start + wanted) / 2.0 * t_ramp + wanted * (dt - t_ramp)
