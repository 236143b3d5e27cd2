"""
A chain of emulated STS3215 servos behind a pseudo-terminal.

``BusEmulator`` opens a pty and answers on it like a USB serial adapter with
servos on its bus: the unmodified Feetech SDK (``scservo_sdk``, or anything
else that speaks the protocol through pyserial) opens the pty's path and
talks to it as to ``/dev/ttyUSB0``.  The pty has no bit rate of its own:
replies are written as soon as they are computed (plus any injected delay),
well within the SDK's time-outs.

Run it as a program (``servo_bus_emulator --help``) or in-process::

    with BusEmulator(ids=range(1, 7)) as bus:      # serves on a thread
        port = scservo_sdk.PortHandler(bus.port)
        ...
        bus.set_fault(3, delay_ms=50)              # fault injection
        bus.servo_value(3, 'Present_Position')     # look inside

Bus behaviour:

* One status packet per PING, READ, WRITE, REG_WRITE, ACTION and RESET sent
  to one servo (WRITE and friends only while Response_Status_Level is 1).
* Broadcast (0xFE) WRITE, REG_WRITE, ACTION, RESET and SYNC_WRITE: no reply.
  A broadcast PING is answered by every servo in ID order: Feetech servos do
  this and LeRobot's broadcast_ping relies on it (the SDK's own ping refuses
  the broadcast ID, so the SDK never sees it).
* SYNC_READ: each listed servo that is present replies, in list order.
* A servo only hears the bus at its Baud_Rate: the emulator compares it with
  the speed the client set on the pty (unless ``check_baud=False``).
* Requests with a bad checksum, unknown instructions and malformed parameters
  are dropped silently (the host sees a time-out).  UNCERTAIN: the STS error
  byte has no bit for these, so silence is the likely firmware behaviour.
* Closing the emulator closes the pty master: the client's reads and writes
  fail with EIO, as with an unplugged USB adapter (pyserial raises
  ``SerialException``; the SDK does not catch it).

Faults, per servo (``set_fault``, ``vanish``... or the command line):
no reply (with a probability), late reply (ms), corrupted checksum (with a
probability), vanished (hears and answers nothing, optionally on a schedule),
overheating (temperature above the limit, the OVERHEAT bit in every status
packet, torque released by the servo's protection).
"""

import argparse
import collections
from dataclasses import dataclass, field, replace
import errno
import logging
import os
import random
import select
import signal
import sys
import termios
import threading
import time
import tty

from . import protocol, sts3215
from .protocol import BROADCAST_ID, Instruction
from .servo_model import LOCK_POLICIES, ServoModel

logger = logging.getLogger(__name__)

#: Termios speed constant to bits per second, for the baud-rate check.
_SPEEDS = {getattr(termios, f'B{rate}'): rate
           for rate in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000,
                        921600, 1000000, 1152000, 1500000, 2000000)
           if hasattr(termios, f'B{rate}')}
#: Output kept for a client that does not read, before it is dropped.
_MAX_BACKLOG = 1 << 20
#: GIL switch interval while an emulator serves on a thread (see BusEmulator.start).
THREAD_SWITCH_INTERVAL = 0.0005


class _SwitchInterval:
    """Process-wide GIL switch interval lowered while any threaded emulator runs."""

    _lock = threading.Lock()
    _users = 0
    _saved = None

    @classmethod
    def acquire(cls, interval: float) -> None:
        with cls._lock:
            if cls._users == 0:
                cls._saved = sys.getswitchinterval()
            cls._users += 1
            sys.setswitchinterval(min(interval, sys.getswitchinterval()))

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._saved is not None:
                sys.setswitchinterval(cls._saved)
                cls._saved = None


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


class _Reply:
    __slots__ = ('due', 'data')

    def __init__(self, due: float, data: bytes):
        self.due = due
        self.data = data


def _probability(value) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'probability {value} is not within 0-1')
    return value


