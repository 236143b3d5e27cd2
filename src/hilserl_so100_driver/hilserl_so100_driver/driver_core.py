"""
The SO100 follower's control loop, one ``tick()`` at a time; no ROS.

The servos are reached through a small bus interface (``SdkBus`` wraps the
Feetech SDK, ``scservo_sdk``), so the loop can be tested over the emulator.

Each tick:

1. one sync read of Present_Position of every servo; servos that did not
   answer are read again one by one while the tick budget (80 % of the period)
   lasts; servos that have been failing are put last in the sync read, since
   the SDK gives up at the first missing reply;
2. every ``status_every`` ticks one sync read of load, voltage, temperature
   and the Status error bits (servos that answered step 1 only);
3. one sync write of Goal_Position: the target (the last command, or the
   homing trajectory) clamped to the calibrated range, approached by at most
   ``max_joint_step`` rad per tick (the gripper by the same servo angle).

Behaviour on faults (see also ``ServoHealth.level``):

* A tick fails when any servo's position is missing after the retries.  Each
  servo's consecutive failures are counted; its health is WARN from the first
  and ERROR from ``max_failed_ticks``.
* After ``max_failed_ticks`` consecutive failed ticks the driver stops
  commanding motion: ``on_fault='hold'`` writes no new goal (the servos keep
  the last good one, torque on); ``'torque_off'`` switches torque off.  In
  ``hold``, the same number of good ticks in a row resumes control from the
  last goal; ``torque_off`` stays latched until ``start_homing()`` (the
  ``reset_to_home`` service), which restarts from the present position.
* The port vanishing (unplugged adapter, closed pty) raises inside the SDK; the
  port is closed, every servo reports ERROR and a reconnection is tried every
  ``reconnect_period_s``.  After reconnecting, the servos are configured again
  and the first goal is their present position.
* Commands older than ``command_timeout_s`` are dropped: the goal stays where
  it is (hold).
* On ``shutdown()``, ``on_shutdown='hold'`` leaves torque on at the last goal,
  ``'torque_off'`` switches it off; then the port is closed.

With ``passive`` (a leader arm moved by hand) torque stays off, no goal is
written and commands and homing are refused; reading and health are the same.

Start-up (``connect``): every servo must answer; torque off; EEPROM values
that differ (Homing_Offset, Min/Max_Position_Limit, P_Coefficient) are written
between Lock=0 and Lock=1 (so they are saved); Acceleration (RAM); the goal is
set to the present position, then torque on.
"""

from dataclasses import dataclass, field
import logging
import math
import termios
import time

from . import sts3215
from .calibration import ArmCalibration, TICKS_PER_RAD

_logger = logging.getLogger(__name__)

ADDR = {name: sts3215.register(name).address for name in (
    'Homing_Offset', 'Min_Position_Limit', 'Max_Position_Limit', 'P_Coefficient',
    'Torque_Enable', 'Acceleration', 'Goal_Position', 'Lock', 'Present_Position',
    'Present_Load', 'Status')}
#: Present_Load (2), Present_Voltage, Present_Temperature, Async_Write_Flag, Status.
STATUS_BLOCK = (ADDR['Present_Load'], 6)
#: Tries of each start-up read or write (they need a reply) before the start fails.
CONFIGURE_ATTEMPTS = 3
ON_FAULT = ('hold', 'torque_off')
ON_SHUTDOWN = ('hold', 'torque_off')
OK, WARN, ERROR = 0, 1, 2
LEVEL_NAMES = {OK: 'OK', WARN: 'WARN', ERROR: 'ERROR'}
#: Status bits that make a servo ERROR (the servo's protection may release torque).
SEVERE_BITS = (sts3215.ErrorBit.OVERHEAT | sts3215.ErrorBit.OVERCURRENT
               | sts3215.ErrorBit.OVERLOAD)


class BusError(Exception):
    """The port itself failed (adapter unplugged, pty closed); the bus must reopen."""


