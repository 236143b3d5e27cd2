"""
Control table of the Feetech STS3215 serial-bus servo, as plain data.

Every register is described once: address, size in bytes, access, memory area
(EEPROM, RAM or factory), factory default, and the sign bit for the registers
that use sign-magnitude encoding.  Multi-byte values are little-endian (the
SDK's ``PacketHandler(0)``; the STS series stores low byte first).

Sources cross-checked (no code copied):

* the Feetech STS/SMS memory table (register dump with descriptions published
  next to Feetech's SCServo C++ library, and an English transcription of the
  STS manual), which gives addresses, units and most factory values;
* LeRobot's ``STS_SMS_SERIES_CONTROL_TABLE`` (the addresses the brief quotes);
* Feetech's ``SMS_STS.h`` register defines and the Python SDK
  (``scservo_sdk`` 1.0.0), whose ``ping`` reads the model number at address 3.

Every address in the brief agrees with all of those.  Points that are NOT
settled by the sources are marked ``UNCERTAIN`` below.
"""

from dataclasses import dataclass
import enum

EEPROM = 'EEPROM'
RAM = 'RAM'
FACTORY = 'FACTORY'

READ_ONLY = 'R'
READ_WRITE = 'RW'

#: Bytes of register memory the emulator keeps; the documented table ends at 86,
#: reads past the table return zeros (UNCERTAIN: the real firmware's answer).
MEMORY_SIZE = 256
#: Addresses below this are EEPROM (saved in flash); 40 and up are RAM.
EEPROM_END = 40
#: Steps per revolution of the 12-bit magnetic encoder.
RESOLUTION = 4096


class ErrorBit(enum.IntFlag):
    """
    Bits of the status-packet error byte and of the Status register (65).

    The SDK's names: ERRBIT_VOLTAGE 1, ERRBIT_ANGLE 2 (the encoder / sensor),
    ERRBIT_OVERHEAT 4, ERRBIT_OVERELE 8 (over-current), ERRBIT_OVERLOAD 32.
    Bit 4 is called "angle" in one Feetech table and "reserved" in another
    (UNCERTAIN); the emulator never raises it.
    """

    VOLTAGE = 0x01
    SENSOR = 0x02
    OVERHEAT = 0x04
    OVERCURRENT = 0x08
    ANGLE = 0x10
    OVERLOAD = 0x20


class OperatingMode(enum.IntEnum):
    """Values of Operating_Mode (33)."""

    POSITION = 0
    VELOCITY = 1  # constant speed from Goal_Speed, sign in bit 15
    PWM = 2       # open-loop duty from Goal_Time, sign in bit 10
    STEP = 3      # relative steps from Goal_Position, sign in bit 15


#: Baud_Rate (6) index to bits per second, from Feetech's SMS_STS.h and memory table.
#: UNCERTAIN: LeRobot's table maps 5/6/7 to 57600/38400/19200 instead of
#: 76800/57600/38400; 0 to 4 agree everywhere (the SO100 uses 0 = 1 Mbps).
BAUD_RATES = {
    0: 1_000_000,
    1: 500_000,
    2: 250_000,
    3: 128_000,
    4: 115_200,
    5: 76_800,
    6: 57_600,
    7: 38_400,
}


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    """Return the raw register value for ``value`` with its sign in ``sign_bit``."""
    magnitude = abs(int(value))
    if magnitude >= (1 << sign_bit):
        raise ValueError(f'{value} does not fit a sign-magnitude value with sign bit {sign_bit}')
    return magnitude | (1 << sign_bit) if value < 0 else magnitude


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    """Return the signed value of a raw register with its sign in ``sign_bit``."""
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude


@dataclass(frozen=True)
class Register:
    """One entry of the control table."""

    name: str
    address: int
    size: int
    access: str
    area: str
    default: int | None = None  # None: computed by the servo (feedback) or unknown
    sign_bit: int | None = None
    unit: str = ''
    note: str = ''

    @property
    def writable(self) -> bool:
        """Whether the host may write this register."""
        return self.access == READ_WRITE

    @property
    def eeprom(self) -> bool:
        """Whether the register lives in EEPROM (affected by Lock)."""
        return self.area == EEPROM

    @property
    def addresses(self) -> range:
        """Return the byte addresses the register spans."""
        return range(self.address, self.address + self.size)

    def to_raw(self, value: int) -> int:
        """Return the unsigned raw value for a signed (or plain) value, range-checked."""
        raw = (encode_sign_magnitude(value, self.sign_bit)
               if self.sign_bit is not None else int(value))
        if not 0 <= raw < (1 << (8 * self.size)):
            raise ValueError(f'{self.name}: {value} out of range for {self.size} byte(s)')
        return raw

    def from_raw(self, raw: int) -> int:
        """Return the signed (or plain) value of a raw register value."""
        return decode_sign_magnitude(raw, self.sign_bit) if self.sign_bit is not None else raw

    def encode(self, value: int) -> bytes:
        """Return the little-endian bytes written to the servo for ``value``."""
        return self.to_raw(value).to_bytes(self.size, 'little')

    def decode(self, data: bytes) -> int:
        """Return the value of the little-endian register bytes ``data``."""
        if len(data) != self.size:
            raise ValueError(f'{self.name}: expected {self.size} byte(s), got {len(data)}')
        return self.from_raw(int.from_bytes(bytes(data), 'little'))


