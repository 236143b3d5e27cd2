"""
The scripted human playing an episode badly: negative examples for the reward classifier.

HIL-SERL's reward classifier learns from frames labelled by the human: the successes of
the demonstrations and the failures of episodes that went wrong (about 200 positive and
1000 negative frames). In simulation the scripted human records both: with
``outcome='failure'`` it plays every episode in one of these styles, taken in turn by
episode index, and never completes the task:

- ``wrong_place``: it moves the TCP ``wrong_place_distance`` to the side of where the
  task is (above the cube, or the reach target) and stays there; in pick_lift with the
  jaws open the first time the styles come round and shut from the first step the next
  (in turn): an empty closed gripper all the way from home, which a classifier that saw
  closed jaws only around the cube took for a success (a policy closed its jaws at home);
- ``short`` (reach, pick_lift): it does the task toward a goal only part of the way
  there, ``short_fractions`` in turn (a reach that stops short; a cube lifted part of
  the way plus the controller's lift margin: on the SO-101, whose success is 8 cm up,
  about 5.8 and 7.4 cm for 0.6 and 0.8) and holds it there: the near misses a
  classifier most easily takes for a success (trained without the 0.8 it called 7 cm a
  success, and the policy learned to lift the cube that far). It lifts at
  ``short_lift_rate`` of the full step: at full speed the arm on the ROS graph lags its
  commands, catches up and overshoots by 2 to 3 cm, and the cube passed the success
  height for a frame (the 0.6 and 0.8 lifts were recorded as successes);
- ``wrong_way`` (push): it pushes the cube ``wrong_way_distance`` away from the goal
  (pushed part of the way toward it, the push controller's lead would carry it on);
- ``drop`` (pick_lift): it grasps and lifts the cube, opens the jaws once the cube has
  risen ``drop_rise``, and holds still while it falls;
- ``empty_lift`` (pick_lift): it closes the jaws in the air above the cube, never
  grasping it, and raises them to where a held cube would be lifted: the gripper's pose
  of a success without the cube;
- ``wander``: it moves the TCP between random points above and around the cube (or the
  reach target), ``wander_radius`` to each side and up to ``wander_height`` above it,
  opening or closing the jaws at random at each: the states an exploring policy passes
  through, which a classifier trained on purposeful motion alone has never seen.

The episode then stalls (the scripted human raises FAILURE) or runs out of time; either
way every step is recorded with reward 0. Should the play succeed by chance, the
scripted human still says so from the ground truth, so the labels stay true.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from hilserl.arm.safety_filter import Gripper
from hilserl.human.scripted_policy import move_toward, ScriptedController

FAILURE_STYLES = {'reach': ('wrong_place', 'short', 'wander'),
                  'push': ('wrong_place', 'wrong_way', 'wander'),
                  'pick_lift': ('wrong_place', 'short', 'drop', 'empty_lift', 'wander')}
# Successive episodes go to the side in directions this far apart (the golden angle):
# never the same side twice in a row, spread around the cube over many episodes.
WRONG_PLACE_TURN_RAD = 2.39996


@dataclass(frozen=True)
class FailureSettings:
    """How far off each failure style plays (metres, fraction of the way)."""

    wrong_place_distance: float = 0.08
    short_fractions: Tuple[float, ...] = (0.3, 0.6, 0.8)
    # short: the upward command while lifting, at most this fraction of a full step
    short_lift_rate: float = 0.25
    wrong_way_distance: float = 0.04
    drop_rise: float = 0.03
    wander_radius: float = 0.1
    wander_height: float = 0.15
    # wander: a new point once the TCP is this close to the last one, or after so many steps
    wander_reached: float = 0.015
    wander_steps: int = 15

    def __post_init__(self):
        """Refuse settings that could complete the task or mean nothing."""
        if min(self.wrong_place_distance, self.wrong_way_distance, self.drop_rise,
               self.wander_radius, self.wander_height, self.wander_reached,
               self.wander_steps) <= 0:
            raise ValueError('the distances, drop_rise and wander_steps must be positive')
        if not 0.0 < self.short_lift_rate <= 1.0:
            raise ValueError(f'short_lift_rate must be in (0, 1], got {self.short_lift_rate}')
        if not self.short_fractions or not all(0.0 <= f < 1.0 for f in self.short_fractions):
            raise ValueError(f'short_fractions must be in [0, 1), got {self.short_fractions}')


def failure_style(task: str, episode_index: int) -> str:
    """Return the style episode ``episode_index`` is played in: the task's styles in turn."""
    if task not in FAILURE_STYLES:
        raise ValueError(f"unknown task '{task}'")
    styles = FAILURE_STYLES[task]
    return styles[episode_index % len(styles)]