class SdkBus:
    """
    The bus interface over the Feetech SDK.

    ``sync_read`` returns what arrived (by id) and never raises for a missing
    servo; every method raises BusError when the port fails, after which the
    bus is closed and ``open()`` may be called again.
    """

    def __init__(self, port: str, baud: int = 1_000_000):
        """Remember the port; nothing is opened yet."""
        import scservo_sdk  # a hardware dependency: imported when used
        self._scs = scservo_sdk
        self.port_name = port
        self.baud = int(baud)
        self._port = None
        self._ph = scservo_sdk.PacketHandler(0)

    @property
    def is_open(self) -> bool:
        """Whether the port is open."""
        return self._port is not None

    def open(self) -> None:
        """Open the port at the baud rate; BusError when it cannot."""
        self.close()
        port = self._scs.PortHandler(self.port_name)
        try:
            opened = port.openPort() and port.setBaudRate(self.baud)
        except Exception as error:  # serial.SerialException, OSError, termios.error
            raise BusError(f'cannot open {self.port_name}: {error}') from None
        if not opened:
            raise BusError(f'cannot open {self.port_name} at {self.baud} baud')
        self._port = port

    def close(self) -> None:
        """Close the port, ignoring the errors of one that is already gone."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.closePort()
            except Exception:
                pass

    def _failed(self, error) -> BusError:
        self.close()
        return BusError(f'{self.port_name}: {error or type(error).__name__}')

    def _flush_input(self) -> None:
        # Late replies stay in the input buffer; clearPort only flushes output.
        self._port.ser.reset_input_buffer()

    def _call(self, function, *args):
        if self._port is None:
            raise BusError(f'{self.port_name} is not open')
        try:
            return function(*args)
        except (OSError, termios.error, ValueError) as error:
            # serial.SerialException is an OSError; ValueError
            # come from pyserial on a port that was closed under it.
            raise self._failed(error) from None
        finally:
            # The SDK leaves the port marked busy when a call raises; free it always.
            if self._port is not None:
                self._port.is_using = False

    def sync_read(self, address: int, length: int, ids) -> dict:
        """Return {id: bytes} for the servos that answered a sync read."""
        def run():
            self._flush_input()
            reader = self._scs.GroupSyncRead(self._port, self._ph, address, length)
            for servo_id in ids:
                reader.addParam(servo_id)
            result = reader.txRxPacket()
            if result != self._scs.COMM_SUCCESS:
                self._flush_input()
            return {servo_id: bytes(reader.data_dict[servo_id]) for servo_id in ids
                    if len(reader.data_dict.get(servo_id) or ()) == length}
        return self._call(run)

    def read(self, servo_id: int, address: int, length: int):
        """Return the bytes read from one servo, or None when it did not answer."""
        def run():
            self._flush_input()
            data, result, _ = self._ph.readTxRx(self._port, servo_id, address, length)
            if result != self._scs.COMM_SUCCESS or len(data) != length:
                self._flush_input()
                return None
            return bytes(data)
        return self._call(run)

    def write(self, servo_id: int, address: int, data: bytes) -> bool:
        """Write one servo; return whether it acknowledged."""
        def run():
            self._flush_input()
            result, _ = self._ph.writeTxRx(self._port, servo_id, address, len(data), list(data))
            if result != self._scs.COMM_SUCCESS:
                self._flush_input()
            return result == self._scs.COMM_SUCCESS
        return self._call(run)

    def sync_write(self, address: int, length: int, data_by_id: dict) -> None:
        """Write several servos in one packet (no replies)."""
        def run():
            writer = self._scs.GroupSyncWrite(self._port, self._ph, address, length)
            for servo_id, data in data_by_id.items():
                writer.addParam(servo_id, list(data))
            result = writer.txPacket()
            if result != self._scs.COMM_SUCCESS:
                raise OSError(f'sync write failed: {self._ph.getTxRxResult(result)}')
        self._call(run)


@dataclass
class DriverConfig:
    """Settings of the control loop."""

    control_rate_hz: float = 30.0
    #: Largest goal change per tick, rad (the gripper: the same servo angle).
    max_joint_step: float = 0.05
    command_timeout_s: float = 0.5
    #: Home pose in joint units (rad, gripper 0-1); None: the middle of every range.
    home_positions: list | None = None
    #: Speed of the interpolated move home, rad/s (largest joint).
    home_speed: float = 0.5
    #: Home counts as reached when every servo is this close, rad.
    home_tolerance: float = 0.05
    max_failed_ticks: int = 5
    on_fault: str = 'hold'
    on_shutdown: str = 'hold'
    acceleration: int = 254
    p_coefficient: int = 16
    #: Read load/voltage/temperature/status every this many ticks.
    status_every: int = 10
    #: Extra single reads per missing servo within a tick (budget allowing).
    retries: int = 1
    reconnect_period_s: float = 1.0
    #: Write Homing_Offset and the position limits to the servos at start.
    write_calibration: bool = True
    #: Read only (a leader arm): torque stays off and no goal is ever written.
    passive: bool = False

    def __post_init__(self):
        """Refuse values the loop cannot work with (ValueError)."""
        if not self.control_rate_hz > 0:
            raise ValueError('control_rate_hz must be positive')
        if not self.max_joint_step > 0:
            raise ValueError('max_joint_step must be positive')
        if not self.command_timeout_s > 0:
            raise ValueError('command_timeout_s must be positive')
        if not self.home_speed > 0:
            raise ValueError('home_speed must be positive')
        if self.max_failed_ticks < 1:
            raise ValueError('max_failed_ticks must be at least 1')
        if self.on_fault not in ON_FAULT:
            raise ValueError(f'on_fault must be one of {ON_FAULT}, not {self.on_fault!r}')
        if self.on_shutdown not in ON_SHUTDOWN:
            raise ValueError(f'on_shutdown must be one of {ON_SHUTDOWN}, '
                             f'not {self.on_shutdown!r}')
        if not 0 <= self.acceleration <= 254:
            raise ValueError('acceleration must be 0-254')
        if not 0 <= self.p_coefficient <= 255:
            raise ValueError('p_coefficient must be 0-255')
        if self.status_every < 1 or self.retries < 0:
            raise ValueError('status_every must be >= 1 and retries >= 0')

    @property
    def period(self) -> float:
        """Return the tick period, s."""
        return 1.0 / self.control_rate_hz


@dataclass
class ServoHealth:
    """What the driver knows about one servo."""

    name: str
    id: int
    position_raw: int | None = None
    load: int | None = None
    voltage: float | None = None
    temperature: int | None = None
    error_bits: int = 0
    failed_reads: int = 0
    consecutive_failures: int = 0
    retries: int = 0
    port_ok: bool = False
    message: str = 'not connected'
    max_failed_ticks: int = field(default=5, repr=False)

    @property
    def level(self) -> int:
        """Return OK, WARN or ERROR."""
        if (not self.port_ok or self.consecutive_failures >= self.max_failed_ticks
                or self.error_bits & SEVERE_BITS):
            return ERROR
        if self.consecutive_failures or self.error_bits:
            return WARN
        return OK

    def summary(self) -> str:
        """Return a one-line description of the servo's state."""
        if not self.port_ok:
            return self.message
        parts = []
        if self.consecutive_failures:
            parts.append(f'no reply for {self.consecutive_failures} tick(s)')
        if self.error_bits:
            names = [bit.name for bit in sts3215.ErrorBit if self.error_bits & bit]
            parts.append('error bits ' + ','.join(n.lower() for n in names))
        return '; '.join(parts) or 'ok'


