"""
A leader arm to end-effector commands, without ROS.

The follower is commanded toward where the leader's TCP is: FK of the leader's
joints gives its TCP, and each axis moves by
``clip((leader_tcp - follower_tcp) / end_effector_step_sizes, -1, 1)``, so the
follower closes the gap at up to one safety-filter step per tick and stops
when it is there. The leader's gripper joint is read through two thresholds
with hysteresis: below ``close_below`` the command is CLOSE, above
``open_above`` OPEN, and in between it keeps the last of the two (STAY until
the gripper has crossed either), so a gripper resting near one threshold does
not chatter. The latched command is repeated on every tick: a consumer that
starts executing human commands mid-way (an intervention) gets the leader's
gripper state at once.
"""

from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from hilserl.arm.safety_filter import Gripper
from hilserl.human.teleop.common import IDLE, TeleopCommand

ForwardKinematics = Callable[[np.ndarray], np.ndarray]


def tcp_delta(leader_tcp: Sequence[float], follower_tcp: Sequence[float],
              step_sizes: Sequence[float]) -> np.ndarray:
    """Return the per-axis move, in [-1, 1] steps, from the follower's TCP toward the leader's."""
    gap = np.asarray(leader_tcp, dtype=float) - np.asarray(follower_tcp, dtype=float)
    return np.clip(gap / np.asarray(step_sizes, dtype=float), -1.0, 1.0)


class GripperHysteresis:
    """Leader gripper position to CLOSE/OPEN/STAY; see the module docstring."""

    def __init__(self, close_below: float, open_above: float):
        """Close below ``close_below``, open above ``open_above`` (which must be higher)."""
        if not close_below < open_above:
            raise ValueError(f'gripper_close_below ({close_below}) must be below '
                             f'gripper_open_above ({open_above})')
        self.close_below = close_below
        self.open_above = open_above
        self.command = Gripper.STAY

    def update(self, position: float) -> Gripper:
        """Take the leader's gripper position; return the gripper command."""
        if position < self.close_below:
            self.command = Gripper.CLOSE
        elif position > self.open_above:
            self.command = Gripper.OPEN
        return self.command


class LeaderFollowing:
    """The latest leader joints and follower TCP, turned into a command."""

    def __init__(self, forward: ForwardKinematics, arm_joint_names: Sequence[str],
                 gripper_joint_name: str, step_sizes: Sequence[float],
                 gripper: GripperHysteresis, joint_offsets: Optional[Sequence[float]] = None,
                 input_timeout_s: float = 0.5):
        """
        Follow with ``forward`` (arm joint positions -> TCP position).

        ``joint_offsets`` are added to the leader's joints before FK (to line a
        leader's calibration up with the follower's); inputs older than
        ``input_timeout_s`` give the idle command.
        """
        self.arm_joint_names = list(arm_joint_names)
        offsets = np.zeros(len(self.arm_joint_names)) if joint_offsets is None else joint_offsets
        self.joint_offsets = np.asarray(offsets, dtype=float)
        if self.joint_offsets.shape != (len(self.arm_joint_names),):
            raise ValueError('leader_joint_offsets needs one value per arm joint')
        self.step_sizes = np.asarray(step_sizes, dtype=float)
        if self.step_sizes.shape != (3,) or np.any(self.step_sizes <= 0):
            raise ValueError('end_effector_step_sizes must be 3 positive numbers')
        if input_timeout_s <= 0:
            raise ValueError(f'input_timeout_s must be positive, got {input_timeout_s}')
        self._forward = forward
        self.gripper_joint_name = gripper_joint_name
        self.gripper = gripper
        self.input_timeout_s = input_timeout_s
        self.leader_tcp: Optional[np.ndarray] = None
        self.follower_tcp: Optional[np.ndarray] = None
        self._leader_time = self._follower_time = -np.inf

    def leader_joints(self, positions: Mapping[str, float], now: float) -> Optional[str]:
        """Take the leader's joint positions by name; return a problem, or None."""
        missing = [name for name in self.arm_joint_names if name not in positions]
        if missing:
            return f'leader joint states lack {missing}'
        q = np.array([positions[name] for name in self.arm_joint_names]) + self.joint_offsets
        if not np.all(np.isfinite(q)):
            return 'leader joint states are not finite'
        self.leader_tcp = np.asarray(self._forward(q), dtype=float)
        self._leader_time = now
        if self.gripper_joint_name in positions:
            self.gripper.update(positions[self.gripper_joint_name])
        return None

    def follower_pose(self, position: Sequence[float], now: float) -> None:
        """Take the follower's measured TCP position."""
        self.follower_tcp = np.asarray(position, dtype=float)
        self._follower_time = now

    def command(self, now: float) -> TeleopCommand:
        """Return the move toward the leader's TCP and the leader's gripper command."""
        if (now - self._leader_time > self.input_timeout_s
                or now - self._follower_time > self.input_timeout_s):
            return IDLE
        delta = tcp_delta(self.leader_tcp, self.follower_tcp, self.step_sizes)
        return TeleopCommand(tuple(float(v) for v in delta), self.gripper.command)
