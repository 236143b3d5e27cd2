"""
The SO100 follower's control loop, one ``tick()`` at a time; no ROS.

The servos are reached through a small bus interface (``SdkBus`` in
:mod:`.sdk_bus` wraps the Feetech SDK, ``scservo_sdk``), so the loop can be
tested over the emulator.  The settings and the per-servo health are in
:mod:`.driver_config`, the start-up writes in :mod:`.servo_setup` and the
reads of a tick in :mod:`.bus_cycle`; this module decides (fault policy,
goals, homing).

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

Start-up and the lifecycle steps (configure, activate, deactivate, cleanup) are
in :mod:`.driver_connection`.
"""

import logging
import math
import time

from . import sts3215
from .bus_cycle import read_positions, read_status, STATUS_BLOCK  # noqa: F401
from .calibration import ArmCalibration, TICKS_PER_RAD
from .driver_connection import ConnectionSteps
# The names below were all defined here before the split; imports of them keep working.
from .driver_config import (DriverConfig, ERROR, LEVEL_NAMES, OK, ON_FAULT,  # noqa: F401
                            ON_SHUTDOWN, SEVERE_BITS, ServoHealth, WARN)
from .sdk_bus import BusError, SdkBus  # noqa: F401
from .servo_setup import (ADDR, CONFIGURE_ATTEMPTS, read_present_positions,  # noqa: F401
                          require_servos, set_torque, write_checked, write_eeprom)

_logger = logging.getLogger(__name__)


class DriverCore(ConnectionSteps):
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
        #: Commanding: between activate() and deactivate() (or since connect()).
        self.active = False
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
        if not self.active:
            self._homing_result = (False, 'the driver is not active')
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

    def tick(self, now: float | None = None) -> None:
        """
        Run one control step (read, decide, write); never raises for bus faults.

        A core that is not connected (never configured, or its port was lost) is
        connected first (``connect()``, every ``reconnect_period_s``); one that was
        deactivated reads but writes no goal.
        """
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

    def goal_positions(self) -> list | None:
        """Return the last goal in joint units."""
        return None if self.goal is None else self.calibration.to_positions(self.goal)

    # --- one tick --------------------------------------------------------------------

    def _read_positions(self, deadline: float) -> bool:
        return read_positions(self.bus, self.health, self.positions_raw, self.config.retries,
                              deadline, self.clock)

    def _read_status(self) -> None:
        read_status(self.bus, self.health)

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
        if self.fault is not None or not self.torque_on or not self.active:
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