def _r(name, address, size, access, area, default=None, sign_bit=None, unit='', note=''):
    return Register(name, address, size, access, area, default, sign_bit, unit, note)


R, RW = READ_ONLY, READ_WRITE

#: The STS3215 control table.  Defaults are the factory values of a new servo
#: where the sources give them; None marks values the servo computes.
REGISTERS = (
    # --- EEPROM, read-only: versions and model -------------------------------------
    _r('Firmware_Major_Version', 0, 1, R, EEPROM, 3, note='UNCERTAIN: varies by batch'),
    _r('Firmware_Minor_Version', 1, 1, R, EEPROM, 7, note='UNCERTAIN: varies by batch'),
    _r('Endianness', 2, 1, R, EEPROM, 0,
       note='0 = little-endian; named only in one transcription of the manual'),
    # The SDK's ping reads 2 bytes at 3: "servo main version" (low) and
    # "sub version" (high) form the model number, 777 = 0x0309 for the STS3215.
    _r('Model_Number', 3, 2, R, EEPROM, 777),
    # --- EEPROM, read-write ------------------------------------------------------------
    _r('ID', 5, 1, RW, EEPROM, 1, note='0-253; 254 (0xFE) is broadcast'),
    _r('Baud_Rate', 6, 1, RW, EEPROM, 0, note='index into BAUD_RATES'),
    _r('Return_Delay_Time', 7, 1, RW, EEPROM, 0, unit='2 us',
       note='UNCERTAIN: LeRobot says factory 250 (500 us), one manual says it has no '
            'effect on the STS series; the emulator stores it but does not delay'),
    _r('Response_Status_Level', 8, 1, RW, EEPROM, 1,
       note='0: reply to READ and PING only; 1: reply to every non-broadcast instruction'),
    _r('Min_Position_Limit', 9, 2, RW, EEPROM, 0, unit='step'),
    _r('Max_Position_Limit', 11, 2, RW, EEPROM, 4095, unit='step'),
    _r('Max_Temperature_Limit', 13, 1, RW, EEPROM, 70, unit='degC'),
    _r('Max_Voltage_Limit', 14, 1, RW, EEPROM, 80, unit='0.1 V',
       note='80 on the 7.4 V STS3215 (C001); the 12 V versions ship higher'),
    _r('Min_Voltage_Limit', 15, 1, RW, EEPROM, 40, unit='0.1 V'),
    _r('Max_Torque_Limit', 16, 2, RW, EEPROM, 1000, unit='0.1 %',
       note='copied into Torque_Limit (48) at power-up'),
    _r('Phase', 18, 1, RW, EEPROM, 12, note='special function bits; do not change'),
    _r('Unloading_Condition', 19, 1, RW, EEPROM, 44,
       note='ErrorBit mask whose errors release torque (44 = overheat, current, overload)'),
    _r('LED_Alarm_Condition', 20, 1, RW, EEPROM, 47, note='ErrorBit mask that blinks the LED'),
    _r('P_Coefficient', 21, 1, RW, EEPROM, 32),
    _r('D_Coefficient', 22, 1, RW, EEPROM, 32),
    _r('I_Coefficient', 23, 1, RW, EEPROM, 0),
    _r('Minimum_Startup_Force', 24, 2, RW, EEPROM, 16, unit='0.1 %'),
    _r('CW_Dead_Zone', 26, 1, RW, EEPROM, 1, unit='step'),
    _r('CCW_Dead_Zone', 27, 1, RW, EEPROM, 1, unit='step'),
    _r('Protection_Current', 28, 2, RW, EEPROM, 500, unit='6.5 mA'),
    _r('Angular_Resolution', 30, 1, RW, EEPROM, 1),
    # Present_Position = (encoder - Homing_Offset) mod 4096, per LeRobot's
    # calibration code ("Present_Position = Actual_Position - Homing_Offset").
    _r('Homing_Offset', 31, 2, RW, EEPROM, 0, sign_bit=11, unit='step',
       note='-2047..2047, sign in bit 11'),
    _r('Operating_Mode', 33, 1, RW, EEPROM, 0, note='OperatingMode'),
    _r('Protective_Torque', 34, 1, RW, EEPROM, 20, unit='1 %'),
    _r('Protection_Time', 35, 1, RW, EEPROM, 200, unit='10 ms'),
    _r('Overload_Torque', 36, 1, RW, EEPROM, 80, unit='1 %'),
    _r('Velocity_P_Coefficient', 37, 1, RW, EEPROM, 10),
    _r('Over_Current_Protection_Time', 38, 1, RW, EEPROM, 200, unit='10 ms'),
    _r('Velocity_I_Coefficient', 39, 1, RW, EEPROM, 10),
    # --- RAM -----------------------------------------------------------------------------
    _r('Torque_Enable', 40, 1, RW, RAM, 0,
       note='0 off, 1 on, 128 = make the present position read 2048 (sets Homing_Offset); '
            'one manual also lists 2 = damping (treated as off)'),
    _r('Acceleration', 41, 1, RW, RAM, 0, unit='100 step/s^2', note='0 = no ramp'),
    _r('Goal_Position', 42, 2, RW, RAM, None, sign_bit=15, unit='step',
       note='sign only meaningful in step mode; initialised to the present position'),
    _r('Goal_Time', 44, 2, RW, RAM, 0, sign_bit=10,
       note='PWM duty in PWM mode (0.1 %, sign bit 10); UNCERTAIN elsewhere, ignored'),
    _r('Goal_Speed', 46, 2, RW, RAM, 0, sign_bit=15, unit='step/s',
       note='0 = the maximum speed in position mode'),
    _r('Torque_Limit', 48, 2, RW, RAM, 1000, unit='0.1 %'),
    _r('Lock', 55, 1, RW, RAM, 1,
       note='1: EEPROM writes take effect but are not saved to flash; 0: saved'),
    _r('Present_Position', 56, 2, R, RAM, None, sign_bit=15, unit='step'),
    _r('Present_Speed', 58, 2, R, RAM, None, sign_bit=15, unit='step/s'),
    _r('Present_Load', 60, 2, R, RAM, None, sign_bit=10, unit='0.1 %',
       note='drive duty cycle, sign (direction) in bit 10'),
    _r('Present_Voltage', 62, 1, R, RAM, None, unit='0.1 V'),
    _r('Present_Temperature', 63, 1, R, RAM, None, unit='degC'),
    _r('Async_Write_Flag', 64, 1, R, RAM, 0, note='1 while a REG_WRITE waits for ACTION'),
    _r('Status', 65, 1, R, RAM, 0, note='ErrorBit flags'),
    _r('Moving', 66, 1, R, RAM, 0),
    _r('Present_Current', 69, 2, R, RAM, None, unit='6.5 mA'),
    # --- factory area ------------------------------------------------------------------
    # Listed by LeRobot (which writes Maximum_Acceleration); one manual marks them
    # read-only.  UNCERTAIN: their factory values; stored, not simulated.
    _r('Moving_Velocity_Threshold', 80, 1, RW, FACTORY, 0),
    _r('DTs', 81, 1, RW, FACTORY, 0, unit='ms'),
    _r('Velocity_Unit_Factor', 82, 1, RW, FACTORY, 0),
    _r('Hts', 83, 1, RW, FACTORY, 0, unit='ns'),
    _r('Maximum_Velocity_Limit', 84, 1, RW, FACTORY, 0, unit='50 step/s'),
    _r('Maximum_Acceleration', 85, 1, RW, FACTORY, 0),
    _r('Acceleration_Multiplier', 86, 1, RW, FACTORY, 0),
)

