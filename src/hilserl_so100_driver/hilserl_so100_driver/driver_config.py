"""
Settings of the driver's control loop and what it knows about each servo; no ROS.

``DriverConfig`` refuses values the loop cannot work with; ``ServoHealth``
turns a servo's failures and Status bits into OK / WARN / ERROR (the levels
of ``/diagnostics``).  The fault policy that acts on them is in
:mod:`hilserl_so100_driver.driver_core`.
"""

from dataclasses import dataclass, field

from . import sts3215

ON_FAULT = ('hold', 'torque_off')
ON_SHUTDOWN = ('hold', 'torque_off')
OK, WARN, ERROR = 0, 1, 2
LEVEL_NAMES = {OK: 'OK', WARN: 'WARN', ERROR: 'ERROR'}
#: Status bits that make a servo ERROR (the servo's protection may release torque).
SEVERE_BITS = (sts3215.ErrorBit.OVERHEAT | sts3215.ErrorBit.OVERCURRENT
               | sts3215.ErrorBit.OVERLOAD)


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
