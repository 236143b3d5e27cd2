"""
The steps of a guided calibration of an SO100/SO101 arm, without the prompts; no ROS.

1. With torque off, the person puts every joint in the middle of its range.
   :func:`middle_offsets` gives the Homing_Offset that makes that pose read
   2048 (Present_Position = (encoder - Homing_Offset) mod 4096), the
   convention of LeRobot's calibration files, which this driver reads.
2. The person moves every joint through its full range; a
   :class:`RangeRecorder` keeps the lowest and highest reading of each servo,
   already in the frame of the new offsets (so nothing is written to the
   servos before the person has finished).
3. :func:`write_calibration` saves the offsets and the ranges (as
   Min/Max_Position_Limit) to the servos' EEPROM.

``bus`` is an :class:`~.sdk_bus.SdkBus` or anything with the same calls.
"""

from .calibration import (ArmCalibration, GRIPPER_NAMES, JointCalibration, MAX_HOMING_OFFSET,
                          MAX_TICK, RESOLUTION)
from .servo_setup import ADDR, read_checked, write_eeprom

MIDDLE = RESOLUTION // 2
#: Joints that turn all the way round (no end stops): their range is the whole turn.
FULL_TURN_JOINTS = ('wrist_roll',)
#: A joint whose readings span fewer ticks than this was not moved (about 9 degrees).
MIN_RANGE_TICKS = 100


def encoder_of(present: int, homing_offset: int) -> int:
    """Return the encoder reading behind a Present_Position under ``homing_offset``."""
    return (present + homing_offset) % RESOLUTION


def middle_offsets(present, homing_offsets) -> list:
    """
    Return the Homing_Offset of each servo that makes its present pose read 2048.

    ``present`` and ``homing_offsets`` are what the servos report now.  An
    encoder at exactly 0 would need -2048, one more than the register holds;
    it gets -2047 (the pose then reads 2047).
    """
    out = []
    for position, offset in zip(present, homing_offsets):
        wanted = encoder_of(position, offset) - MIDDLE  # -2048..2047
        out.append(max(-MAX_HOMING_OFFSET, min(MAX_HOMING_OFFSET, wanted)))
    return out


class RangeRecorder:
    """Lowest and highest reading of each joint, in the frame of the new offsets."""

    def __init__(self, names, ids, old_offsets, new_offsets):
        """Record for ``names``/``ids``; readings come under ``old_offsets``."""
        self.names = list(names)
        self.ids = list(ids)
        self._shift = [old - new for old, new in zip(old_offsets, new_offsets)]
        self.new_offsets = list(new_offsets)
        self.low = [None] * len(self.ids)
        self.high = [None] * len(self.ids)
        self.last = [None] * len(self.ids)

    def update(self, present_by_id: dict) -> bool:
        """Take readings ``{id: Present_Position}`` (old frame); return whether a bound moved."""
        changed = False
        for index, servo_id in enumerate(self.ids):
            if servo_id not in present_by_id:
                continue
            value = (present_by_id[servo_id] + self._shift[index]) % RESOLUTION
            self.last[index] = value
            if self.low[index] is None or value < self.low[index]:
                self.low[index] = value
                changed = True
            if self.high[index] is None or value > self.high[index]:
                self.high[index] = value
                changed = True
        return changed

    def unmoved(self, full_turn=FULL_TURN_JOINTS, min_range=MIN_RANGE_TICKS) -> list:
        """Return the joints (not full-turn ones) whose readings span less than ``min_range``."""
        return [name for name, low, high in zip(self.names, self.low, self.high)
                if name not in full_turn and (low is None or high - low < min_range)]

    def calibration(self, full_turn=FULL_TURN_JOINTS,
                    gripper_names=GRIPPER_NAMES) -> ArmCalibration:
        """Return the calibration recorded so far (CalibrationError for an unmoved joint)."""
        joints = []
        for index, name in enumerate(self.names):
            low, high = self.low[index], self.high[index]
            if name in full_turn:
                low, high = 0, MAX_TICK
            elif low is None:
                low = high = MIDDLE
            joints.append(JointCalibration(name, self.ids[index], drive_mode=0,
                                           homing_offset=self.new_offsets[index],
                                           range_min=low, range_max=high,
                                           gripper=name in gripper_names))
        return ArmCalibration(joints)

    def table(self) -> list:
        """Return the live table as lines: joint, id, min, now, max (raw ticks)."""
        def cell(value):
            return '-' if value is None else str(value)
        width = max(len('joint'), *(len(name) for name in self.names))
        lines = [f'{"joint":<{width}}  {"id":>3}  {"min":>5}  {"now":>5}  {"max":>5}']
        for index, name in enumerate(self.names):
            lines.append(f'{name:<{width}}  {self.ids[index]:>3}  {cell(self.low[index]):>5}  '
                         f'{cell(self.last[index]):>5}  {cell(self.high[index]):>5}')
        return lines


def read_offsets(bus, ids) -> list:
    """Return the Homing_Offset of every servo (BusError naming a silent one)."""
    return [read_checked(bus, servo_id, 'Homing_Offset') for servo_id in ids]


def sync_read_present(bus, ids) -> dict:
    """Return ``{id: Present_Position}`` of the servos that answered one sync read."""
    got = bus.sync_read(ADDR['Present_Position'], 2, ids)
    return {servo_id: int.from_bytes(data, 'little') & 0x7FFF for servo_id, data in got.items()}


def write_calibration(bus, calibration: ArmCalibration) -> list:
    """Save offsets and position limits to the servos' EEPROM; return the ids written."""
    values = []
    for joint in calibration.joints:
        values += [(joint.id, 'Homing_Offset', joint.homing_offset),
                   (joint.id, 'Min_Position_Limit', joint.range_min),
                   (joint.id, 'Max_Position_Limit', joint.range_max)]
    return write_eeprom(bus, values)