class BusEmulator:
    """Servos on a pseudo-terminal; see the module docstring."""

    def __init__(self, ids=range(1, 7), *, model: str = 'sts3215', positions=None,
                 link: str | None = None, lock_policy: str = 'volatile',
                 check_baud: bool = True, voltage: float | None = None,
                 ambient_c: float = 25.0, seed: int | None = 0,
                 switch_interval: float | None = THREAD_SWITCH_INTERVAL):
        """
        Create the servos; the pty opens with ``open()`` or ``start()``.

        ``positions``: one encoder reading for all, a sequence in ``ids``
        order, or a dict by id (default 2048, mid-range).  ``link``: a path
        to keep a symlink to the pty at (replaced if it is a symlink already).
        ``switch_interval``: see ``start()``; None leaves the interpreter's.
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
        self.link = link
        self.check_baud = check_baud
        self.switch_interval = switch_interval
        self._switch_held = False
        self._slots = [_Slot(ServoModel(i, spec=sts3215.MODELS[model], position=start[i],
                                        now=now, voltage=voltage, ambient_c=ambient_c,
                                        lock_policy=lock_policy))
                       for i in ids]
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._parser = protocol.PacketParser()
        self._queue = collections.deque()
        self._backlog = bytearray()
        self._master = self._slave = None
        self._wake_r = self._wake_w = None
        self._port = None
        self._thread = None
        self._stopping = False
        self._t0 = now
        self.stats = collections.Counter()

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> str | None:
        """Return the path clients open: the symlink if one was asked for, else the pty."""
        return self.link if (self.link and self._port) else self._port

    @property
    def pty_path(self) -> str | None:
        """Return the pty's own device path (/dev/pts/N) while open."""
        return self._port

    @property
    def is_open(self) -> bool:
        """Whether the pty is open (the adapter is plugged in)."""
        return self._master is not None

    @property
    def running(self) -> bool:
        """Whether a background thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def open(self) -> str:
        """Open the pty (and the link); return the path clients should open."""
        if self._master is not None:
            return self.port
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation before a client configures it
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._port = os.ttyname(slave)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._stopping = False
        self._parser.reset()
        self._queue.clear()
        self._backlog.clear()
        self._t0 = time.monotonic()
        if self.link:
            _make_link(self.link, self._port)
        logger.info('servo bus on %s', self.port)
        return self.port

    def start(self) -> 'BusEmulator':
        """
        Open if needed and serve on a daemon thread.

        The SDK waits for replies by polling the port in a busy loop that holds
        the GIL between polls, and the serving thread needs the GIL several
        times per request; with the default 5 ms switch interval a loaded
        machine can push a reply past the SDK's ~34 ms time-out.  While any
        emulator thread runs, the process's switch interval is lowered to
        ``switch_interval`` (0.5 ms) and restored after the last one stops.
        """
        if self.running:
            return self
        self.open()
        if self.switch_interval and not self._switch_held:
            _SwitchInterval.acquire(self.switch_interval)
            self._switch_held = True
        self._thread = threading.Thread(target=self._serve, name='servo-bus-emulator',
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Open if needed and serve in this thread until ``stop()`` (or a signal handler)."""
        self.open()
        self._serve()

    def request_stop(self) -> None:
        """Ask the serving loop to end; safe from a signal handler."""
        self._stopping = True
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b'x')
            except OSError:
                pass

    def stop(self) -> None:
        """Stop serving and close the pty: the client sees the adapter unplugged."""
        self.request_stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self._thread = None
        if self._switch_held:
            _SwitchInterval.release()
            self._switch_held = False
        self.close()

    def close(self) -> None:
        """Close the pty master and the link (an unplugged adapter)."""
        if self._thread is not None and self._thread.is_alive():
            self.stop()
            return
        for name in ('_master', '_slave', '_wake_r', '_wake_w'):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)
        if self.link and self._port:
            _remove_link(self.link, self._port)
        self._port = None

    def __enter__(self) -> 'BusEmulator':
        """Start serving on a thread."""
        return self.start()

    def __exit__(self, *exc) -> None:
        """Stop and close."""
        self.stop()

    def __del__(self):
        """Release the file descriptors of an emulator that was never closed."""
        try:
            if self._thread is None:
                self.close()
        except Exception:  # interpreter shutdown
            pass

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

    # --- serving --------------------------------------------------------------------------

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

    def _serve(self) -> None:
        master, wake = self._master, self._wake_r
        if master is None:
            raise RuntimeError('open() the emulator first')
        try:
            while not self._stopping:
                timeout = self._next_timeout()
                wlist = [master] if self._backlog else []
                try:
                    readable, writable, _ = select.select([master, wake], wlist, [], timeout)
                except (OSError, ValueError):  # closed under us
                    break
                if wake in readable:
                    try:
                        os.read(wake, 4096)
                    except OSError:
                        pass
                if self._stopping:
                    break
                now = time.monotonic()
                if master in readable:
                    if not self._receive(master, now):
                        time.sleep(0.005)  # no client: nothing to do but wait
                if self._parser.pending:
                    with self._lock:
                        for packet in self._parser.expire(now):
                            self._handle(packet, now)
                self._send(master, time.monotonic())
        except Exception:  # keep the thread's death visible
            logger.exception('servo bus emulator failed')
            raise

    def _next_timeout(self) -> float | None:
        deadlines = []
        if self._queue and not self._backlog:
            deadlines.append(self._queue[0].due)
        stale = self._parser.deadline()
        if stale is not None:
            deadlines.append(stale)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _receive(self, master: int, now: float) -> bool:
        try:
            data = os.read(master, 65536)
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno == errno.EIO:  # every slave fd closed (cannot happen: we hold one)
                return False
            raise
        if not data:
            return False
        self.stats['bytes_in'] += len(data)
        with self._lock:
            for packet in self._parser.feed(data, now):
                self._handle(packet, now)
        return True

    def _send(self, master: int, now: float) -> None:
        while self._queue and self._queue[0].due <= now:
            self._backlog += self._queue.popleft().data
        if not self._backlog:
            return
        try:
            written = os.write(master, self._backlog)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            logger.warning('pty write failed: %s', exc)
            written = len(self._backlog)
        self.stats['bytes_out'] += written
        del self._backlog[:written]
        if len(self._backlog) > _MAX_BACKLOG:  # nobody is reading: drop, as a full adapter
            self.stats['bytes_dropped'] += len(self._backlog)
            self._backlog.clear()

    def _client_baud(self) -> int | None:
        if not self.check_baud or self._slave is None:
            return None
        try:
            speed = termios.tcgetattr(self._slave)[4]
        except termios.error:
            return None
        return _SPEEDS.get(speed)

    def _present(self, now: float) -> list:
        """Servos on the bus and listening at the client's bit rate."""
        since = now - self._t0
        baud = self._client_baud()
        return [slot for slot in self._slots
                if not slot.fault.gone(since)
                and (baud is None or slot.servo.baud_rate == baud)]

    def _handle(self, packet: protocol.Packet, now: float) -> None:
        self.stats['requests'] += 1
        for slot in self._slots:
            slot.servo.advance(now)
        present = self._present(now)
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
        due = now + fault.delay_ms / 1000.0
        if self._queue:  # one wire: a reply cannot overtake an earlier one
            due = max(due, self._queue[-1].due)
        self._queue.append(_Reply(due, data))
        self.stats['replies'] += 1


