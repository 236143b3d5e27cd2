"""
Workspace bounds from where a person took the arm, for any arm on the arm contract; no ROS.

:class:`LimitRecorder` takes joint states (name -> position), keeps every
joint's lowest and highest position and, through forward kinematics
(:class:`hilserl.arm.kinematics.Kinematics`), the lowest and highest TCP
position on each axis.  :meth:`LimitRecorder.bounds` turns the TCP box into
``end_effector_bounds``: ``margin`` metres inside what was reached (a
negative margin grows the box).

The safety filter's parameter file, or the arm's robot file (config/robots/,
:mod:`hilserl.arm.robot_registry`), is read and written here too
(:func:`load_arm_parameters`, :func:`write_bounds`): the arm's description,
TCP and joints come from its ``safety_filter:`` → ``ros__parameters:``
section (a robot file: its ``description``, ``tcp`` and ``arm``), and the
bounds go back into that section (a robot file's ``safety``) with
ruamel.yaml's round trip, so the rest of the file, its order and its
comments stay as they were.  The
joint ranges are written as a comment block above ``end_effector_bounds``
(each line starts with ``find_joint_limits:``; a new run replaces it).
"""

import io
import os

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

#: Where the safety filter's parameters sit in its file.
SECTION = 'safety_filter'
#: Where they sit in a robot file (which has no SECTION).
ROBOT_FILE_SECTION = 'safety'
#: Every comment line this tool writes starts with this, so a later run can replace them.
COMMENT_MARK = 'find_joint_limits:'
#: Parameters the arm's kinematics need, with the defaults of the safety filter node
#: (None: no default, the file must give it). One of the two descriptions is needed.
ARM_KEYS = {'robot_description_path': '', 'robot_description_topic': '', 'tcp_frame': None,
            'arm_joint_names': None, 'tcp_offset': [0.0, 0.0, 0.0], 'tcp_rpy': [0.0, 0.0, 0.0]}
#: Bounds are written in 0.1 mm.
DECIMALS = 4


class JointLimitsError(ValueError):
    """A parameter file, joint state or result that cannot be used."""


class LimitRecorder:
    """Running joint and TCP extremes; see the module docstring."""

    def __init__(self, forward, arm_joint_names):
        """``forward(q)`` returns ``(position (3,), rotation)`` for arm joints ``q``."""
        self._forward = forward
        self.arm_joint_names = list(arm_joint_names)
        self.joint_low: dict = {}
        self.joint_high: dict = {}
        self.tcp_low = None
        self.tcp_high = None
        self.samples = 0

    def add(self, positions: dict) -> bool:
        """Take one joint state (name -> position); return False when it lacks an arm joint."""
        values = {name: float(value) for name, value in positions.items()
                  if np.isfinite(value)}
        if any(name not in values for name in self.arm_joint_names):
            return False
        for name, value in values.items():
            self.joint_low[name] = min(value, self.joint_low.get(name, value))
            self.joint_high[name] = max(value, self.joint_high.get(name, value))
        tcp, _ = self._forward(np.array([values[name] for name in self.arm_joint_names]))
        tcp = np.asarray(tcp, dtype=float)
        self.tcp_low = tcp.copy() if self.tcp_low is None else np.minimum(self.tcp_low, tcp)
        self.tcp_high = tcp.copy() if self.tcp_high is None else np.maximum(self.tcp_high, tcp)
        self.samples += 1
        return True

    def bounds(self, margin: float):
        """Return ``(min, max)`` lists: the TCP box shrunk by ``margin`` m on every side."""
        if self.tcp_low is None:
            raise JointLimitsError('no joint state with every arm joint was received')
        low, high = self.tcp_low + margin, self.tcp_high - margin
        for axis, name in enumerate('xyz'):
            if not low[axis] < high[axis]:
                extent = self.tcp_high[axis] - self.tcp_low[axis]
                raise JointLimitsError(
                    f'the TCP moved only {extent * 1000:.1f} mm along {name}, not more than '
                    f'twice the margin ({margin * 1000:.1f} mm): move it further or lower margin')
        return ([round(float(v), DECIMALS) for v in low],
                [round(float(v), DECIMALS) for v in high])

    def joint_ranges(self) -> dict:
        """Return ``{joint: (low, high)}`` of every joint seen."""
        return {name: (self.joint_low[name], self.joint_high[name]) for name in self.joint_low}

    def report(self) -> str:
        """Return the running extremes as one line."""
        if self.tcp_low is None:
            return 'no joint states yet'
        box = ', '.join(f'{axis} {lo:.3f}..{hi:.3f}' for axis, lo, hi
                        in zip('xyz', self.tcp_low, self.tcp_high))
        joints = ', '.join(f'{name} {lo:.2f}..{hi:.2f}'
                           for name, (lo, hi) in self.joint_ranges().items())
        return f'{self.samples} states; TCP (m) {box}; joints {joints}'


