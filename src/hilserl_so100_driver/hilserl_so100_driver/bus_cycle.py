"""
The reads of one control tick: positions with retries, then the status block; no ROS.

Both update the servos' :class:`~.driver_config.ServoHealth` in place; the
decisions taken on them (fault policy, goals) are in :mod:`.driver_core`.
"""

from . import sts3215
from .servo_setup import ADDR

#: Present_Load (2), Present_Voltage, Present_Temperature, Async_Write_Flag, Status.
STATUS_BLOCK = (ADDR['Present_Load'], 6)
_POSITION = sts3215.register('Present_Position')
_LOAD = sts3215.register('Present_Load')


def read_positions(bus, health, positions_raw, retries: int, deadline: float, clock) -> bool:
    """
    Read every servo's Present_Position into ``positions_raw`` and ``health``.

    One sync read, then single reads of the servos that did not answer while
    ``clock()`` is before ``deadline``.  A servo still missing keeps its last
    value and counts a failure.  Return whether every servo answered.
    """
    ids = [h.id for h in health]
    # Failing servos last: the SDK's sync read stops at the first missing reply, and
    # the servos listed after it are then unread rather than failed.
    order = sorted(ids, key=lambda i: health[ids.index(i)].consecutive_failures)
    got = bus.sync_read(ADDR['Present_Position'], 2, order)
    missing = [i for i in order if i not in got]
    for k, servo_id in enumerate(missing):
        servo = health[ids.index(servo_id)]
        attempts = 0
        while servo_id not in got and attempts < max(retries, k > 0):
            # The first missing servo is the one that did not answer: retry it only
            # within the tick budget; read each later (unread) one at least once.
            if (k == 0 or attempts > 0) and clock() >= deadline:
                break
            attempts += 1
            servo.retries += 1
            data = bus.read(servo_id, ADDR['Present_Position'], 2)
            if data is not None:
                got[servo_id] = data
    for index, servo in enumerate(health):
        data = got.get(servo.id)
        if data is None:
            servo.failed_reads += 1
            servo.consecutive_failures += 1
            continue
        servo.consecutive_failures = 0
        servo.position_raw = _POSITION.decode(data)
        positions_raw[index] = servo.position_raw
    return all(h.consecutive_failures == 0 for h in health)


def read_status(bus, health) -> None:
    """Read load, voltage, temperature and Status of the servos that answered last."""
    ids = [h.id for h in health if h.consecutive_failures == 0]
    if not ids:
        return
    got = bus.sync_read(*STATUS_BLOCK, ids)
    for servo in health:
        data = got.get(servo.id)
        if data is None:
            if servo.id in ids:
                servo.failed_reads += 1
            continue
        servo.load = _LOAD.decode(data[0:2])
        servo.voltage = data[2] / 10.0
        servo.temperature = data[3]
        servo.error_bits = data[5]
