"""
Turn end-effector commands into joint targets that stay safe; no ROS.

HIL-SERL acts in end-effector space: the policy or the human asks for a small
TCP move (each axis in [-1, 1], scaled by ``end_effector_step_sizes``) and a
gripper command. This module guarantees, whatever the command stream:

- the commanded TCP target stays inside ``end_effector_bounds``;
- joint targets stay inside the joint limits;
- no joint target moves more than ``max_joint_step`` per tick;
- NaN, infinite, out-of-range or wrongly sized commands are rejected and counted;
- without a command for ``command_timeout_s`` the arm holds its position.

The node calls :meth:`SafetyFilter.command` when a command arrives and
:meth:`SafetyFilter.tick` at its control rate.
"""

from dataclasses import dataclass, field
import enum
from typing import Optional, Sequence

import numpy as np

from hilserl.arm.kinematics import Kinematics


class Gripper(enum.IntEnum):
    """Discrete gripper commands, in the grasp critic's action order."""

    CLOSE = 0
    STAY = 1
    OPEN = 2


@dataclass
class SafetyConfig:
    """Limits of the safety filter; every length in metres, angle in radians."""

    bounds_min: np.ndarray
    bounds_max: np.ndarray
    end_effector_step_sizes: np.ndarray = field(
        default_factory=lambda: np.array([0.02, 0.02, 0.02]))
    rotation_step_size: float = 0.1
    # Which TCP orientation IK holds while moving: 'initial' (as at start or reset),
    # 'down' (TCP z axis, the approach direction, straight down; yaw as at start) or
    # 'free' (position only). Rotation commands turn the held orientation.
    hold_orientation: str = 'initial'
    # Share of the orientation error each IK iteration corrects, in (0, 1]; the
    # commanded position always comes first (hilserl.arm.kinematics).
    orientation_weight: float = 0.5
    max_joint_step: float = 0.05
    gripper_open: float = 1.0
    gripper_closed: float = 0.0
    max_gripper_step: float = 0.2
    command_timeout_s: float = 0.5
    # Moves are relative to the previous TCP target while the arm tracks it within this
    # distance, and relative to the measured TCP once it lags further (blocked, pushed).
    reanchor_distance: float = 0.05
    # Accept components up to this far outside [-1, 1] (float noise), then clip.
    command_tolerance: float = 1e-3

    def __post_init__(self):
        """Check shapes and ordering so a bad parameter file fails at start-up."""
        self.bounds_min = np.asarray(self.bounds_min, dtype=float)
        self.bounds_max = np.asarray(self.bounds_max, dtype=float)
        self.end_effector_step_sizes = np.asarray(self.end_effector_step_sizes, dtype=float)
        for name in ('bounds_min', 'bounds_max', 'end_effector_step_sizes'):
            value = getattr(self, name)
            if value.shape != (3,) or not np.all(np.isfinite(value)):
                raise ValueError(f'{name} must be 3 finite numbers, got {value.tolist()}')
        if np.any(self.bounds_min >= self.bounds_max):
            raise ValueError(f'end_effector_bounds min {self.bounds_min.tolist()} must be '
                             f'below max {self.bounds_max.tolist()} on every axis')
        if self.hold_orientation not in ('initial', 'down', 'free'):
            raise ValueError(f"hold_orientation must be 'initial', 'down' or 'free', got "
                             f"'{self.hold_orientation}'")
        if not 0 < self.orientation_weight <= 1:
            raise ValueError('orientation_weight must be in (0, 1], got '
                             f'{self.orientation_weight}')
        if np.any(self.end_effector_step_sizes <= 0):
            raise ValueError('end_effector_step_sizes must be positive')
        for name in ('max_joint_step', 'max_gripper_step', 'command_timeout_s',
                     'rotation_step_size', 'reanchor_distance'):
            if not getattr(self, name) > 0:
                raise ValueError(f'{name} must be positive, got {getattr(self, name)}')


@dataclass
class Command:
    """A validated end-effector command."""

    delta_xyz: np.ndarray
    gripper: Gripper
    delta_rotation: Optional[np.ndarray] = None