class DriverCore:
    """The follower's control loop; see the module docstring."""

    def __init__(self, bus, calibration: ArmCalibration, config: DriverConfig | None = None,
                 clock=time.monotonic, log=None):
        """Use ``bus`` (an SdkBus or alike); ``log(level, text)`` gets the transitions."""
        self.bus = bus
        self.calibration = calibration
        self.config = config or DriverConfig()
        self.clock = clock
        self._log = log or (lambda level, text: _logger.log(level, text))
        self.names = calibration.names
        self.ids = calibration.ids
        n = len(self.ids)
        home = self.config.home_positions
        if home is None:
            self._home_raw = [joint.middle for joint in calibration.joints]
        else:
            home = [float(v) for v in home]
            if len(home) != n or not all(math.isfinite(v) for v in home):
                raise ValueError(f'home_positions needs {n} finite values, got {home}')
            self._home_raw = calibration.to_raws(home)
        self.health = [ServoHealth(j.name, j.id, max_failed_ticks=self.config.max_failed_ticks)
                       for j in calibration.joints]
        self._step_raw = self.config.max_joint_step * TICKS_PER_RAD
        self.connected = False
        self.torque_on = False
        self.goal: list | None = None  # raw ticks (float), last written
        self.positions_raw: list | None = None  # last good reading per servo
        self.failed_ticks = 0
        self.good_ticks = 0
        self.fault: str | None = None  # why motion is stopped, None while commanding
        self.ticks = 0
        self.last_error = ''
        self._command_raw = None
        self._command_time = -math.inf
        self._homing = None  # (start_raw, end_raw, t0, duration)
        self._homing_result = None  # (success, message) once a homing move ended
        self._next_connect = -math.inf
        self._reported_loss = False
        #: Goals written, for tests and benchmarks: not kept unless a list is set here.
        self.goal_log = None

    # --- public ------------------------------------------------------------------------

    def set_command(self, positions, now: float | None = None) -> None:
        """Take a target in joint units (ValueError for a wrong length or non-finite value)."""
        if self.config.passive:
            raise ValueError('a passive (leader) arm takes no commands')
        values = [float(v) for v in positions]
        if len(values) != len(self.ids) or not all(math.isfinite(v) for v in values):
            raise ValueError(f'needs {len(self.ids)} finite values in the order {self.names}; '
                             f'got {list(positions)}')
        self._command_raw = self.calibration.to_raws(values)
        self._command_time = self.clock() if now is None else now

    def positions(self) -> list | None:
        """Return the last good positions in joint units, or None before the first."""
        if self.positions_raw is None:
            return None
        return self.calibration.to_positions(self.positions_raw)

    def start_homing(self, now: float | None = None) -> None:
        """Start the interpolated move to home; ``homing_result`` tells when it ended."""
        now = self.clock() if now is None else now
        self._homing_result = None
        self._command_raw = None
        if self.config.passive:
            self._homing_result = (False, 'a passive (leader) arm does not move')
            return
        if not self.connected:
            self._homing_result = (False, f'not connected: {self.last_error}')
            return
        if self.fault is not None:
            if self.failed_ticks:
                self._homing_result = (False, f'bus fault: {self.fault}')
                return
            self._log(logging.INFO, f'fault cleared by the homing request ({self.fault})')
            self.fault = None
            try:
                self._restart_from_present()
            except BusError as error:
                self._lost(error, now)
                self._homing_result = (False, f'port lost: {error}')
                return
        start = list(self.goal)
        end = list(self._home_raw)
        largest = max(abs(e - s) for s, e in zip(start, end))
        duration = largest / (self.config.home_speed * TICKS_PER_RAD)
        self._homing = (start, end, now, duration)

    @property
    def homing(self) -> bool:
        """Whether a move home is under way."""
        return self._homing is not None

    @property
    def homing_result(self):
        """Return (success, message) of the last homing request, None while it runs."""
        return self._homing_result

    def connect(self, now: float | None = None) -> bool:
        """Open the bus and configure the servos; False (and log) when it fails."""
        now = self.clock() if now is None else now
        self._next_connect = now + self.config.reconnect_period_s
        try:
            if not self.bus.is_open:
                self.bus.open()
            self._configure()
        except BusError as error:
            self.bus.close()
            self._mark_lost(str(error))
            return False
        self.connected = True
        self.fault = None
        self.failed_ticks = self.good_ticks = 0
        for health in self.health:
            health.port_ok = True
            health.consecutive_failures = 0
            health.message = 'ok'
        self._reported_loss = False
        self._log(logging.INFO, f'connected to servos {self.ids} on '
                                f'{getattr(self.bus, "port_name", "the bus")}')
        return True

    def tick(self, now: float | None = None) -> None:
        """Run one control step (read, decide, write); never raises for bus faults."""
        now = self.clock() if now is None else now
        self.ticks += 1
        if not self.connected:
            if now >= self._next_connect:
                self.connect(now)
            if not self.connected:
                if self._homing is not None:
                    self._end_homing(False, f'port lost: {self.last_error}')
                return
        deadline = now + 0.8 * self.config.period
        try:
            read_ok = self._read_positions(deadline)
            if self.ticks % self.config.status_every == 0:
                self._read_status()
            self._account(read_ok)
            self._command(now)
        except BusError as error:
            self._lost(error, now)

    def shutdown(self) -> None:
        """Leave the servos as ``on_shutdown`` says and close the port."""
        try:
            if self.connected and self.config.on_shutdown == 'torque_off':
                self._torque_off(self.ids)
        except BusError:
            pass
        self.connected = False
        self.bus.close()
        for health in self.health:
            health.port_ok = False
            health.message = 'driver stopped'

    def goal_positions(self) -> list | None:
        """Return the last goal in joint units."""
        return None if self.goal is None else self.calibration.to_positions(self.goal)

    # --- connection --------------------------------------------------------------------

    def _read_retrying(self, servo_id: int, address: int, length: int):
        for _ in range(CONFIGURE_ATTEMPTS):
            data = self.bus.read(servo_id, address, length)
            if data is not None:
                return data
        return None

    def _write_retrying(self, servo_id: int, address: int, data: bytes) -> bool:
        return any(self.bus.write(servo_id, address, data) for _ in range(CONFIGURE_ATTEMPTS))

    def _configure(self) -> None:
        missing = [i for i in self.ids
                   if self._read_retrying(i, ADDR['Present_Position'], 2) is None]
        if missing:
            raise BusError(f'servo(s) {missing} do not answer')
        self._set_torque(False, checked=True)
        eeprom = [('P_Coefficient', 1, lambda j: self.config.p_coefficient)]
        if self.config.write_calibration:
            eeprom += [('Homing_Offset', 2, lambda j: j.homing_offset),
                       ('Min_Position_Limit', 2, lambda j: j.range_min),
                       ('Max_Position_Limit', 2, lambda j: j.range_max)]
        pending = []
        for joint in self.calibration.joints:
            for name, size, value_of in eeprom:
                reg = sts3215.register(name)
                raw = reg.to_raw(value_of(joint))
                data = self._read_retrying(joint.id, reg.address, size)
                if data is None or int.from_bytes(data, 'little') != raw:
                    pending.append((joint.id, reg, raw))
        if pending:
            unlock = sorted({servo_id for servo_id, _, _ in pending})
            for servo_id in unlock:
                self._write_checked(servo_id, 'Lock', 0)
            for servo_id, reg, raw in pending:
                if not self._write_retrying(servo_id, reg.address,
                                            raw.to_bytes(reg.size, 'little')):
                    raise BusError(f'servo {servo_id} did not acknowledge {reg.name}')
            for servo_id in unlock:
                self._write_checked(servo_id, 'Lock', 1)
            self._log(logging.INFO, f'wrote {len(pending)} EEPROM value(s) to servos {unlock}')
        for servo_id in self.ids:
            self._write_checked(servo_id, 'Acceleration', self.config.acceleration)
        self._restart_from_present()

    def _restart_from_present(self) -> None:
        """Read the present positions, make them the goal, then switch torque on."""
        raws = []
        for servo_id in self.ids:
            data = self._read_retrying(servo_id, ADDR['Present_Position'], 2)
            if data is None:
                raise BusError(f'servo {servo_id} does not answer')
            raws.append(sts3215.register('Present_Position').decode(data))
        self.positions_raw = raws
        self.goal = [float(r) for r in raws]
        self._command_raw = None
        if self.config.passive:
            return
        self._write_goal()
        self._set_torque(True, checked=True)

    def _write_checked(self, servo_id: int, name: str, value: int) -> None:
        reg = sts3215.register(name)
        if not self._write_retrying(servo_id, reg.address, reg.encode(value)):
            raise BusError(f'servo {servo_id} did not acknowledge {name}={value}')

    def _set_torque(self, on: bool, checked: bool = False) -> None:
        if checked:
            for servo_id in self.ids:
                self._write_checked(servo_id, 'Torque_Enable', int(on))
        else:
            self.bus.sync_write(ADDR['Torque_Enable'], 1, {i: bytes((int(on),)) for i in self.ids})
        self.torque_on = on

    def _torque_off(self, acked_ids) -> None:
        """Switch every servo's torque off in one packet, then again one by one with replies."""
        self._set_torque(False)
        reg = sts3215.register('Torque_Enable')
        for servo_id in acked_ids:  # best effort: the replies also show it arrived
            self.bus.write(servo_id, reg.address, reg.encode(0))

    def _mark_lost(self, reason: str) -> None:
        self.connected = False
        self.torque_on = False
        self.last_error = reason
        for health in self.health:
            health.port_ok = False
            health.message = f'no connection: {reason}'
        if not self._reported_loss:
            self._log(logging.ERROR, f'{reason}; retrying every '
                                     f'{self.config.reconnect_period_s:g} s')
            self._reported_loss = True

    def _lost(self, error: BusError, now: float) -> None:
        self.bus.close()
        self._mark_lost(f'port lost ({error})')
        self._next_connect = now + self.config.reconnect_period_s
        if self._homing is not None:
            self._end_homing(False, f'port lost: {error}')

    # --- one tick --------------------------------------------------------------------

    def _read_positions(self, deadline: float) -> bool:
        # Failing servos last: the SDK's sync read stops at the first missing reply, and
        # the servos listed after it are then unread rather than failed.
        order = sorted(self.ids, key=lambda i: self.health[self.ids.index(i)]
                       .consecutive_failures)
        got = self.bus.sync_read(ADDR['Present_Position'], 2, order)
        missing = [i for i in order if i not in got]
        for k, servo_id in enumerate(missing):
            health = self.health[self.ids.index(servo_id)]
            attempts = 0
            while servo_id not in got and attempts < max(self.config.retries, k > 0):
                # The first missing servo is the one that did not answer: retry it only
                # within the tick budget; read each later (unread) one at least once.
                if (k == 0 or attempts > 0) and self.clock() >= deadline:
                    break
                attempts += 1
                health.retries += 1
                data = self.bus.read(servo_id, ADDR['Present_Position'], 2)
                if data is not None:
                    got[servo_id] = data
        reg = sts3215.register('Present_Position')
        for index, servo_id in enumerate(self.ids):
            health = self.health[index]
            data = got.get(servo_id)
            if data is None:
                health.failed_reads += 1
                health.consecutive_failures += 1
                continue
            health.consecutive_failures = 0
            health.position_raw = reg.decode(data)
            self.positions_raw[index] = health.position_raw
        return all(h.consecutive_failures == 0 for h in self.health)

    def _read_status(self) -> None:
        ids = [h.id for h in self.health if h.consecutive_failures == 0]
        if not ids:
            return
        got = self.bus.sync_read(*STATUS_BLOCK, ids)
        load_reg = sts3215.register('Present_Load')
        for health in self.health:
            data = got.get(health.id)
            if data is None:
                if health.id in ids:
                    health.failed_reads += 1
                continue
            health.load = load_reg.decode(data[0:2])
            health.voltage = data[2] / 10.0
            health.temperature = data[3]
            health.error_bits = data[5]

    def _account(self, read_ok: bool) -> None:
        if read_ok:
            self.failed_ticks = 0
            self.good_ticks += 1
        else:
            self.failed_ticks += 1
            self.good_ticks = 0
        limit = self.config.max_failed_ticks
        if self.fault is None and self.failed_ticks >= limit:
            bad = [h.id for h in self.health if h.consecutive_failures]
            self.fault = f'{self.failed_ticks} failed ticks in a row (servos {bad})'
            action = ('holding the last goal' if self.config.on_fault == 'hold'
                      else 'torque off')
            self._log(logging.ERROR, f'{self.fault}: {action}')
            if self._homing is not None:
                self._end_homing(False, f'bus fault: {self.fault}')
            if self.config.on_fault == 'torque_off':
                self._torque_off([h.id for h in self.health if not h.consecutive_failures])
        elif (self.fault is not None and self.config.on_fault == 'hold'
              and self.good_ticks >= limit):
            self._log(logging.INFO, f'bus recovered after: {self.fault}; commanding again')
            self.fault = None
            self._command_raw = None

    def _command(self, now: float) -> None:
        if self.fault is not None or not self.torque_on:
            return
        target = None
        if self._homing is not None:
            start, end, t0, duration = self._homing
            s = 1.0 if duration <= 0 else min(1.0, (now - t0) / duration)
            target = [a + s * (b - a) for a, b in zip(start, end)]
        elif self._command_raw is not None:
            if now - self._command_time <= self.config.command_timeout_s:
                target = self._command_raw
            else:
                self._command_raw = None  # stale: hold where the goal is
        if target is None:
            return
        step = self._step_raw
        self.goal = [g + min(max(t - g, -step), step) for g, t in zip(self.goal, target)]
        self._write_goal()
        if self._homing is not None:
            self._check_homing(now)

    def _write_goal(self) -> None:
        reg = sts3215.register('Goal_Position')
        raws = [int(round(g)) for g in self.goal]
        self.bus.sync_write(ADDR['Goal_Position'], 2,
                            {i: reg.encode(r) for i, r in zip(self.ids, raws)})
        if self.goal_log is not None:
            self.goal_log.append(raws)

    def _check_homing(self, now: float) -> None:
        start, end, t0, duration = self._homing
        tolerance = self.config.home_tolerance * TICKS_PER_RAD
        arrived = all(abs(g - e) < 0.5 for g, e in zip(self.goal, end)) and all(
            abs(p - e) <= tolerance for p, e in zip(self.positions_raw, end))
        if arrived:
            self._end_homing(True, 'home reached')
        elif now - t0 > duration + 5.0:
            self._end_homing(False, 'home not reached within 5 s of the planned move')

    def _end_homing(self, success: bool, message: str) -> None:
        self._homing = None
        self._homing_result = (success, message)
        self._log(logging.INFO if success else logging.WARNING, f'reset to home: {message}')
