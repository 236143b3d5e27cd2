"""
Per-joint calibration of an SO100/SO101 arm and unit conversion; no ROS.

Each joint has a servo id, a drive mode (0 = servo direction, 1 = reversed),
the homing offset written to the servo's Homing_Offset register, and the range
``range_min``..``range_max`` of Present_Position (raw ticks 0-4095, homing
offset already applied), as the LeRobot calibration records it.

Units:

* arm joints: radians, ``(raw - middle) * 2 pi / 4096`` with ``middle`` the
  centre of the calibrated range (2048 ticks = pi rad), negated for drive mode 1;
* the gripper: opening 0 (at ``range_min``) to 1 (at ``range_max``), reversed
  for drive mode 1.

Files:

* LeRobot's calibration JSON (``lerobot-calibrate`` writes it under
  ``~/.cache/huggingface/lerobot/calibration/``): one object keyed by motor
  name, each ``{"id", "drive_mode", "homing_offset", "range_min",
  "range_max"}`` (the fields of LeRobot's ``MotorCalibration``).
* Ours: ``{"format": "hilserl_so100_calibration", "version": 1, "joints":
  [{"name", "id", "drive_mode", "homing_offset", "range_min", "range_max",
  "gripper"}, ...], "checksum": "sha256:<hex>"}``, the checksum taken over
  the canonical JSON (sorted keys, no spaces) of everything but itself.

``load_calibration`` reads either; every error names the file and the field.
"""

from dataclasses import asdict, dataclass
import hashlib
import json
import math
import os

RESOLUTION = 4096
MAX_TICK = RESOLUTION - 1
#: Raw ticks per radian of servo rotation.
TICKS_PER_RAD = RESOLUTION / (2.0 * math.pi)
#: Largest homing offset magnitude (sign-magnitude, sign in bit 11).
MAX_HOMING_OFFSET = 2047
FORMAT = 'hilserl_so100_calibration'
VERSION = 1
#: Joint names that are grippers (opening 0-1) unless told otherwise.
GRIPPER_NAMES = ('gripper',)
SO101_JOINTS = ('shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll',
                'gripper')
_FIELDS = ('id', 'drive_mode', 'homing_offset', 'range_min', 'range_max')


class CalibrationError(ValueError):
    """A calibration file or value that cannot be used."""


@dataclass(frozen=True)
class JointCalibration:
    """Calibration of one joint (one servo)."""

    name: str
    id: int
    drive_mode: int = 0
    homing_offset: int = 0
    range_min: int = 0
    range_max: int = MAX_TICK
    gripper: bool = False

    def __post_init__(self):
        """Check every field; raise CalibrationError naming the first bad one."""
        for field_name in _FIELDS:
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise CalibrationError(f'joint {self.name!r} field {field_name!r}: '
                                       f'expected an integer, got {value!r}')
        checks = (
            ('id', 0 <= self.id <= 253, 'must be 0-253'),
            ('drive_mode', self.drive_mode in (0, 1), 'must be 0 or 1'),
            ('homing_offset', abs(self.homing_offset) <= MAX_HOMING_OFFSET,
             f'must be within +-{MAX_HOMING_OFFSET}'),
            ('range_min', 0 <= self.range_min <= MAX_TICK, f'must be 0-{MAX_TICK}'),
            ('range_max', 0 <= self.range_max <= MAX_TICK, f'must be 0-{MAX_TICK}'),
            ('range_max', self.range_max > self.range_min, 'must be greater than range_min'),
        )
        for field_name, good, why in checks:
            if not good:
                raise CalibrationError(f'joint {self.name!r} field {field_name!r} = '
                                       f'{getattr(self, field_name)} {why}')

    @property
    def middle(self) -> float:
        """Return the centre of the calibrated range, raw ticks."""
        return (self.range_min + self.range_max) / 2.0

    @property
    def sign(self) -> int:
        """Return +1 for drive mode 0 and -1 for drive mode 1."""
        return -1 if self.drive_mode else 1

    def clamp_raw(self, raw: float) -> float:
        """Return ``raw`` limited to the calibrated range."""
        return min(max(raw, float(self.range_min)), float(self.range_max))

    def to_position(self, raw: float) -> float:
        """Return the joint position (rad, or gripper opening 0-1) of a raw reading."""
        if self.gripper:
            opening = (raw - self.range_min) / (self.range_max - self.range_min)
            return 1.0 - opening if self.drive_mode else opening
        return self.sign * (raw - self.middle) / TICKS_PER_RAD

    def to_raw(self, position: float) -> float:
        """Return the raw ticks (float, not clamped) of a joint position."""
        if self.gripper:
            opening = 1.0 - position if self.drive_mode else position
            return self.range_min + opening * (self.range_max - self.range_min)
        return self.middle + self.sign * position * TICKS_PER_RAD