#: Register by name.
BY_NAME = {reg.name: reg for reg in REGISTERS}
#: Other spellings in use (LeRobot's names) mapped to the names above.
ALIASES = {
    'Goal_Velocity': 'Goal_Speed',
    'Present_Velocity': 'Present_Speed',
    'Velocity_closed_loop_P_proportional_coefficient': 'Velocity_P_Coefficient',
    'Velocity_closed_loop_I_integral_coefficient': 'Velocity_I_Coefficient',
    'Velocity_Unit_factor': 'Velocity_Unit_Factor',
    'Maximum_Velocity': 'Maximum_Velocity_Limit',
}
#: Register by its first byte address.
BY_ADDRESS = {reg.address: reg for reg in REGISTERS}
#: Register covering each byte address.
_BYTE_OWNER = {addr: reg for reg in REGISTERS for addr in reg.addresses}


def register(name: str) -> Register:
    """Return the register called ``name`` (or one of its ALIASES); KeyError if unknown."""
    return BY_NAME[ALIASES.get(name, name)]


def register_at(address: int) -> Register | None:
    """Return the register that contains byte ``address``, or None for a gap."""
    return _BYTE_OWNER.get(address)


@dataclass(frozen=True)
class ServoSpec:
    """Physical figures of one servo model used by the motion and thermal model."""

    name: str
    model_number: int
    resolution: int = RESOLUTION
    #: No-load speed at nominal voltage, steps per second.  STS3215 (7.4 V):
    #: 0.222 s / 60 deg = 270 deg/s = 3072 step/s.
    max_speed: float = 3072.0
    #: Stall current at nominal voltage, mA (UNCERTAIN: ~2.7 A is the figure sellers quote).
    stall_current_ma: float = 2700.0
    #: Current drawn with torque on and no load, mA.
    idle_current_ma: float = 40.0
    nominal_voltage: float = 7.4
    #: Temperature rise at 100 % continuous load above ambient, degC, and the thermal
    #: time constant, s (a first-order model, not a datasheet figure).
    full_load_rise_c: float = 60.0
    thermal_time_constant_s: float = 120.0


#: Supported models by name.
MODELS = {
    'sts3215': ServoSpec(name='sts3215', model_number=777),
}
