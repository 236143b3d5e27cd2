"""
A scripted controller that solves the simulated tasks from ground truth; no ROS.

It speaks the policy's language (an end-effector move with each axis in
[-1, 1] and a gripper command) so that everything downstream, the safety
filter above all, is exercised exactly as by a learned policy or a human. It
proves each task solvable in this action space before any learning, records
demonstrations, and plays the human who intervenes in simulation.

The filter adds each move to its previous TCP target, so the commands
integrate, and the arm follows its targets with a lag (a soft servo that also
sags under gravity). A proportional command on the measured TCP over such a
plant overshoots if it waits for nothing; so every phase that ends at a point
also waits until the TCP has settled there before the next phase begins.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from hilserl.arm.safety_filter import Gripper


@dataclass
class ScriptedConfig:
    """Geometry and gains of the scripted controller (metres, per policy step)."""

    # The safety filter's end_effector_step_sizes: a command of 1 moves this far.
    step_sizes: Tuple[float, float, float] = (0.02, 0.02, 0.02)
    # Fraction of the remaining distance asked for per step: below 1 because the arm
    # is still catching up with the previous target when the next command comes.
    gain: float = 0.6
    cube_half_size: float = 0.02
    # A phase ending at a point ends once the TCP moved less than this in one step.
    settle_speed: float = 0.004
    # pick_lift: hover above the cube, grasp with the TCP this far above its centre.
    hover_height: float = 0.06
    grasp_height: float = 0.0
    xy_tolerance: float = 0.008
    z_tolerance: float = 0.006
    close_steps: int = 4
    # Aim this far above the lift point: a held cube hangs a little below the TCP.
    lift_margin: float = 0.015
    # Steps in a row without contact on both fingers before a lift counts as dropped.
    drop_steps: int = 2
    # push: stand this far behind the cube's face, TCP at this height.
    push_standoff: float = 0.025
    push_height: float = 0.015
    push_contact_gap: float = 0.005
    push_lead: float = 0.03
    line_tolerance: float = 0.012
    # Clearance of the TCP over the cube's top while moving around it.
    clearance: float = 0.03


def move_toward(tcp: np.ndarray, goal: np.ndarray, step_sizes, gain: float = 1.0) -> np.ndarray:
    """Return the delta command that moves ``tcp`` toward ``goal``, each axis in [-1, 1]."""
    return np.clip(gain * (np.asarray(goal) - tcp) / np.asarray(step_sizes), -1.0, 1.0)


class ScriptedController:
    """One episode's state machine for ``reach``, ``push`` or ``pick_lift``."""

    def __init__(self, task: str, config: ScriptedConfig = ScriptedConfig()):
        """Start the episode's first phase."""
        if task not in ('reach', 'push', 'pick_lift'):
            raise ValueError(f"unknown task '{task}'")
        self.task = task
        self.config = config
        self.phase = 'start'
        self._count = 0
        self._previous_tcp: Optional[np.ndarray] = None
        self._speed = np.inf
        self._lift_xy: Optional[np.ndarray] = None
        self._grasp_z = 0.0

    def act(self, tcp: np.ndarray, cube: np.ndarray, target: np.ndarray, grasped: bool):
        """Return ``(delta_xyz, gripper)`` for the current ground truth."""
        tcp, cube, target = (np.asarray(v, dtype=float) for v in (tcp, cube, target))
        self._speed = (np.inf if self._previous_tcp is None
                       else float(np.linalg.norm(tcp - self._previous_tcp)))
        self._previous_tcp = tcp.copy()
        if self.task == 'reach':
            self.phase = 'reach'
            return self._move(tcp, target), Gripper.STAY
        if self.task == 'pick_lift':
            return self._pick_lift(tcp, cube, target, grasped)
        return self._push(tcp, cube, target)

    def _move(self, tcp, goal):
        return move_toward(tcp, goal, self.config.step_sizes, self.config.gain)

    def _settled(self) -> bool:
        return self._speed < self.config.settle_speed

    # ----- pick_lift ------------------------------------------------------------------

    def _pick_lift(self, tcp, cube, target, grasped):
        c = self.config
        if self.phase == 'close':
            # Keep the TCP at the grasp height while the jaws close (the arm is still
            # settling from the descent), then lift if they hold the cube.
            self._count += 1
            if self._count < c.close_steps:
                goal = np.array([tcp[0], tcp[1], self._grasp_z])
                return self._move(tcp, goal), Gripper.CLOSE
            self.phase, self._count = ('lift', 0) if grasped else ('release', 0)
        if self.phase == 'lift':
            self._count = 0 if grasped else self._count + 1
            if self._count < c.drop_steps:
                goal = np.array([*self._lift_xy, target[2] + c.lift_margin])
                return self._move(tcp, goal), Gripper.CLOSE
            self.phase, self._count = 'release', 0
        if self.phase == 'release':
            # Missed or dropped it: open and back up over the cube before trying again.
            self._count += 1
            if self._count < 3:
                goal = np.array([tcp[0], tcp[1], cube[2] + c.hover_height])
                return self._move(tcp, goal), Gripper.OPEN
            self.phase = 'align'
        grasp_point = cube + np.array([0.0, 0.0, c.grasp_height])
        hover = np.array([cube[0], cube[1], cube[2] + c.hover_height])
        xy_error = float(np.linalg.norm(tcp[:2] - cube[:2]))
        if self.phase == 'descend' and xy_error > 2 * c.xy_tolerance:
            self.phase = 'align'  # the cube moved, or the arm swung past it: line up again
        if self.phase != 'descend':
            if xy_error <= c.xy_tolerance and self._settled():
                self.phase = 'descend'
            elif xy_error > c.xy_tolerance and tcp[2] < cube[2] + c.hover_height * 0.5:
                self.phase = 'rise'  # too low to slide sideways: could knock the cube away
                goal = np.array([tcp[0], tcp[1], hover[2]])
                return self._move(tcp, goal), Gripper.OPEN
            else:
                self.phase = 'align'
                return self._move(tcp, hover), Gripper.OPEN
        if tcp[2] - grasp_point[2] > c.z_tolerance:
            return self._move(tcp, grasp_point), Gripper.OPEN
        self.phase, self._count = 'close', 0
        self._lift_xy = tcp[:2].copy()
        self._grasp_z = float(grasp_point[2])
        return self._move(tcp, np.array([tcp[0], tcp[1], self._grasp_z])), Gripper.CLOSE

    # ----- push -----------------------------------------------------------------------

    def _push(self, tcp, cube, goal):
        c = self.config
        direction = goal[:2] - cube[:2]
        distance = float(np.linalg.norm(direction))
        if distance < 1e-6:
            return np.zeros(3), Gripper.CLOSE
        direction /= distance
        behind = cube[:2] - direction * (c.cube_half_size + c.push_standoff)
        # Where the TCP is along and across the push line through the cube's centre.
        relative = tcp[:2] - cube[:2]
        along = float(relative @ direction)
        across = float(abs(relative[0] * direction[1] - relative[1] * direction[0]))
        safe_height = cube[2] + c.cube_half_size + c.clearance
        if self.phase == 'push' and (
                along > -c.cube_half_size or across > 2 * c.line_tolerance
                or tcp[2] > c.push_height + 2 * c.z_tolerance + 0.01):
            self.phase = 'rise'  # lost the cube (slipped past, off the line or rode up)
        if self.phase == 'lower' and np.linalg.norm(tcp[:2] - behind) > 2 * c.xy_tolerance:
            self.phase = 'rise'
        if self.phase == 'lower' and tcp[2] - c.push_height < c.z_tolerance:
            self.phase = 'push'
        if self.phase == 'push':
            # Aim just ahead of the contact point on the line from the cube to the goal:
            # as the cube moves, the point moves with it, which both pushes and steers.
            contact = cube[:2] - direction * (c.cube_half_size + c.push_contact_gap)
            xy = contact + direction * c.push_lead
            return self._move(tcp, np.array([xy[0], xy[1], c.push_height])), Gripper.CLOSE
        if self.phase in ('start', 'approach') and (
                np.linalg.norm(tcp[:2] - behind) < c.xy_tolerance and self._settled()):
            self.phase = 'lower'
        if self.phase == 'lower':
            return self._move(tcp, np.array([*behind, c.push_height])), Gripper.CLOSE
        if self.phase in ('start', 'rise') and tcp[2] < safe_height - c.z_tolerance:
            self.phase = 'rise'
            return self._move(tcp, np.array([tcp[0], tcp[1], safe_height])), Gripper.CLOSE
        self.phase = 'approach'
        return self._move(tcp, np.array([*behind, safe_height])), Gripper.CLOSE
