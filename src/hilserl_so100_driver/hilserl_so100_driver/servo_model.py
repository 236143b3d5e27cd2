"""
One emulated STS3215: register memory, EEPROM lock, motion, load and heat.

Time is always passed in (seconds, any monotonic origin), so the model is
deterministic: ``advance(now)`` integrates the motion and temperature up to
``now``; the bus emulator calls it with the wall clock, tests with made-up
times.  Reads and writes act on the memory as it is after the last advance.

Behaviour modelled, and the choices made where the sources are silent:

* Memory: a byte array laid out as ``sts3215.REGISTERS``.  Writes to read-only
  registers and to gaps in the table are ignored (UNCERTAIN: the firmware may
  flag an error; none of the sources says so).  Reads past the table give zeros.
* EEPROM and Lock (55): the Feetech memory table says that with Lock = 1 a write
  to an EEPROM address takes effect but is *not saved* (lost at power-off) and
  with Lock = 0 it is saved.  That is the default ``lock_policy='volatile'``:
  the write is visible at once and ``power_cycle()`` brings back the flash
  copy.  ``lock_policy='refuse'`` ignores EEPROM writes while locked, the
  stricter behaviour some drivers assume.  Lock is 1 after power-up.
* Position mode: Present_Position = (encoder - Homing_Offset) mod 4096.  With
  torque on, the present position moves toward Goal_Position clamped to
  [Min_Position_Limit, Max_Position_Limit], at most |Goal_Speed| step/s
  (0 = the model's maximum, 3072 step/s for the STS3215) and, when
  Acceleration > 0, with a trapezoidal ramp of Acceleration x 100 step/s^2
  (the motion itself is in :mod:`.servo_motion`).
* Velocity mode (1): turns at Goal_Speed (sign bit 15), wrapping around.
  PWM mode (2): speed proportional to the duty in Goal_Time.  Step mode (3) is
  not modelled (the servo holds).
* Torque: off after power-up; writing a goal with torque off stores it and the
  servo moves there when torque is enabled (UNCERTAIN: some users report the
  firmware switching torque on by itself on a goal write; the emulator does
  not, which errs on the side of the driver enabling torque explicitly).
  Goal_Position is set to the present position at power-up.  Writing 128 to
  Torque_Enable re-centres: Homing_Offset becomes whatever makes the present
  position read 2048 (saved to flash regardless of Lock, UNCERTAIN).
* Load: the drive duty needed for the motion plus an external load you set
  (``external_load``, 0.1 % units); current follows the load; temperature
  rises toward ambient + rise x load with a first-order time constant.
* Status (65) and the error byte of every status packet: OVERHEAT when the
  temperature exceeds Max_Temperature_Limit, VOLTAGE when the supply is outside
  the voltage limits.  An error whose bit is set in Unloading_Condition
  switches torque off, as the real servo's protection does.
"""

import math

from . import sts3215
from .servo_motion import position_step, velocity_step
from .sts3215 import ErrorBit, OperatingMode, register

LOCK_POLICIES = ('volatile', 'refuse')

_TORQUE_ENABLE = register('Torque_Enable').address
_LOCK = register('Lock').address
_MIDDLE = 2048