def validate_command(delta_xyz: Sequence[float], gripper: int,
                     delta_rotation: Optional[Sequence[float]],
                     tolerance: float) -> Command:
    """Return the command, clipped to [-1, 1], or raise ValueError saying what is wrong."""
    delta = np.asarray(delta_xyz, dtype=float)
    if delta.shape != (3,):
        raise ValueError(f'delta_xyz must have 3 values, got {delta.size}')
    if not np.all(np.isfinite(delta)):
        raise ValueError(f'delta_xyz is not finite: {delta.tolist()}')
    if np.any(np.abs(delta) > 1.0 + tolerance):
        raise ValueError(f'delta_xyz must be within [-1, 1], got {delta.tolist()}')
    try:
        gripper = Gripper(int(gripper))
    except ValueError:
        raise ValueError(f'gripper must be 0 (close), 1 (stay) or 2 (open), got {gripper}')
    rotation = None
    if delta_rotation is not None:
        rotation = np.asarray(delta_rotation, dtype=float)
        if rotation.shape != (3,) or not np.all(np.isfinite(rotation)):
            raise ValueError(f'delta_rotation must be 3 finite values, got {rotation.tolist()}')
        if np.any(np.abs(rotation) > 1.0 + tolerance):
            raise ValueError(f'delta_rotation must be within [-1, 1], got {rotation.tolist()}')
        rotation = np.clip(rotation, -1.0, 1.0)
    return Command(np.clip(delta, -1.0, 1.0), gripper, rotation)


def pointing_down(rotation: np.ndarray) -> np.ndarray:
    """Return the rotation with its z axis straight down and its x axis nearest ``rotation``'s."""
    z_axis = np.array([0.0, 0.0, -1.0])
    x_axis = rotation[:, 0] - (rotation[:, 0] @ z_axis) * z_axis
    if np.linalg.norm(x_axis) < 1e-6:  # x was vertical: fall back on y for the yaw
        x_axis = np.cross(rotation[:, 1], z_axis)
    x_axis /= np.linalg.norm(x_axis)
    return np.column_stack([x_axis, np.cross(z_axis, x_axis), z_axis])


def rotation_from_rpy(rpy: np.ndarray) -> np.ndarray:
    """Return the rotation matrix of roll, pitch, yaw about fixed x, y, z axes."""
    roll, pitch, yaw = rpy
    cr, sr, cp, sp, cy, sy = (np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch),
                              np.cos(yaw), np.sin(yaw))
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