class ArmCalibration:
    """Calibrations of every joint of an arm, in joint order."""

    def __init__(self, joints):
        """Check names and ids are distinct."""
        self.joints = tuple(joints)
        if not self.joints:
            raise CalibrationError('a calibration needs at least one joint')
        for what, values in (('name', self.names), ('id', self.ids)):
            duplicates = sorted({v for v in values if values.count(v) > 1}, key=str)
            if duplicates:
                raise CalibrationError(f'duplicate joint {what}s: {duplicates}')

    @classmethod
    def default(cls, names=SO101_JOINTS, ids=None, gripper_names=GRIPPER_NAMES):
        """Return an uncalibrated arm: full range, no offset, ids 1..n unless given."""
        names = list(names)
        ids = list(ids) if ids is not None else list(range(1, len(names) + 1))
        if len(ids) != len(names):
            raise CalibrationError(f'{len(ids)} ids for {len(names)} joint names')
        return cls(JointCalibration(name, int(i), gripper=name in gripper_names)
                   for name, i in zip(names, ids))

    @property
    def names(self) -> list:
        """Return the joint names in order."""
        return [joint.name for joint in self.joints]

    @property
    def ids(self) -> list:
        """Return the servo ids in joint order."""
        return [joint.id for joint in self.joints]

    def joint(self, name: str) -> JointCalibration:
        """Return the calibration of the joint called ``name``."""
        for joint in self.joints:
            if joint.name == name:
                return joint
        raise KeyError(name)

    def select(self, names) -> 'ArmCalibration':
        """Return the calibration of ``names`` in that order; error for a missing one."""
        have = {joint.name: joint for joint in self.joints}
        missing = [name for name in names if name not in have]
        if missing:
            raise CalibrationError(f'no calibration for joints {missing}; the file has '
                                   f'{sorted(have)}')
        return ArmCalibration(have[name] for name in names)

    def to_positions(self, raws) -> list:
        """Return joint positions of raw readings in joint order."""
        return [joint.to_position(raw) for joint, raw in zip(self.joints, raws)]

    def to_raws(self, positions) -> list:
        """Return raw ticks (clamped to the ranges) of joint positions in joint order."""
        return [joint.clamp_raw(joint.to_raw(p)) for joint, p in zip(self.joints, positions)]

    def to_dict(self) -> dict:
        """Return our file format as a dict, checksum included."""
        data = {'format': FORMAT, 'version': VERSION,
                'joints': [asdict(joint) for joint in self.joints]}
        data['checksum'] = _checksum(data)
        return data

    def to_lerobot_dict(self) -> dict:
        """Return LeRobot's calibration format as a dict."""
        return {joint.name: {field_name: getattr(joint, field_name) for field_name in _FIELDS}
                for joint in self.joints}

    def __eq__(self, other):
        """Compare joint by joint."""
        return isinstance(other, ArmCalibration) and self.joints == other.joints

    def __repr__(self):
        """Show the joints."""
        return f'ArmCalibration({list(self.joints)!r})'


