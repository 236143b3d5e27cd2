"""
Register reads and writes that must succeed, for setting servos up; no ROS.

The driver's start-up and the calibration tool (``so100_calibrate``) share
them.  Each call is tried ``CONFIGURE_ATTEMPTS`` times, since one reply can
be lost on a busy bus; when it still fails, the :class:`BusError` names the
servo and the register.  ``bus`` is an :class:`~.sdk_bus.SdkBus` or alike.

EEPROM registers (Homing_Offset, the position limits, gains) are written
between Lock=0 and Lock=1: with Lock=1 the STS3215 applies an EEPROM write
but does not save it, and the value is gone after the next power cycle.
"""

from . import sts3215
from .sdk_bus import BusError

ADDR = {name: sts3215.register(name).address for name in (
    'Homing_Offset', 'Min_Position_Limit', 'Max_Position_Limit', 'P_Coefficient',
    'Torque_Enable', 'Acceleration', 'Goal_Position', 'Lock', 'Present_Position',
    'Present_Load', 'Status')}
#: Tries of each start-up read or write (they need a reply) before the start fails.
CONFIGURE_ATTEMPTS = 3


def read_register(bus, servo_id: int, name: str) -> int | None:
    """Return a register's value (signed where it is), or None when the servo is silent."""
    reg = sts3215.register(name)
    for _ in range(CONFIGURE_ATTEMPTS):
        data = bus.read(servo_id, reg.address, reg.size)
        if data is not None:
            return reg.decode(data)
    return None


def read_checked(bus, servo_id: int, name: str) -> int:
    """Return a register's value; BusError naming the servo when it does not answer."""
    value = read_register(bus, servo_id, name)
    if value is None:
        raise BusError(f'servo {servo_id} does not answer (reading {name})')
    return value


def write_checked(bus, servo_id: int, name: str, value: int) -> None:
    """Write a register and require the servo's acknowledgement (BusError otherwise)."""
    reg = sts3215.register(name)
    data = reg.encode(value)
    if not any(bus.write(servo_id, reg.address, data) for _ in range(CONFIGURE_ATTEMPTS)):
        raise BusError(f'servo {servo_id} did not acknowledge {name}={value}')


def missing_servos(bus, ids) -> list:
    """Return the ids (in order) of the servos that do not answer a position read."""
    return [i for i in ids if read_register(bus, i, 'Present_Position') is None]


def require_servos(bus, ids) -> None:
    """Raise BusError naming every servo that does not answer."""
    missing = missing_servos(bus, ids)
    if missing:
        raise BusError(f'servo(s) {missing} do not answer')


def read_present_positions(bus, ids) -> list:
    """Return Present_Position of every servo, read one by one with retries."""
    return [read_checked(bus, i, 'Present_Position') for i in ids]


def set_torque(bus, ids, on: bool, checked: bool = False) -> None:
    """Switch torque of ``ids``: one unacknowledged packet, or one checked write each."""
    if checked:
        for servo_id in ids:
            write_checked(bus, servo_id, 'Torque_Enable', int(on))
    else:
        bus.sync_write(ADDR['Torque_Enable'], 1, {i: bytes((int(on),)) for i in ids})


def write_eeprom(bus, values) -> list:
    """
    Save EEPROM values that differ from what the servos hold.

    ``values``: ``(servo_id, register name, value)`` triples.  The servos
    concerned are unlocked, written and locked again; torque must be off.
    Return the sorted ids of the servos written (empty when nothing differed).
    """
    pending = [(servo_id, name, value) for servo_id, name, value in values
               if read_register(bus, servo_id, name) != value]
    unlock = sorted({servo_id for servo_id, _, _ in pending})
    for servo_id in unlock:
        write_checked(bus, servo_id, 'Lock', 0)
    for servo_id, name, value in pending:
        write_checked(bus, servo_id, name, value)
    for servo_id in unlock:
        write_checked(bus, servo_id, 'Lock', 1)
    return unlock