class SafetyFilter:
    """Stateful filter from end-effector commands to rate-limited joint targets."""

    def __init__(self, kinematics: Kinematics, config: SafetyConfig,
                 initial_arm_q: np.ndarray, initial_gripper: float,
                 rest_q: Optional[np.ndarray] = None):
        """Start holding ``initial_arm_q`` (clipped to the joint limits)."""
        self.kinematics = kinematics
        self.config = config
        self.rest_q = None if rest_q is None else np.asarray(rest_q, dtype=float)
        q = np.clip(np.asarray(initial_arm_q, dtype=float), kinematics.lower, kinematics.upper)
        self.arm_target = q.copy()       # what the arm is sent this tick
        self.arm_goal = q.copy()         # where the IK says it should end up
        gripper_low = min(config.gripper_open, config.gripper_closed)
        gripper_high = max(config.gripper_open, config.gripper_closed)
        self._gripper_range = (gripper_low, gripper_high)
        self.gripper_target = float(np.clip(initial_gripper, gripper_low, gripper_high))
        self.gripper_goal = self.gripper_target
        self.tcp_target: Optional[np.ndarray] = None
        self.rotation_target = self._held_rotation(q)
        self.last_command_time: Optional[float] = None
        self.rejected = 0
        self.accepted = 0
        self.ik_refused = 0
        self.holding = True

    def command(self, delta_xyz, gripper, measured_arm_q, now: float,
                delta_rotation=None) -> Optional[str]:
        """
        Take a command; return None if accepted, else the reason it was rejected.

        The move starts from the previous TCP target while the measured TCP is
        within ``reanchor_distance`` of it: a position servo that sags under
        gravity would otherwise drift a little lower with every zero command.
        Further away (the arm is blocked or was pushed) it starts from the
        measured TCP, so no target winds up far from where the arm really is.
        """
        try:
            cmd = validate_command(delta_xyz, gripper, delta_rotation,
                                   self.config.command_tolerance)
            measured = np.asarray(measured_arm_q, dtype=float)
            if measured.shape != self.arm_target.shape or not np.all(np.isfinite(measured)):
                raise ValueError(f'measured joint positions are unusable: {measured.tolist()}')
        except ValueError as error:
            self.rejected += 1
            return str(error)
        position, rotation = self.kinematics.forward(measured)
        reference = position
        if (self.tcp_target is not None and np.linalg.norm(position - self.tcp_target)
                <= self.config.reanchor_distance):
            reference = self.tcp_target
        target = reference + cmd.delta_xyz * self.config.end_effector_step_sizes
        self.tcp_target = np.clip(target, self.config.bounds_min, self.config.bounds_max)
        if cmd.delta_rotation is not None and np.any(cmd.delta_rotation):
            self.rotation_target = rotation_from_rpy(
                cmd.delta_rotation * self.config.rotation_step_size) @ self.rotation_target
        free = self.config.hold_orientation == 'free' and cmd.delta_rotation is None
        # A local solve: small moves stay on the arm's current branch, never jump across.
        result = self.kinematics.solve_from(
            self.tcp_target, measured, q_rest=self.rest_q,
            rotation_weight=self.config.orientation_weight,
            target_rotation=None if free else self.rotation_target)
        # IK that ends at a joint limit can land far from the target (a folded posture);
        # a goal worse than the current one is not taken: the arm stays on course.
        reached, _ = self.kinematics.forward(result.q)
        current, _ = self.kinematics.forward(self.arm_goal)
        if (np.linalg.norm(reached - self.tcp_target)
                <= np.linalg.norm(current - self.tcp_target) + 1e-4):
            self.arm_goal = result.q  # within joint limits by construction
        else:
            self.ik_refused += 1
        if cmd.gripper == Gripper.OPEN:
            self.gripper_goal = self.config.gripper_open
        elif cmd.gripper == Gripper.CLOSE:
            self.gripper_goal = self.config.gripper_closed
        self.last_command_time = now
        self.accepted += 1
        self.holding = False
        return None

    def tick(self, now: float):
        """Advance the targets one control tick; return ``(arm_target, gripper_target)``."""
        stale = (self.last_command_time is None
                 or now - self.last_command_time > self.config.command_timeout_s)
        if stale and not self.holding:
            # No fresh command: stop where the arm is being sent now, do not finish the move.
            self.arm_goal = self.arm_target.copy()
            self.gripper_goal = self.gripper_target
            self.holding = True
        step = np.clip(self.arm_goal - self.arm_target,
                       -self.config.max_joint_step, self.config.max_joint_step)
        self.arm_target = np.clip(self.arm_target + step, self.kinematics.lower,
                                  self.kinematics.upper)
        gripper_step = np.clip(self.gripper_goal - self.gripper_target,
                               -self.config.max_gripper_step, self.config.max_gripper_step)
        self.gripper_target = float(np.clip(self.gripper_target + gripper_step,
                                            *self._gripper_range))
        return self.arm_target.copy(), self.gripper_target

    def _held_rotation(self, arm_q: np.ndarray) -> np.ndarray:
        rotation = self.kinematics.forward(arm_q)[1]
        return pointing_down(rotation) if self.config.hold_orientation == 'down' else rotation

    def reset(self, arm_q: np.ndarray, gripper: float) -> None:
        """Jump the targets to a pose (after a reset-to-home move) and hold it."""
        q = np.clip(np.asarray(arm_q, dtype=float), self.kinematics.lower, self.kinematics.upper)
        self.arm_target, self.arm_goal = q.copy(), q.copy()
        self.gripper_target = self.gripper_goal = float(np.clip(gripper, *self._gripper_range))
        self.tcp_target = None
        self.rotation_target = self._held_rotation(q)
        self.last_command_time = None
        self.holding = True