# --- helpers ---------------------------------------------------------------------------

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


def _make_link(link: str, target: str) -> None:
    if os.path.lexists(link):
        if not os.path.islink(link):
            raise FileExistsError(f'{link} exists and is not a symlink; not replacing it')
        os.unlink(link)
    os.symlink(target, link)


def _remove_link(link: str, target: str) -> None:
    try:
        if os.path.islink(link) and os.readlink(link) == target:
            os.unlink(link)
    except OSError:
        pass


# --- command line --------------------------------------------------------------------------

def _parse_ids(text: str) -> list[int]:
    ids = []
    for part in text.replace(' ', '').split(','):
        if not part:
            continue
        if '-' in part:
            low, high = part.split('-', 1)
            ids.extend(range(int(low), int(high) + 1))
        else:
            ids.append(int(part))
    return ids


def _fault_spec(text: str, *, value_required: bool, default: float = 1.0):
    """Parse ``ID[:VALUE]`` into (id, value)."""
    servo_id, _, value = text.partition(':')
    if not value and value_required:
        raise argparse.ArgumentTypeError(f'{text!r}: expected ID:VALUE')
    try:
        return int(servo_id), float(value) if value else default
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f'{text!r}: {exc}') from None


def _vanish_spec(text: str):
    parts = text.split(':')
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f'{text!r}: expected ID:AFTER_S[:FOR_S]')
    try:
        return int(parts[0]), float(parts[1]), float(parts[2]) if len(parts) == 3 else None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f'{text!r}: {exc}') from None


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog='servo_bus_emulator',
        description='Emulate a chain of Feetech STS3215 servos on a pseudo-terminal. '
                    'Open the printed path with the Feetech SDK at 1000000 baud, as you '
                    'would /dev/ttyUSB0. Ctrl-C ends it.',
        epilog='Fault options repeat, one servo each, e.g. '
               '--delay 3:50 --corrupt 2:0.1 --vanish 5:10:3 --overheat 6')
    parser.add_argument('--ids', type=_parse_ids, default=list(range(1, 7)),
                        help='servo ids, e.g. "1-6" or "1,2,7" (default 1-6)')
    parser.add_argument('--model', choices=sorted(sts3215.MODELS), default='sts3215',
                        help='servo model (default sts3215)')
    parser.add_argument('--link', metavar='PATH',
                        help='also make PATH a symlink to the pty (a stable port name)')
    parser.add_argument('--pose', metavar='TICKS',
                        help='start positions, one for all or a comma list in --ids order '
                             '(encoder steps 0-4095, default 2048)')
    parser.add_argument('--no-reply', metavar='ID[:P]', action='append', default=[],
                        type=lambda t: _fault_spec(t, value_required=False),
                        help='servo ID executes but does not answer (with probability P)')
    parser.add_argument('--delay', metavar='ID:MS', action='append', default=[],
                        type=lambda t: _fault_spec(t, value_required=True),
                        help='servo ID answers MS milliseconds late')
    parser.add_argument('--corrupt', metavar='ID[:P]', action='append', default=[],
                        type=lambda t: _fault_spec(t, value_required=False),
                        help='servo ID answers with a wrong checksum (with probability P)')
    parser.add_argument('--vanish', metavar='ID:AFTER_S[:FOR_S]', action='append', default=[],
                        type=_vanish_spec,
                        help='servo ID leaves the bus AFTER_S seconds after start, for FOR_S '
                             'seconds (or for good)')
    parser.add_argument('--overheat', metavar='ID', action='append', default=[], type=int,
                        help='servo ID reports a temperature above its limit (OVERHEAT bit)')
    parser.add_argument('--lock-policy', choices=LOCK_POLICIES, default='volatile',
                        help='EEPROM writes while Lock=1: "volatile" take effect but are lost '
                             'at power-off (the Feetech manual), "refuse" are ignored')
    parser.add_argument('--voltage', type=float, default=None,
                        help='supply voltage, V (default the model\'s nominal 7.4)')
    parser.add_argument('--ignore-baud', action='store_true',
                        help='answer whatever bit rate the client sets on the pty')
    parser.add_argument('--seed', type=int, default=0, help='seed of the fault dice')
    parser.add_argument('-v', '--verbose', action='count', default=0,
                        help='-v: log start-up; -vv: log every request')
    return parser


