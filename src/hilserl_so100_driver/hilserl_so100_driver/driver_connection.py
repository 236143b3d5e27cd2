"""
Opening, setting up, enabling and releasing the follower's servos; no ROS.

:class:`ConnectionSteps` holds the connection steps of
:class:`hilserl_so100_driver.driver_core.DriverCore` (a mixin: the attributes are
the core's).  Start-up, in the steps of a managed (lifecycle) node:

* ``configure()``: open the port; every servo must answer; torque off; EEPROM
  values that differ (Homing_Offset, Min/Max_Position_Limit, P_Coefficient) are
  written between Lock=0 and Lock=1 (so they are saved); Acceleration (RAM);
  the present positions are read.  Nothing moves and torque stays off.
* ``activate()``: the goal is set to the present position, then torque on;
  from now on ``tick()`` commands.
* ``deactivate()``: commands (and a move home) stop; the goal is set to the
  present position (the arm holds where it is), then torque goes off when
  ``on_fault='torque_off'``: a deactivated driver leaves the arm as a bus fault
  would.  ``activate()`` starts again from the present position.
* ``cleanup()``: the port is closed; the servos stay as deactivation left them.

``connect()`` does configure and activate in one go: the first ``tick()`` of a
core that was never configured calls it, and so does a reconnection.
"""

import logging

from . import sts3215
from .sdk_bus import BusError
from .servo_setup import (read_present_positions, require_servos, set_torque,
                          write_checked, write_eeprom)


class ConnectionSteps:
    """The lifecycle steps of DriverCore; see the module docstring."""

    def configure(self) -> bool:
        """Open the bus and set the servos up, torque off; False (``last_error``) when it fails."""
        try:
            self._open_and_set_up()
        except BusError as error:
            self.bus.close()
            self._mark_lost(str(error), retrying=False)
            return False
        self._now_connected()
        return True

    def activate(self) -> bool:
        """
        Hold the present positions with torque on and take commands; False when it fails.

        A core that is not configured (or lost its port) is configured first.  A
        passive one only starts reading.
        """
        if not self.connected and not self.configure():
            return False
        try:
            self._restart_from_present()
        except BusError as error:
            self._failed(error)
            return False
        self.active = True
        self.fault = None
        self.failed_ticks = self.good_ticks = 0
        if not self.config.passive:
            self._log(logging.INFO, 'torque on, holding the present position; taking commands')
        return True

    def deactivate(self) -> None:
        """Stop commanding, hold the present position, then torque off if ``on_fault`` says so."""
        self.active = False
        self._command_raw = None
        if self._homing is not None:
            self._end_homing(False, 'the driver was deactivated')
        if not self.connected or self.config.passive:
            return
        try:
            self.positions_raw = read_present_positions(self.bus, self.ids)
            self.goal = [float(r) for r in self.positions_raw]
            self._write_goal()
            if self.config.on_fault == 'torque_off':
                self._torque_off(self.ids)
        except BusError as error:
            self._failed(error)
            return
        state = 'torque off' if self.config.on_fault == 'torque_off' else 'torque on'
        self._log(logging.INFO, f'deactivated: holding the present position, {state}')

    def cleanup(self) -> None:
        """Close the port; the servos stay as ``deactivate()`` left them."""
        self.active = False
        self.connected = False
        self.bus.close()
        for health in self.health:
            health.port_ok = False
            health.message = 'not configured'

    def connect(self, now: float | None = None) -> bool:
        """Configure and activate in one go; False (logged once, retried by tick) on failure."""
        now = self.clock() if now is None else now
        self._next_connect = now + self.config.reconnect_period_s
        try:
            self._open_and_set_up()
            self._restart_from_present()
        except BusError as error:
            self.bus.close()
            self._mark_lost(str(error))
            return False
        self._now_connected()
        self.active = True
        return True

    def shutdown(self) -> None:
        """Leave the servos as ``on_shutdown`` says and close the port."""
        try:
            if self.connected and self.config.on_shutdown == 'torque_off':
                self._torque_off(self.ids)
        except BusError:
            pass
        self.connected = self.active = False
        self.bus.close()
        for health in self.health:
            health.port_ok = False
            health.message = 'driver stopped'

    def _open_and_set_up(self) -> None:
        """Open the port, check every servo, configure them with torque off, read them."""
        if not self.bus.is_open:
            self.bus.open()
        require_servos(self.bus, self.ids)
        self._set_torque(False, checked=True)
        wanted = [(j.id, 'P_Coefficient', self.config.p_coefficient)
                  for j in self.calibration.joints]
        if self.config.write_calibration:
            wanted += [(j.id, name, value) for j in self.calibration.joints
                       for name, value in (('Homing_Offset', j.homing_offset),
                                           ('Min_Position_Limit', j.range_min),
                                           ('Max_Position_Limit', j.range_max))]
        written = write_eeprom(self.bus, wanted)
        if written:
            self._log(logging.INFO, f'wrote EEPROM values (saved) to servos {written}')
        for servo_id in self.ids:
            write_checked(self.bus, servo_id, 'Acceleration', self.config.acceleration)
        self.positions_raw = read_present_positions(self.bus, self.ids)

    def _now_connected(self) -> None:
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

    def _restart_from_present(self) -> None:
        """Read the present positions, make them the goal, then switch torque on."""
        raws = read_present_positions(self.bus, self.ids)
        self.positions_raw = raws
        self.goal = [float(r) for r in raws]
        self._command_raw = None
        if self.config.passive:
            return
        self._write_goal()
        self._set_torque(True, checked=True)

    def _set_torque(self, on: bool, checked: bool = False) -> None:
        set_torque(self.bus, self.ids, on, checked)
        self.torque_on = on

    def _torque_off(self, acked_ids) -> None:
        """Switch every servo's torque off in one packet, then again one by one with replies."""
        self._set_torque(False)
        reg = sts3215.register('Torque_Enable')
        for servo_id in acked_ids:  # best effort: the replies also show it arrived
            self.bus.write(servo_id, reg.address, reg.encode(0))

    def _mark_lost(self, reason: str, retrying: bool = True) -> None:
        """Record a port that failed; ``retrying``: tick() reconnects (log that once)."""
        self.connected = False
        self.torque_on = False
        self.last_error = reason
        for health in self.health:
            health.port_ok = False
            health.message = f'no connection: {reason}'
        if retrying and not self._reported_loss:
            self._log(logging.ERROR, f'{reason}; retrying every '
                                     f'{self.config.reconnect_period_s:g} s')
            self._reported_loss = True

    def _failed(self, error: BusError) -> None:
        """Close a port that failed during a lifecycle step (nothing retries it)."""
        self.bus.close()
        self._mark_lost(f'port lost ({error})', retrying=False)

    def _lost(self, error: BusError, now: float) -> None:
        self.bus.close()
        self._mark_lost(f'port lost ({error})')
        self._next_connect = now + self.config.reconnect_period_s
        if self._homing is not None:
            self._end_homing(False, f'port lost: {error}')
