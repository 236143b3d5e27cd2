"""
Emulated STS3215 servos sharing one bus, with fault injection; no pty, no thread.

``ServoBus.handle(packet, now, client_baud)`` is what the servos on a real
bus do with one request: it returns the status packets they send back, each
with the time it is due.  :class:`~.bus_emulator.BusEmulator` serves it on a
pseudo-terminal; tests may also call it directly.

Bus behaviour:

* One status packet per PING, READ, WRITE, REG_WRITE, ACTION and RESET sent
  to one servo (WRITE and friends only while Response_Status_Level is 1).
* Broadcast (0xFE) WRITE, REG_WRITE, ACTION, RESET and SYNC_WRITE: no reply.
  A broadcast PING is answered by every servo in ID order: Feetech servos do
  this and LeRobot's broadcast_ping relies on it (the SDK's own ping refuses
  the broadcast ID, so the SDK never sees it).
* SYNC_READ: each listed servo that is present replies, in list order.
* A servo only hears the bus at its Baud_Rate: ``client_baud`` (None: do not
  check) is compared with it.
* Requests with a bad checksum, unknown instructions and malformed parameters
  are dropped silently (the host sees a time-out).  UNCERTAIN: the STS error
  byte has no bit for these, so silence is the likely firmware behaviour.

Faults, per servo (``set_fault``, ``vanish``...): no reply (with a
probability), late reply (ms), corrupted checksum (with a probability),
vanished (hears and answers nothing, optionally on a schedule), overheating
(temperature above the limit, the OVERHEAT bit in every status packet,
torque released by the servo's protection).

Servos can also be handled from outside: ``move_by_hand`` turns a shaft (a
torque-off arm moved by a person; a servo holding torque drives back to its
goal), ``set_external_load``, ``set_voltage``, ``power_cycle``.
"""

import collections
from dataclasses import dataclass, field, replace
import logging
import random
import threading
import time

from . import protocol, sts3215
from .protocol import BROADCAST_ID, Instruction
from .servo_model import LOCK_POLICIES, ServoModel

logger = logging.getLogger(__name__)


@dataclass
class FaultConfig:
    """Faults of one servo."""

    #: Probability (0-1) that a reply is swallowed; the servo still executes.
    no_reply: float = 0.0
    #: Extra time before each reply, ms.
    delay_ms: float = 0.0
    #: Probability (0-1) that a reply carries a wrong checksum.
    corrupt: float = 0.0
    #: Temperature forced above Max_Temperature_Limit.
    overheat: bool = False
    #: Gone from the bus: hears nothing, answers nothing.
    vanished: bool = False
    #: Scheduled absences, (start, end) in seconds since the emulator started;
    #: end None means for good.
    vanish_windows: list = field(default_factory=list)

    def gone(self, since_start: float) -> bool:
        """Whether the servo is off the bus at ``since_start`` seconds."""
        if self.vanished:
            return True
        return any(start <= since_start and (end is None or since_start < end)
                   for start, end in self.vanish_windows)


class _Slot:
    """One servo on the bus with its faults."""

    def __init__(self, servo: ServoModel):
        self.servo = servo
        self.first_id = servo.id
        self.fault = FaultConfig()


def _probability(value) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'probability {value} is not within 0-1')
    return value