def main(argv=None) -> int:
    """Run the emulator until Ctrl-C or SIGTERM."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
                        format='%(asctime)s %(levelname)s %(message)s')
    positions = None
    if args.pose:
        try:
            positions = [float(p) for p in args.pose.split(',')]
        except ValueError:
            build_parser().error(f'--pose {args.pose!r}: expected numbers separated by commas')
    try:
        bus = BusEmulator(args.ids, model=args.model, positions=positions, link=args.link,
                          lock_policy=args.lock_policy, check_baud=not args.ignore_baud,
                          voltage=args.voltage, seed=args.seed)
        for servo_id, p in args.no_reply:
            bus.set_fault(servo_id, no_reply=p)
        for servo_id, ms in args.delay:
            bus.set_fault(servo_id, delay_ms=ms)
        for servo_id, p in args.corrupt:
            bus.set_fault(servo_id, corrupt=p)
        for servo_id, after, duration in args.vanish:
            bus.schedule_vanish(servo_id, after, duration)
        for servo_id in args.overheat:
            bus.set_fault(servo_id, overheat=True)
        bus.open()
    except (ValueError, KeyError, OSError) as exc:
        print(f'servo_bus_emulator: {exc}', file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        bus.request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f'pty: {bus.pty_path}', flush=True)
    if args.link:
        print(f'link: {args.link} -> {bus.pty_path}', flush=True)
    print(f'servos: {args.model} ids {",".join(map(str, bus.ids))}; Ctrl-C to stop',
          flush=True)
    try:
        bus.serve_forever()
    finally:
        bus.close()
    print('servo bus emulator stopped', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