class ServoModel:
    """State and behaviour of one servo; see the module docstring."""

    def __init__(self, servo_id: int = 1, *, spec: sts3215.ServoSpec = sts3215.MODELS['sts3215'],
                 position: float = _MIDDLE, now: float = 0.0, ambient_c: float = 25.0,
                 voltage: float | None = None, lock_policy: str = 'volatile',
                 registers: dict | None = None):
        """
        Create a powered-up servo.

        ``position`` is the encoder reading (0-4095) at power-up; ``registers``
        overrides factory values (names from sts3215, stored as if saved to flash).
        """
        if lock_policy not in LOCK_POLICIES:
            raise ValueError(f'lock_policy must be one of {LOCK_POLICIES}')
        self.spec = spec
        self.lock_policy = lock_policy
        self.ambient_c = float(ambient_c)
        #: Supply voltage, volts.
        self.voltage = float(spec.nominal_voltage if voltage is None else voltage)
        #: Load applied from outside (gravity, a hand, an obstacle), 0.1 % of stall
        #: torque, signed; only felt while torque is on.
        self.external_load = 0.0
        #: When not None, the temperature sensor reads this (fault injection).
        self.forced_temperature = None
        self._mem = bytearray(sts3215.MEMORY_SIZE)
        self._flash = bytearray(sts3215.EEPROM_END)
        self._angle = float(position) % spec.resolution  # encoder, steps
        self._velocity = 0.0  # step/s in the present-position frame
        self._load = 0.0  # 0.1 %, signed
        self._temperature = self.ambient_c
        self._time = float(now)
        self._pending = None  # REG_WRITE waiting for ACTION: (address, data)
        self._factory_flash()
        self._flash[sts3215.BY_NAME['ID'].address] = servo_id
        for name, value in (registers or {}).items():
            reg = register(name)
            if reg.area != sts3215.EEPROM:
                raise ValueError(f'{name} is not an EEPROM register')
            self._flash[reg.address:reg.address + reg.size] = reg.encode(value)
        self.power_cycle(now)

    # --- identity ----------------------------------------------------------------------

    @property
    def id(self) -> int:
        """Return the servo's current ID register."""
        return self._mem[sts3215.BY_NAME['ID'].address]

    @property
    def baud_rate(self) -> int | None:
        """Return the bit rate the servo listens at (None for an unknown Baud_Rate index)."""
        return sts3215.BAUD_RATES.get(self._mem[sts3215.BY_NAME['Baud_Rate'].address])

    @property
    def time(self) -> float:
        """Return the time the model was last advanced to."""
        return self._time

    # --- register access ---------------------------------------------------------------

    def get(self, name: str) -> int:
        """Return a register's value (signed where the register is)."""
        reg = register(name)
        return reg.decode(self._mem[reg.address:reg.address + reg.size])

    def read(self, address: int, length: int) -> bytes:
        """Return ``length`` bytes from ``address``, as a READ would."""
        end = min(address + length, len(self._mem))
        data = bytes(self._mem[address:end])
        return data + bytes(length - len(data))

    def write(self, address: int, data: bytes) -> None:
        """Apply a host WRITE of ``data`` at ``address`` with the servo's rules."""
        data = bytes(data)
        locked = self._mem[_LOCK] != 0
        torque_byte = None
        for offset, value in enumerate(data):
            addr = address + offset
            reg = sts3215.register_at(addr)
            if reg is None or not reg.writable:
                continue
            if addr == _TORQUE_ENABLE:
                torque_byte = value
                continue
            if reg.eeprom:
                if locked and self.lock_policy == 'refuse':
                    continue
                if not locked:
                    self._flash[addr] = value
            self._mem[addr] = value
        if torque_byte is not None:
            self._write_torque_enable(torque_byte)
        self._update_status()

    def set(self, name: str, value: int) -> None:
        """Write a register by name as the host would (access and lock rules apply)."""
        reg = register(name)
        self.write(reg.address, reg.encode(value))

    def configure(self, name: str, value: int) -> None:
        """Set an EEPROM or RAM register as the factory would: no lock, saved to flash."""
        reg = register(name)
        raw = reg.encode(value)
        self._mem[reg.address:reg.address + reg.size] = raw
        if reg.eeprom:
            self._flash[reg.address:reg.address + reg.size] = raw
        self._update_status()

    def saved(self, name: str) -> int:
        """Return the value saved in flash for an EEPROM register."""
        reg = register(name)
        if not reg.eeprom:
            raise ValueError(f'{name} is not an EEPROM register')
        return reg.decode(self._flash[reg.address:reg.address + reg.size])

    def reg_write(self, address: int, data: bytes) -> None:
        """Hold a REG_WRITE until ``action()``."""
        self._pending = (address, bytes(data))
        self._mem[register('Async_Write_Flag').address] = 1

    def action(self) -> None:
        """Apply the pending REG_WRITE, if any."""
        pending, self._pending = self._pending, None
        self._mem[register('Async_Write_Flag').address] = 0
        if pending is not None:
            self.write(*pending)

    # --- power ---------------------------------------------------------------------------

    def power_cycle(self, now: float | None = None) -> None:
        """Switch the servo off and on: EEPROM from flash, RAM to power-up values."""
        if now is not None:
            self._time = float(now)
        ram_start = sts3215.EEPROM_END
        self._mem[:ram_start] = self._flash
        self._mem[ram_start:] = bytes(len(self._mem) - ram_start)
        for reg in sts3215.REGISTERS:
            if reg.area != sts3215.EEPROM and reg.default is not None:
                self._mem[reg.address:reg.address + reg.size] = reg.encode(reg.default)
        self._put('Torque_Limit', self.get('Max_Torque_Limit'))
        self._velocity = 0.0
        self._load = 0.0
        self._pending = None
        self._put('Goal_Position', self.present_position)
        self._update_status()

    def factory_reset(self) -> None:
        """
        Handle a RESET instruction: EEPROM back to factory values, saved.

        ID and Baud_Rate are kept (UNCERTAIN: the manuals do not say what RESET
        restores; keeping them leaves the servo reachable at the same address).
        """
        keep = {name: self.get(name) for name in ('ID', 'Baud_Rate')}
        self._factory_flash()
        for name, value in keep.items():
            reg = register(name)
            self._flash[reg.address:reg.address + reg.size] = reg.encode(value)
        self.power_cycle()

    # --- physics ---------------------------------------------------------------------------

    @property
    def present_position(self) -> int:
        """Present_Position as the servo reports it now."""
        return int(round(self._present_float())) % self.spec.resolution

    @property
    def torque_enabled(self) -> bool:
        """Whether the motor is driven."""
        return self._mem[_TORQUE_ENABLE] == 1

    @property
    def temperature(self) -> float:
        """Return the temperature the sensor reads, degC."""
        return self._temperature if self.forced_temperature is None else self.forced_temperature

    @property
    def status(self) -> int:
        """Return the Status register: the error byte of this servo's status packets."""
        return self._mem[register('Status').address]

    def set_present_position(self, position: float) -> None:
        """Move the output shaft by hand to read ``position`` (e.g. a leader arm)."""
        self._set_present_float(float(position) % self.spec.resolution)
        self._velocity = 0.0
        self._update_feedback()

    def refresh(self) -> None:
        """Re-evaluate the status flags and feedback registers (after changing faults)."""
        self._update_status()

    def advance(self, now: float) -> None:
        """Integrate motion, load and temperature up to ``now``."""
        dt = float(now) - self._time
        if dt <= 0.0:
            return
        self._time = float(now)
        self._heat(dt)
        if self.torque_enabled:
            self._move(dt)
        else:
            self._velocity = 0.0
        self._update_load()
        self._update_status()

    # --- internals -----------------------------------------------------------------------

    def _factory_flash(self) -> None:
        self._flash[:] = bytes(len(self._flash))
        for reg in sts3215.REGISTERS:
            if reg.area == sts3215.EEPROM and reg.default is not None:
                self._flash[reg.address:reg.address + reg.size] = reg.encode(reg.default)
        model = register('Model_Number')
        self._flash[model.address:model.address + model.size] = model.encode(
            self.spec.model_number)

    def _put(self, name: str, value: int) -> None:
        reg = register(name)
        self._mem[reg.address:reg.address + reg.size] = reg.encode(value)

    def _offset(self) -> int:
        return self.get('Homing_Offset')

    def _present_float(self) -> float:
        return (self._angle - self._offset()) % self.spec.resolution

    def _set_present_float(self, present: float) -> None:
        self._angle = (present + self._offset()) % self.spec.resolution

    def _write_torque_enable(self, value: int) -> None:
        if value == 128:
            # Re-centre: choose the offset that makes the present position read 2048.
            offset = int(round(self._angle)) - _MIDDLE
            raw = register('Homing_Offset').encode(max(-2047, min(2047, offset)))
            addr = register('Homing_Offset').address
            self._mem[addr:addr + 2] = raw
            self._flash[addr:addr + 2] = raw
            return
        self._mem[_TORQUE_ENABLE] = value
        if value != 1:
            self._velocity = 0.0

    def _max_speed(self) -> float:
        return self.spec.max_speed

    def _target(self) -> float:
        top = self.spec.resolution - 1
        goal = self.get('Goal_Position')
        low, high = self.get('Min_Position_Limit'), self.get('Max_Position_Limit')
        if 0 <= low < high <= top:
            return float(min(max(goal, low), high))
        return float(min(max(goal, 0), top))

    def _move(self, dt: float) -> None:
        mode = self._mem[register('Operating_Mode').address]
        accel = self._mem[register('Acceleration').address] * 100.0  # 0 = no ramp
        if mode == OperatingMode.POSITION:
            speed = abs(self.get('Goal_Speed'))
            vmax = min(speed, self._max_speed()) if speed else self._max_speed()
            present = self._present_float()
            present, self._velocity = position_step(present, self._target(), self._velocity,
                                                    vmax, accel, dt)
            self._set_present_float(present)
            return
        if mode == OperatingMode.VELOCITY:
            wanted = max(-self._max_speed(), min(self._max_speed(), self.get('Goal_Speed')))
        elif mode == OperatingMode.PWM:
            wanted = self.get('Goal_Time') / 1000.0 * self._max_speed()
        else:
            wanted = 0.0
        end, distance = velocity_step(self._velocity, wanted, accel, dt)
        self._velocity = end
        self._set_present_float((self._present_float() + distance) % self.spec.resolution)

    def _update_load(self) -> None:
        if not self.torque_enabled:
            self._load = 0.0
            return
        # The duty needed to turn at this speed (~30 % at full speed) plus the outside load.
        drive = 300.0 * self._velocity / self.spec.max_speed
        limit = float(self.get('Torque_Limit'))
        self._load = max(-limit, min(limit, drive + self.external_load))

    def _heat(self, dt: float) -> None:
        target = self.ambient_c + self.spec.full_load_rise_c * abs(self._load) / 1000.0
        blend = 1.0 - math.exp(-dt / self.spec.thermal_time_constant_s)
        self._temperature += (target - self._temperature) * blend

    def _update_status(self) -> None:
        status = 0
        if self.temperature > self._mem[register('Max_Temperature_Limit').address]:
            status |= ErrorBit.OVERHEAT
        tenths = round(self.voltage * 10.0)
        if not (self._mem[register('Min_Voltage_Limit').address] <= tenths
                <= self._mem[register('Max_Voltage_Limit').address]):
            status |= ErrorBit.VOLTAGE
        self._mem[register('Status').address] = int(status)
        if status & self._mem[register('Unloading_Condition').address] and self.torque_enabled:
            self._write_torque_enable(0)
            self._load = 0.0
        self._update_feedback()

    def _update_feedback(self) -> None:
        self._put('Present_Position', self.present_position)
        self._put('Present_Speed', int(round(max(-32767, min(32767, self._velocity)))))
        self._put('Present_Load', int(round(max(-1000, min(1000, self._load)))))
        self._put('Present_Voltage', max(0, min(255, round(self.voltage * 10.0))))
        self._put('Present_Temperature', max(0, min(255, round(self.temperature))))
        moving = self.torque_enabled and (abs(self._velocity) > 0.0)
        self._put('Moving', 1 if moving else 0)
        current_ma = 0.0
        if self.torque_enabled:
            current_ma = (self.spec.idle_current_ma
                          + self.spec.stall_current_ma * abs(self._load) / 1000.0)
        self._put('Present_Current', min(65535, round(current_ma / 6.5)))
