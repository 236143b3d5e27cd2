"""
A scripted controller that solves the simulated tasks from ground truth; no ROS.

It speaks the policy's language (an end-effector move with each axis in
[-1, 1] and a gripper command) so that everything downstream, the safety
filter above all, is exercised exactly as by a learned policy or a human. It
proves each task solvable in this action space before any learning, records
demonstrations, and plays the human who intervenes in simulation.
"""

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from hilserl.safety_filter import Gripper


@dataclass
class ScriptedConfig:
    """Geometry and gains of the scripted controller (metres)."""

    step_sizes: Tuple[float, float, float] = (0.02, 0.02, 0.02)
    # Fraction of the remaining distance asked for per step: below 1 because the arm
    # is still catching up with the previous target when the next command comes.
    gain: float = 0.6
    cube_half_size: float = 0.02
    # pick_lift: hover above the cube, grasp with the TCP this far above its centre.
    hover_height: float = 0.06
    grasp_height: float = 0.0
    xy_tolerance: float = 0.008
    z_tolerance: float = 0.006
    close_steps: int = 4
    lift_height: float = 0.12
    # push: stand this far behind the cube's far face, TCP at this height.
    push_standoff: float = 0.025
    push_height: float = 0.015
    push_contact_gap: float = 0.005
    push_lead: float = 0.03
    line_tolerance: float = 0.012


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
        self._closing = 0

    def act(self, tcp: np.ndarray, cube: np.ndarray, target: np.ndarray, grasped: bool):
        """Return ``(delta_xyz, gripper)`` for the current ground truth."""
        tcp, cube, target = (np.asarray(v, dtype=float) for v in (tcp, cube, target))
        if self.task == 'reach':
            self.phase = 'reach'
            return move_toward(tcp, target, self.config.step_sizes, self.config.gain), Gripper.STAY
        if self.task == 'pick_lift':
            return self._pick_lift(tcp, cube, grasped)
        return self._push(tcp, cube, target)

    def _pick_lift(self, tcp, cube, grasped):
        c = self.config
        if self.phase in ('lift', 'close') and (grasped or self._closing < c.close_steps):
            self._closing += 1
            if self._closing >= c.close_steps and grasped:
                self.phase = 'lift'
                goal = np.array([cube[0], cube[1], cube[2] + c.lift_height])
                return move_toward(tcp, goal, c.step_sizes, c.gain), Gripper.CLOSE
            self.phase = 'close'
            return np.zeros(3), Gripper.CLOSE
        # Not holding the cube: line up above it with the jaws open, then go down.
        self._closing = 0
        grasp_point = cube + np.array([0.0, 0.0, c.grasp_height])
        xy_error = np.linalg.norm(tcp[:2] - cube[:2])
        if xy_error > c.xy_tolerance and tcp[2] < cube[2] + c.hover_height * 0.5:
            self.phase = 'rise'  # too low to slide sideways: could knock the cube away
            goal = np.array([tcp[0], tcp[1], cube[2] + c.hover_height])
        elif xy_error > c.xy_tolerance:
            self.phase = 'align'
            goal = np.array([cube[0], cube[1], cube[2] + c.hover_height])
        elif tcp[2] - grasp_point[2] > c.z_tolerance:
            self.phase = 'descend'
            goal = grasp_point
        else:
            self.phase = 'close'
            self._closing = 1
            return np.zeros(3), Gripper.CLOSE
        return move_toward(tcp, goal, c.step_sizes, c.gain), Gripper.OPEN

    def _push(self, tcp, cube, goal):
        c = self.config
        direction = goal[:2] - cube[:2]
        distance = np.linalg.norm(direction)
        if distance < 1e-6:
            return np.zeros(3), Gripper.CLOSE
        direction /= distance
        behind = cube[:2] - direction * (c.cube_half_size + c.push_standoff)
        # Where the TCP is along and across the push line through the cube's centre.
        relative = tcp[:2] - cube[:2]
        along = float(relative @ direction)
        across = float(abs(relative[0] * direction[1] - relative[1] * direction[0]))
        safe_height = cube[2] + c.cube_half_size + 0.03
        lined_up = along < -c.cube_half_size and across < c.line_tolerance
        if (self.phase == 'push' and along < 0 and across < 2 * c.line_tolerance) or (
                lined_up and abs(tcp[2] - c.push_height) < 2 * c.z_tolerance):
            # Aim just ahead of the contact point on the line from the cube to the goal:
            # as the cube moves, the point moves with it, which both pushes and steers.
            self.phase = 'push'
            contact = cube[:2] - direction * (c.cube_half_size + c.push_contact_gap)
            xy = contact + direction * c.push_lead
            return move_toward(tcp, np.array([xy[0], xy[1], c.push_height]),
                               c.step_sizes, c.gain), Gripper.CLOSE
        if np.linalg.norm(tcp[:2] - behind) < c.xy_tolerance:
            self.phase = 'lower'
            goal3 = np.array([behind[0], behind[1], c.push_height])
        elif tcp[2] < safe_height - c.z_tolerance and not lined_up:
            self.phase = 'rise'
            goal3 = np.array([tcp[0], tcp[1], safe_height])
        else:
            self.phase = 'approach'
            goal3 = np.array([behind[0], behind[1], safe_height])
        return move_toward(tcp, goal3, c.step_sizes, c.gain), Gripper.CLOSE