def _yaml() -> YAML:
    yaml = YAML()  # round trip: order, comments and flow style survive
    yaml.width = 4096  # never wrap a flow list
    yaml.preserve_quotes = True
    return yaml


def _is_robot_file(data) -> bool:
    return isinstance(data, dict) and SECTION not in data and ROBOT_FILE_SECTION in data


def _section(data, path: str):
    if _is_robot_file(data):
        section = data[ROBOT_FILE_SECTION]
        if not isinstance(section, dict):
            raise JointLimitsError(f'{path}: {ROBOT_FILE_SECTION} is not a mapping')
        return section
    try:
        section = data[SECTION]['ros__parameters']
    except (KeyError, TypeError):
        raise JointLimitsError(f'{path}: no {SECTION}: → ros__parameters: section') from None
    if not isinstance(section, dict):
        raise JointLimitsError(f'{path}: {SECTION}.ros__parameters is not a mapping')
    return section


def _load(path: str):
    try:
        with open(path) as stream:
            return _yaml().load(stream)
    except OSError as error:
        raise JointLimitsError(f'{path}: cannot read: {error.strerror or error}') from None
    except Exception as error:  # ruamel's parser errors have no common public base
        raise JointLimitsError(f'{path}: not valid YAML: {error}') from None


def load_arm_parameters(path: str) -> dict:
    """Return the ARM_KEYS of the safety filter's section of ``path`` (plain values)."""
    data = _load(path)
    if _is_robot_file(data):
        from hilserl.arm.robot_registry import load_robot, RobotFileError
        try:
            robot = load_robot(os.path.abspath(path))
        except RobotFileError as error:
            raise JointLimitsError(str(error)) from None
        return {'robot_description_path': robot.description.path,
                'robot_description_topic': robot.description.topic,
                'tcp_frame': robot.tcp.frame, 'arm_joint_names': list(robot.arm.joints),
                'tcp_offset': list(robot.tcp.offset), 'tcp_rpy': list(robot.tcp.rpy)}
    section = _section(data, path)
    if not (section.get('robot_description_path') or section.get('robot_description_topic')):
        raise JointLimitsError(f'{path}: {SECTION}.ros__parameters lacks '
                               'robot_description_path (or robot_description_topic)')
    out = {}
    for key, default in ARM_KEYS.items():
        if key not in section and default is None:
            raise JointLimitsError(f'{path}: {SECTION}.ros__parameters lacks {key}')
        value = section.get(key, default)
        out[key] = list(value) if isinstance(value, (list, tuple)) else value
    return out


def _flow(values) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def _drop_marked_comments(section: CommentedMap) -> None:
    """Remove the comment lines an earlier run wrote, wherever the parser attached them."""
    for slots in section.ca.items.values():
        for index, slot in enumerate(slots):
            if isinstance(slot, list):
                slots[index] = [token for token in slot
                                if token is None or COMMENT_MARK not in token.value] or None
            elif slot is not None and COMMENT_MARK in slot.value:
                kept = [line for line in slot.value.split('\n') if COMMENT_MARK not in line]
                slot.value = '\n'.join(kept)


def bounds_comment(joint_ranges: dict) -> str:
    """Return the comment block (without '#') recording the joint ranges."""
    lines = [f'{COMMENT_MARK} joint ranges reached (rad; the gripper in its own units):']
    for name, (low, high) in joint_ranges.items():
        lines.append(f'{COMMENT_MARK}   {name}: [{low:.3f}, {high:.3f}]')
    return '\n'.join(lines)


def write_bounds(path: str, bounds_min, bounds_max, joint_ranges: dict | None = None) -> None:
    """Set ``end_effector_bounds.min/max`` in the filter's (a robot file's safety) section."""
    data = _load(path)
    section = _section(data, path)
    _drop_marked_comments(section)
    bounds = section.get('end_effector_bounds')
    if not isinstance(bounds, dict):
        bounds = CommentedMap()
        section['end_effector_bounds'] = bounds
    bounds['min'] = _flow([float(v) for v in bounds_min])
    bounds['max'] = _flow([float(v) for v in bounds_max])
    if joint_ranges:
        indent = getattr(section.lc, 'col', None) or 4  # the column of the section's keys
        section.yaml_set_comment_before_after_key('end_effector_bounds',
                                                  before=bounds_comment(joint_ranges),
                                                  indent=indent)
    text = io.StringIO()
    _yaml().dump(data, text)
    path = os.path.realpath(path)  # an installed (symlinked) file: write the file itself
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as stream:
        stream.write(text.getvalue())
    if os.path.exists(path):
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)