class FailurePlay:
    """One episode played badly; :meth:`act` answers as ``ScriptedController.act`` does."""

    def __init__(self, controller: ScriptedController, episode_index: int,
                 settings: FailureSettings = FailureSettings()):
        """Play ``controller``'s task in the style of ``episode_index`` (`failure_style`)."""
        self.controller = controller
        self.task = controller.task
        self.style = failure_style(self.task, episode_index)
        self.settings = settings
        self._angle = WRONG_PLACE_TURN_RAD * episode_index
        # Each time the styles come round again, the next fraction of the way.
        fractions = settings.short_fractions
        self._round = episode_index // len(FAILURE_STYLES[self.task])
        self._short_fraction = fractions[self._round % len(fractions)]
        self._start: Optional[np.ndarray] = None   # where the task starts from (first act)
        self._cube_z0 = 0.0
        # drop: where the TCP stays once it let go; empty_lift: where it lifts the jaws to
        self._hold: Optional[np.ndarray] = None
        self._rng = np.random.default_rng(episode_index)   # wander: its points and jaws
        self._waypoint: Optional[Tuple[np.ndarray, int]] = None
        self._steps_to_waypoint = 0

    @property
    def phase(self) -> str:
        """Return what it is doing, for logs and tests."""
        if self.style == 'drop' and self._hold is not None:
            return 'dropped'
        if self.style == 'empty_lift':
            return 'lift' if self._hold is not None else 'align'
        if self.style in ('wrong_place', 'wander'):
            return self.style
        return self.controller.phase

    def act(self, tcp, cube, goal, grasped: bool) -> Tuple[np.ndarray, int]:
        """Return ``(delta_xyz, gripper)`` for the current ground truth."""
        tcp, cube, goal = (np.asarray(v, dtype=float) for v in (tcp, cube, goal))
        if self._start is None:
            self._start = (tcp if self.task == 'reach' else cube).copy()
            self._cube_z0 = float(cube[2])
        if self.style == 'wrong_place':
            return self._to_wrong_place(tcp, cube, goal)
        if self.style == 'short':
            short_goal = self._start + self._short_fraction * (goal - self._start)
            delta, gripper = self.controller.act(tcp, cube, short_goal, grasped)
            if self.controller.phase == 'lift':
                delta = np.array(delta, dtype=float)
                delta[2] = min(delta[2], self.settings.short_lift_rate)
            return delta, gripper
        if self.style == 'empty_lift':
            return self._empty_lift(tcp, goal)
        if self.style == 'wander':
            return self._wander(tcp, goal)
        if self.style == 'wrong_way':
            away = self._start - goal
            away *= self.settings.wrong_way_distance / max(float(np.linalg.norm(away)), 1e-9)
            return self.controller.act(tcp, cube, self._start + away, grasped)
        return self._drop(tcp, cube, goal, grasped)

    def _to_wrong_place(self, tcp, cube, goal):
        config = self.controller.config
        if self.task == 'reach':
            anchor, gripper = goal, Gripper.STAY
        else:
            # Above where the cube started, clear of it: the cube is never touched.
            anchor = self._start + np.array([0.0, 0.0, config.hover_height])
            gripper = Gripper.STAY
            if self.task == 'pick_lift':
                gripper = Gripper.CLOSE if self._round % 2 else Gripper.OPEN
        side = self.settings.wrong_place_distance * np.array(
            [np.cos(self._angle), np.sin(self._angle), 0.0])
        return move_toward(tcp, anchor + side, config.step_sizes, config.gain), gripper

    def _wander(self, tcp, goal):
        config, settings = self.controller.config, self.settings
        if self._waypoint is None or self._steps_to_waypoint >= settings.wander_steps or (
                np.linalg.norm(tcp - self._waypoint[0]) < settings.wander_reached):
            anchor = goal if self.task == 'reach' else self._start
            low = anchor[2] + (-0.5 * settings.wander_height if self.task == 'reach'
                               else config.cube_half_size + config.clearance * 0.5)
            point = np.array([*(anchor[:2] + self._rng.uniform(-1, 1, 2) * settings.wander_radius),
                              self._rng.uniform(low, anchor[2] + settings.wander_height)])
            self._waypoint = (point, int(self._rng.choice([Gripper.OPEN, Gripper.CLOSE])))
            self._steps_to_waypoint = 0
        self._steps_to_waypoint += 1
        point, gripper = self._waypoint
        return move_toward(tcp, point, config.step_sizes, config.gain), gripper

    def _empty_lift(self, tcp, goal):
        config = self.controller.config
        above = self._start + np.array([0.0, 0.0, config.hover_height])
        if self._hold is None and np.linalg.norm(tcp - above) < 2 * config.xy_tolerance:
            self._hold = np.array([*above[:2], goal[2] + config.lift_margin])
        if self._hold is None:
            return move_toward(tcp, above, config.step_sizes, config.gain), Gripper.OPEN
        return move_toward(tcp, self._hold, config.step_sizes, config.gain), Gripper.CLOSE

    def _drop(self, tcp, cube, goal, grasped):
        if self._hold is None and grasped and (
                cube[2] - self._cube_z0 >= self.settings.drop_rise):
            self._hold = tcp.copy()
        if self._hold is None:
            return self.controller.act(tcp, cube, goal, grasped)
        config = self.controller.config
        return move_toward(tcp, self._hold, config.step_sizes, config.gain), Gripper.OPEN