def _checksum(data: dict) -> str:
    body = {key: value for key, value in data.items() if key != 'checksum'}
    text = json.dumps(body, sort_keys=True, separators=(',', ':'))
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


def save_calibration(calibration: ArmCalibration, path: str) -> None:
    """Write ``calibration`` in our format (atomically: a temporary file, then rename)."""
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as stream:
        json.dump(calibration.to_dict(), stream, indent=2)
        stream.write('\n')
    os.replace(tmp, path)


def save_lerobot_calibration(calibration: ArmCalibration, path: str) -> None:
    """Write ``calibration`` in LeRobot's format."""
    with open(path, 'w') as stream:
        json.dump(calibration.to_lerobot_dict(), stream, indent=4)
        stream.write('\n')


def _joint(path, where, name, entry, gripper_names, gripper=None):
    if not isinstance(entry, dict):
        raise CalibrationError(f'{path}: {where}: expected an object, got {type(entry).__name__}')
    missing = [f for f in _FIELDS if f not in entry]
    if missing:
        raise CalibrationError(f'{path}: {where}: missing field {missing[0]!r}')
    if gripper is None:
        gripper = name in gripper_names
    try:
        return JointCalibration(name=name, gripper=gripper,
                                **{f: entry[f] for f in _FIELDS})
    except CalibrationError as error:
        raise CalibrationError(f'{path}: {error}') from None


def parse_calibration(data, path: str = '<calibration>',
                      gripper_names=GRIPPER_NAMES) -> ArmCalibration:
    """Return the calibration in ``data`` (ours or LeRobot's, already JSON-decoded)."""
    if not isinstance(data, dict) or not data:
        raise CalibrationError(f'{path}: expected a JSON object with joints')
    try:
        if 'format' in data:
            return _parse_ours(data, path, gripper_names)
        return ArmCalibration(_joint(path, f'motor {name!r}', name, entry, gripper_names)
                              for name, entry in data.items())
    except CalibrationError as error:
        message = str(error)
        raise CalibrationError(message if message.startswith(path) else f'{path}: {message}')


def _parse_ours(data, path, gripper_names):
    if data['format'] != FORMAT:
        raise CalibrationError(f'{path}: field "format" is {data["format"]!r}, '
                               f'expected {FORMAT!r}')
    if data.get('version') != VERSION:
        raise CalibrationError(f'{path}: field "version" is {data.get("version")!r}; this '
                               f'driver reads version {VERSION}')
    if 'checksum' not in data:
        raise CalibrationError(f'{path}: missing field "checksum"')
    if data['checksum'] != _checksum(data):
        raise CalibrationError(f'{path}: field "checksum" does not match the contents '
                               '(edited by hand? re-save it with save_calibration)')
    joints = data.get('joints')
    if not isinstance(joints, list):
        raise CalibrationError(f'{path}: field "joints" must be a list')
    out = []
    for index, entry in enumerate(joints):
        where = f'joints[{index}]'
        if not isinstance(entry, dict) or not isinstance(entry.get('name'), str):
            raise CalibrationError(f'{path}: {where}: field "name" must be a string')
        gripper = entry.get('gripper')
        if gripper is not None and not isinstance(gripper, bool):
            raise CalibrationError(f'{path}: {where}: field "gripper" must be true or false')
        out.append(_joint(path, where, entry['name'], entry, gripper_names, gripper))
    return ArmCalibration(out)


def load_calibration(path: str, gripper_names=GRIPPER_NAMES) -> ArmCalibration:
    """Read our calibration file or LeRobot's (detected by the "format" field)."""
    try:
        with open(path) as stream:
            data = json.load(stream)
    except OSError as error:
        raise CalibrationError(f'{path}: cannot read: {error.strerror or error}') from None
    except json.JSONDecodeError as error:
        raise CalibrationError(f'{path}: not valid JSON: {error}') from None
    return parse_calibration(data, path, gripper_names)