class ServoBus:
    """Servos on one bus; see the module docstring."""

    def __init__(self, ids=range(1, 7), *, model: str = 'sts3215', positions=None,
                 lock_policy: str = 'volatile', voltage: float | None = None,
                 ambient_c: float = 25.0, seed: int | None = 0):
        """
        Create powered-up servos.

        ``positions``: one encoder reading for all, a sequence in ``ids``
        order, or a dict by id (default 2048, mid-range).  ``seed``: of the
        fault dice.
        """
        ids = [int(i) for i in ids]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError('ids must be distinct and not empty')
        if any(not 0 <= i <= protocol.MAX_SERVO_ID for i in ids):
            raise ValueError(f'servo ids must be 0-{protocol.MAX_SERVO_ID}')
        if model not in sts3215.MODELS:
            raise ValueError(f'unknown model {model!r}; known: {sorted(sts3215.MODELS)}')
        if lock_policy not in LOCK_POLICIES:
            raise ValueError(f'lock_policy must be one of {LOCK_POLICIES}')
        start = _positions_by_id(ids, positions)
        now = time.monotonic()
        self.model = model
        self._slots = [_Slot(ServoModel(i, spec=sts3215.MODELS[model], position=start[i],
                                        now=now, voltage=voltage, ambient_c=ambient_c,
                                        lock_policy=lock_policy))
                       for i in ids]
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._t0 = now
        self._replies = []  # of the request being handled
        self.stats = collections.Counter()

    def restart_clock(self, now: float) -> None:
        """Count scheduled vanishing (``schedule_vanish``) from ``now``."""
        self._t0 = now

    # --- servos ---------------------------------------------------------------------------

    @property
    def ids(self) -> list[int]:
        """Return the current IDs of the servos, in bus order."""
        with self._lock:
            return [slot.servo.id for slot in self._slots]

    def servo(self, servo_id: int) -> ServoModel:
        """
        Return the ServoModel with this current ID, else with this ID at creation.

        Hold ``emulator.lock`` while using it on a running emulator, and call
        ``advance(time.monotonic())`` first for up-to-date feedback, or use
        ``servo_value``.
        """
        return self._slot(servo_id).servo

    @property
    def lock(self) -> threading.RLock:
        """Return the lock the serving thread holds while it touches the servos."""
        return self._lock

    def servo_value(self, servo_id: int, name: str) -> int:
        """Return a register value of a servo as it is now."""
        with self._lock:
            servo = self.servo(servo_id)
            servo.advance(time.monotonic())
            return servo.get(name)

    def configure(self, servo_id: int, name: str, value: int) -> None:
        """Set a register as the factory would (no lock rules, saved)."""
        with self._lock:
            servo = self.servo(servo_id)
            servo.advance(time.monotonic())
            servo.configure(name, value)

    def move_by_hand(self, servo_id: int, position: float) -> None:
        """Turn a servo's shaft from outside so it reads ``position`` (a leader arm)."""
        with self._lock:
            servo = self.servo(servo_id)
            servo.advance(time.monotonic())
            servo.set_present_position(position)

    def set_external_load(self, servo_id: int, load: float) -> None:
        """Apply an outside load, 0.1 % of stall torque, signed."""
        with self._lock:
            servo = self.servo(servo_id)
            servo.advance(time.monotonic())
            servo.external_load = float(load)

    def set_voltage(self, servo_id: int | None, volts: float) -> None:
        """Set the supply voltage of one servo (or all with None)."""
        with self._lock:
            for slot in self._targets(servo_id):
                slot.servo.advance(time.monotonic())
                slot.servo.voltage = float(volts)

    def power_cycle(self, servo_id: int | None = None) -> None:
        """Switch one servo (or all) off and on: unsaved EEPROM writes are lost."""
        with self._lock:
            for slot in self._targets(servo_id):
                slot.servo.power_cycle(time.monotonic())
                self._apply_overheat(slot)

    # --- faults ---------------------------------------------------------------------------

    def faults(self, servo_id: int) -> FaultConfig:
        """Return a copy of a servo's faults."""
        with self._lock:
            fault = self._slot(servo_id).fault
            return replace(fault, vanish_windows=list(fault.vanish_windows))

    def set_fault(self, servo_id: int, *, no_reply=None, delay_ms=None, corrupt=None,
                  overheat=None) -> None:
        """
        Change a servo's faults; arguments left None stay as they are.

        ``no_reply`` and ``corrupt`` take True/False or a probability.
        """
        with self._lock:
            slot = self._slot(servo_id)
            if no_reply is not None:
                slot.fault.no_reply = _probability(no_reply)
            if delay_ms is not None:
                if delay_ms < 0:
                    raise ValueError('delay_ms must be >= 0')
                slot.fault.delay_ms = float(delay_ms)
            if corrupt is not None:
                slot.fault.corrupt = _probability(corrupt)
            if overheat is not None:
                slot.servo.advance(time.monotonic())
                slot.fault.overheat = bool(overheat)
                self._apply_overheat(slot)

    def vanish(self, servo_id: int) -> None:
        """Take a servo off the bus (unplugged cable, no power)."""
        with self._lock:
            self._slot(servo_id).fault.vanished = True

    def reappear(self, servo_id: int, *, power_cycled: bool = False) -> None:
        """Put a vanished servo back; ``power_cycled`` if it lost power meanwhile."""
        with self._lock:
            slot = self._slot(servo_id)
            slot.fault.vanished = False
            slot.fault.vanish_windows.clear()
            if power_cycled:
                slot.servo.power_cycle(time.monotonic())
                self._apply_overheat(slot)

    def schedule_vanish(self, servo_id: int, after_s: float, duration_s: float | None = None):
        """Make a servo vanish ``after_s`` seconds after start, for ``duration_s`` (or good)."""
        with self._lock:
            end = None if duration_s is None else after_s + duration_s
            self._slot(servo_id).fault.vanish_windows.append((float(after_s), end))

    def clear_faults(self, servo_id: int | None = None) -> None:
        """Remove every fault of one servo (or all)."""
        with self._lock:
            for slot in self._targets(servo_id):
                slot.fault = FaultConfig()
                self._apply_overheat(slot)

    # --- internals ------------------------------------------------------------------------

    def _slot(self, servo_id: int) -> _Slot:
        for slot in self._slots:
            if slot.servo.id == servo_id:
                return slot
        for slot in self._slots:
            if slot.first_id == servo_id:
                return slot
        raise KeyError(f'no servo with id {servo_id}')

    def _targets(self, servo_id):
        return list(self._slots) if servo_id is None else [self._slot(servo_id)]

    def _apply_overheat(self, slot: _Slot) -> None:
        servo = slot.servo
        if slot.fault.overheat:
            servo.forced_temperature = float(servo.get('Max_Temperature_Limit') + 10)
        else:
            servo.forced_temperature = None
        servo.advance(time.monotonic())
        servo.refresh()

    # --- requests ---------------------------------------------------------------------------

    def _present(self, now: float, baud: int | None) -> list:
        """Servos on the bus and listening at the client's bit rate."""
        since = now - self._t0
        return [slot for slot in self._slots
                if not slot.fault.gone(since)
                and (baud is None or slot.servo.baud_rate == baud)]

    def handle(self, packet: protocol.Packet, now: float, client_baud: int | None = None):
        """Execute one request at ``now``; return the replies as ``[(due, bytes)]``."""
        with self._lock:
            self._replies = []
            self._handle(packet, now, self._present(now, client_baud))
            return self._replies

    def _handle(self, packet: protocol.Packet, now: float, present: list) -> None:
        self.stats['requests'] += 1
        for slot in self._slots:
            slot.servo.advance(now)
        inst = packet.instruction
        broadcast = packet.id == BROADCAST_ID
        if broadcast:
            targets = sorted(present, key=lambda s: s.servo.id)
        else:
            targets = [slot for slot in present if slot.servo.id == packet.id]
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug('request id=%d inst=%#04x params=%s', packet.id, inst,
                         packet.params.hex())
        try:
            if inst == Instruction.PING:
                for slot in targets:
                    self._reply(slot, b'', now)
            elif inst == Instruction.READ:
                address, length = protocol.parse_read(packet.params)
                if not broadcast:
                    for slot in targets:
                        self._reply(slot, slot.servo.read(address, length), now)
            elif inst in (Instruction.WRITE, Instruction.REG_WRITE):
                address, data = protocol.parse_write(packet.params)
                for slot in targets:
                    if inst == Instruction.WRITE:
                        slot.servo.write(address, data)
                    else:
                        slot.servo.reg_write(address, data)
                    # The reply to a write of the ID comes from the old ID: LeRobot's
                    # setup_motor writes the ID and requires that reply (the SDK drops
                    # a reply from another ID).
                    self._ack(slot, broadcast, now, packet.id)
            elif inst == Instruction.ACTION:
                for slot in targets:
                    slot.servo.action()
                    self._ack(slot, broadcast, now)
            elif inst == Instruction.RESET:
                for slot in targets:
                    self._ack(slot, broadcast, now)
                    slot.servo.factory_reset()
                    self._apply_overheat(slot)
            elif inst == Instruction.SYNC_READ:
                address, length, ids = protocol.parse_sync_read(packet.params)
                by_id = {slot.servo.id: slot for slot in present}
                for servo_id in ids:
                    slot = by_id.get(servo_id)
                    if slot is not None:
                        self._reply(slot, slot.servo.read(address, length), now)
            elif inst == Instruction.SYNC_WRITE:
                address, _, groups = protocol.parse_sync_write(packet.params)
                by_id = {slot.servo.id: slot for slot in present}
                for servo_id, data in groups:
                    if servo_id in by_id:
                        by_id[servo_id].servo.write(address, data)
            else:
                self.stats['unknown_instructions'] += 1
        except protocol.ProtocolError as exc:
            self.stats['malformed_requests'] += 1
            logger.debug('malformed request: %s', exc)

    def _ack(self, slot: _Slot, broadcast: bool, now: float, reply_id: int | None = None):
        if not broadcast and slot.servo.get('Response_Status_Level'):
            self._reply(slot, b'', now, reply_id)

    def _reply(self, slot: _Slot, params: bytes, now: float, reply_id: int | None = None):
        fault = slot.fault
        if fault.no_reply and self._rng.random() < fault.no_reply:
            self.stats['replies_dropped'] += 1
            return
        corrupt = bool(fault.corrupt) and self._rng.random() < fault.corrupt
        if corrupt:
            self.stats['replies_corrupted'] += 1
        data = protocol.status_packet(slot.servo.id if reply_id is None else reply_id,
                                      slot.servo.status, params,
                                      corrupt_checksum=corrupt)
        self._replies.append((now + fault.delay_ms / 1000.0, data))
        self.stats['replies'] += 1


def _positions_by_id(ids, positions) -> dict:
    if positions is None:
        return {i: 2048 for i in ids}
    if isinstance(positions, dict):
        return {i: positions.get(i, 2048) for i in ids}
    if isinstance(positions, (int, float)):
        return {i: positions for i in ids}
    positions = list(positions)
    if len(positions) == 1:
        positions = positions * len(ids)
    if len(positions) != len(ids):
        raise ValueError(f'{len(positions)} positions for {len(ids)} servos')
    return dict(zip(ids, positions))
