"""
The three simulated tasks: reset layouts, success tests and shaped rewards.

Pure NumPy on plain arrays; no MuJoCo objects.

Tasks (positions in metres, world = robot base frame, table top at z = 0):

``reach``
    Bring the TCP within ``reach_tolerance`` of a target point sampled in
    ``target_region`` (a 3-D box). The cube is on the table but plays no part.
    ``dense_reward = 1 - tanh(10 * |tcp - target|)``.

``push``
    Push the cube so that its centre is within ``goal_tolerance`` (in x, y) of a goal
    point sampled in ``goal_region`` (a 2-D box on the table), at least
    ``goal_min_distance`` from where the cube starts.
    ``dense_reward = 0.25 * (1 - tanh(10 * |tcp - cube|))
    + 0.75 * (1 - tanh(10 * |cube_xy - goal_xy|))``.

``pick_lift``
    Grasp the cube and lift its centre ``lift_height`` above its height at reset
    while the gripper holds it (the cube touches both fingers); the target point
    reported is the cube's reset position raised by ``lift_height``.
    ``dense_reward = 0.3 * (1 - tanh(10 * |tcp - cube|)) + 0.2 * grasped
    + 0.5 * grasped * clip((cube_z - cube_z0) / lift_height, 0, 1)``.

Every reward lies in [0, 1]; 1 - tanh(10 d) falls to 0.24 at 10 cm and 0.46 at 5 cm.
"""

from dataclasses import dataclass
from typing import Tuple

import numpy as np

TASKS = ('reach', 'push', 'pick_lift')
_GOAL_SAMPLING_TRIES = 64


@dataclass(frozen=True)
class TaskParameters:
    """The task and its geometry; regions are ``((min...), (max...))`` boxes."""

    task: str
    cube_region: Tuple[Tuple[float, float], Tuple[float, float]]
    target_region: Tuple[Tuple[float, float, float], Tuple[float, float, float]]
    goal_region: Tuple[Tuple[float, float], Tuple[float, float]]
    cube_half_size: float
    lift_height: float = 0.1
    reach_tolerance: float = 0.02
    goal_tolerance: float = 0.03
    goal_min_distance: float = 0.06
    cube_yaw_range: float = 0.0


@dataclass(frozen=True)
class Layout:
    """Where a reset puts the cube, and the task's target point."""

    cube_position: np.ndarray  # (3,) centre of the cube resting on the table
    cube_yaw: float  # radians about world z
    target_position: np.ndarray  # (3,) reach target, push goal (at cube-centre height), lift point


def _uniform(rng: np.random.Generator, region) -> np.ndarray:
    """Draw a point uniformly from a ``(low, high)`` box; a degenerate axis is fixed."""
    low, high = (np.asarray(bound, dtype=float) for bound in region)
    return low + rng.random(len(low)) * (high - low)


def sample_layout(params: TaskParameters, rng: np.random.Generator) -> Layout:
    """
    Draw the cube position and yaw and the task's target from ``rng``.

    The number of draws does not depend on the task's outcome except for the push
    goal's rejection sampling, which is itself deterministic given ``rng``.
    """
    half = params.cube_half_size
    cube_xy = _uniform(rng, params.cube_region)
    yaw = float(rng.uniform(-params.cube_yaw_range, params.cube_yaw_range))
    cube = np.array([cube_xy[0], cube_xy[1], half])
    if params.task == 'reach':
        target = _uniform(rng, params.target_region)
    elif params.task == 'push':
        best, best_distance = None, -1.0
        for _ in range(_GOAL_SAMPLING_TRIES):
            goal_xy = _uniform(rng, params.goal_region)
            distance = float(np.linalg.norm(goal_xy - cube_xy))
            if distance > best_distance:
                best, best_distance = goal_xy, distance
            if distance >= params.goal_min_distance:
                break
        target = np.array([best[0], best[1], half])
    elif params.task == 'pick_lift':
        target = cube + np.array([0.0, 0.0, params.lift_height])
    else:
        raise ValueError(f'unknown task {params.task!r}; choose one of {list(TASKS)}')
    return Layout(cube, yaw, target)


def _closeness(distance: float) -> float:
    """Map a distance in metres to (0, 1]: 1 at zero, 0.24 at 10 cm."""
    return 1.0 - float(np.tanh(10.0 * distance))


def evaluate(params: TaskParameters, tcp: np.ndarray, cube: np.ndarray, cube_z0: float,
             target: np.ndarray, grasped: bool) -> Tuple[bool, float]:
    """
    Return ``(success, dense_reward)`` for the current state; formulas in the module doc.

    ``tcp`` and ``cube`` are world positions (3,), ``cube_z0`` the cube centre's height
    at reset, ``target`` the layout's target point, ``grasped`` whether the cube
    touches both gripper fingers.
    """
    tcp = np.asarray(tcp, dtype=float)
    cube = np.asarray(cube, dtype=float)
    target = np.asarray(target, dtype=float)
    if params.task == 'reach':
        distance = float(np.linalg.norm(tcp - target))
        return distance <= params.reach_tolerance, _closeness(distance)
    if params.task == 'push':
        to_goal = float(np.linalg.norm(cube[:2] - target[:2]))
        reward = 0.25 * _closeness(float(np.linalg.norm(tcp - cube))) + 0.75 * _closeness(to_goal)
        return to_goal <= params.goal_tolerance, reward
    if params.task == 'pick_lift':
        rise = float(cube[2] - cube_z0)
        lifted = float(np.clip(rise / params.lift_height, 0.0, 1.0))
        held = 1.0 if grasped else 0.0
        reward = (0.3 * _closeness(float(np.linalg.norm(tcp - cube))) + 0.2 * held
                  + 0.5 * held * lifted)
        return bool(grasped and rise >= params.lift_height), reward
    raise ValueError(f'unknown task {params.task!r}; choose one of {list(TASKS)}')
