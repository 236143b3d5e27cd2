"""
``SimArm``: a simulated arm driven by joint position targets, with cameras and ground truth.

The class is the whole interface a ROS node needs: choose the robot and task in a
``SimArmConfig``, ``reset``, ``set_joint_targets``, ``step`` (one control period of
physics), read joints, ``render`` camera images and ``ground_truth``. It knows
nothing about ROS or about time: pacing (lock-step or real time) is the caller's.

Joint order is ``joint_names``: the arm joints, then one gripper joint, named as in
the MJCF. Joint positions are in the joints' own units (radians); the gripper target
is the gripper joint's position too and is converted linearly from the gripper
joint's range to the gripper actuator's control range (a tendon-driven gripper's
0..255 command, say). The robot is a robot file (:mod:`hilserl.arm.robot_registry`);
without one, the registry's default robot.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import mujoco
import numpy as np

from hilserl.arm.robot_registry import default_robot
from hilserl.sim import tasks
from hilserl.sim.robots import robot_description
from hilserl.sim.scene import build_model, CUBE_HALF_SIZE, SceneSettings
from hilserl.sim.visual_variation import (visual_generator, VISUAL_VARIATIONS,
                                          VisualRandomizer)

DEFAULT_CAMERAS = {'front': (128, 128), 'wrist': (128, 128)}


@dataclass
class SimArmConfig:
    """
    Configuration of a ``SimArm``; ``None`` fields take the robot's defaults.

    ``cameras`` maps a camera name to its image ``(width, height)``. Regions are
    ``((min...), (max...))`` boxes in the world (= robot base) frame, metres:
    ``cube_region`` and ``goal_region`` in x, y; ``target_region`` in x, y, z. The
    physics timestep is the MJCF's; ``control_dt`` must be a multiple of it.
    ``visual_variation='randomized'`` redraws lights, surfaces, distractors and camera
    poses at every reset (``hilserl.sim.visual_variation``); 'none' is the plain scene.
    """

    robot: str = field(default_factory=default_robot)
    task: str = 'reach'
    cameras: Dict[str, Tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_CAMERAS))
    control_dt: float = 0.1
    seed: int = 0
    cube_region: Optional[Tuple[Tuple[float, float], Tuple[float, float]]] = None
    target_region: Optional[Tuple[Tuple[float, float, float], Tuple[float, float, float]]] = None
    goal_region: Optional[Tuple[Tuple[float, float], Tuple[float, float]]] = None
    lift_height: Optional[float] = None
    reach_tolerance: float = 0.02
    goal_tolerance: float = 0.03
    goal_min_distance: float = 0.06
    cube_yaw_range: float = 0.0
    home_joint_positions: Optional[Sequence[float]] = None
    visual_variation: str = 'none'

    def resolved(self) -> 'SimArmConfig':
        """Return a copy with the robot defaults filled in, validated."""
        robot = robot_description(self.robot)
        if self.task not in tasks.TASKS:
            raise ValueError(f'unknown task {self.task!r}; choose one of {list(tasks.TASKS)}')
        if self.control_dt <= 0:
            raise ValueError(f'control_dt must be positive, got {self.control_dt}')
        if self.visual_variation not in VISUAL_VARIATIONS:
            raise ValueError(f'unknown visual_variation {self.visual_variation!r}; '
                             f'choose one of {list(VISUAL_VARIATIONS)}')
        filled = dataclasses.replace(
            self,
            cameras={name: _camera_size(name, size) for name, size in self.cameras.items()},
            cube_region=_region('cube_region', self.cube_region or robot.cube_region, 2),
            target_region=_region('target_region', self.target_region or robot.target_region, 3),
            goal_region=_region('goal_region', self.goal_region or robot.goal_region, 2),
            lift_height=float(robot.lift_height if self.lift_height is None
                              else self.lift_height),
            home_joint_positions=tuple(float(q) for q in (
                robot.home_joint_positions if self.home_joint_positions is None
                else self.home_joint_positions)),
        )
        if len(filled.home_joint_positions) != len(robot.joint_names):
            raise ValueError(f'home_joint_positions needs {len(robot.joint_names)} values '
                             f'({", ".join(robot.joint_names)})')
        for name in ('lift_height', 'reach_tolerance', 'goal_tolerance'):
            if getattr(filled, name) <= 0:
                raise ValueError(f'{name} must be positive, got {getattr(filled, name)}')
        return filled


def _camera_size(name: str, size) -> Tuple[int, int]:
    """Validate one ``(width, height)`` camera size."""
    width, height = (int(value) for value in size)
    if width <= 0 or height <= 0:
        raise ValueError(f'camera {name!r} needs a positive (width, height), got {size}')
    return width, height


def _region(name: str, region, dims: int) -> tuple:
    """Validate a ``((min...), (max...))`` box of ``dims`` axes; return it as tuples."""
    low, high = (tuple(float(value) for value in bound) for bound in region)
    if len(low) != dims or len(high) != dims:
        raise ValueError(f'{name} needs {dims}-D min and max corners, got {region}')
    if any(lo > hi for lo, hi in zip(low, high)):
        raise ValueError(f'{name} has a min corner above its max corner: {region}')
    return low, high


@dataclass(frozen=True)
class GroundTruth:
    """Simulator-only state of the task; see ``hilserl.sim.tasks`` for the reward formulas."""

    cube_position: np.ndarray  # (3,) world
    cube_quaternion: np.ndarray  # (4,) w, x, y, z
    target_position: np.ndarray  # (3,) reach target / push goal / pick_lift lift point
    tcp_position: np.ndarray  # (3,) world
    grasped: bool  # the cube touches both gripper fingers
    success: bool
    dense_reward: float


class SimArm:
    """A MuJoCo arm on a table with a cube; see the module docstring."""

    def __init__(self, config: Optional[SimArmConfig] = None):
        """Build the scene for ``config`` (default: the default robot, reach) and reset it."""
        self.config = (config or SimArmConfig()).resolved()
        self.robot = robot_description(self.config.robot)
        widths = [size[0] for size in self.config.cameras.values()] or [64]
        heights = [size[1] for size in self.config.cameras.values()] or [64]
        self.model = build_model(self.robot, SceneSettings(
            task=self.config.task, max_image_size=(max(widths), max(heights)),
            target_radius=self.config.reach_tolerance, goal_radius=self.config.goal_tolerance,
            visual_variation=self.config.visual_variation))
        self.data = mujoco.MjData(self.model)
        for name in self.config.cameras:
            if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, name) < 0:
                raise ValueError(f'no camera {name!r} in the {self.robot.name} scene; it has '
                                 f'{[self.model.camera(i).name for i in range(self.model.ncam)]}')
        self.physics_dt = float(self.model.opt.timestep)
        self.substeps = int(round(self.config.control_dt / self.physics_dt))
        mismatch = abs(self.substeps * self.physics_dt - self.config.control_dt)
        if self.substeps < 1 or mismatch > 1e-9:
            raise ValueError(f'control_dt {self.config.control_dt} is not a multiple of the '
                             f'physics timestep {self.physics_dt}')
        self.control_dt = self.substeps * self.physics_dt
        self._task = tasks.TaskParameters(
            task=self.config.task, cube_region=self.config.cube_region,
            target_region=self.config.target_region, goal_region=self.config.goal_region,
            cube_half_size=CUBE_HALF_SIZE, lift_height=self.config.lift_height,
            reach_tolerance=self.config.reach_tolerance,
            goal_tolerance=self.config.goal_tolerance,
            goal_min_distance=self.config.goal_min_distance,
            cube_yaw_range=self.config.cube_yaw_range)
        self._index_model()
        self._renderers: Dict[Tuple[int, int], mujoco.Renderer] = {}
        self._rng = np.random.default_rng(self.config.seed)
        self._visuals = (VisualRandomizer(self.model, self.robot)
                         if self.config.visual_variation == 'randomized' else None)
        self._visual_rng = visual_generator(self.config.seed)
        self._targets = np.array(self.config.home_joint_positions)
        self._layout = None
        self._cube_z0 = CUBE_HALF_SIZE
        self.reset()

    def _index_model(self) -> None:
        """Look up the ids and addresses used on every step."""
        model, robot = self.model, self.robot
        joint_ids = [model.joint(name).id for name in robot.joint_names]
        self._qpos_adr = np.array([model.jnt_qposadr[j] for j in joint_ids])
        self._dof_adr = np.array([model.jnt_dofadr[j] for j in joint_ids])
        # An unlimited joint (a continuous wrist) has no range: (-inf, inf).
        self._limits = np.array([model.jnt_range[j] if model.jnt_limited[j]
                                 else (-np.inf, np.inf) for j in joint_ids], dtype=float)
        actuators = robot.arm_actuators + (robot.gripper_actuator,)
        self._actuator_ids = np.array([model.actuator(name).id for name in actuators])
        self._ctrl_range = np.array([model.actuator_ctrlrange[a] if model.actuator_ctrllimited[a]
                                     else (-np.inf, np.inf) for a in self._actuator_ids])
        self._tcp_site = model.site(robot.tcp_site).id
        cube_joint = model.joint('cube')
        self._cube_qpos = int(cube_joint.qposadr[0])
        self._cube_dof = int(cube_joint.dofadr[0])
        self._cube_body = model.body('cube').id
        self._target_mocap = int(model.body_mocapid[model.body('target').id])
        self._finger_bodies = [
            {model.body(name).id for name in side} for side in robot.finger_bodies]

    # ----- description ---------------------------------------------------------------

    @property
    def joint_names(self) -> Tuple[str, ...]:
        """Arm joint names then the gripper joint's, as in the MJCF."""
        return self.robot.joint_names

    @property
    def joint_limits(self) -> np.ndarray:
        """(N, 2) array of each joint's [lower, upper] position limit, from the model."""
        return self._limits.copy()

    @property
    def gripper_open_position(self) -> float:
        """Gripper joint position that opens the gripper around a cube."""
        return self.robot.gripper_open

    @property
    def gripper_closed_position(self) -> float:
        """Gripper joint position of a fully closed gripper (squeezes what it holds)."""
        return self.robot.gripper_closed

    @property
    def camera_names(self) -> Tuple[str, ...]:
        """Return the configured camera names, in configuration order."""
        return tuple(self.config.cameras)

    # ----- episode ------------------------------------------------------------------

    def reset(self, seed: Optional[int] = None,
              joint_positions: Optional[Sequence[float]] = None) -> GroundTruth:
        """
        Start an episode: arm at home (or ``joint_positions``), cube and target drawn anew.

        ``seed`` reseeds the layout generator, so the same seed gives the same episode;
        without it the generator continues from the previous episode (first seeded by
        ``config.seed``). The joint targets are set to the start positions. The
        visuals (if randomized) come from a stream of their own, reseeded likewise.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._visual_rng = visual_generator(seed)
        start = np.array(self.config.home_joint_positions if joint_positions is None
                         else joint_positions, dtype=float)
        if start.shape != (len(self.joint_names),):
            raise ValueError(f'joint_positions needs {len(self.joint_names)} values')
        start = np.clip(start, self._limits[:, 0], self._limits[:, 1])
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._qpos_adr] = start
        self._layout = tasks.sample_layout(self._task, self._rng)
        self._place_cube(self._layout.cube_position, _yaw_quaternion(self._layout.cube_yaw))
        self._cube_z0 = float(self._layout.cube_position[2])
        marker = self._layout.target_position.copy()
        if self.config.task == 'push':
            marker[2] = 0.0005  # the goal disc lies on the table
        self.data.mocap_pos[self._target_mocap] = marker
        if self._visuals is not None:
            self._visuals.apply(self._visual_rng, self._layout.cube_position,
                                self._layout.target_position)
        self.set_joint_targets(start)
        mujoco.mj_forward(self.model, self.data)
        return self.ground_truth()

    def set_joint_targets(self, q_target: Sequence[float]) -> None:
        """Set position targets for all joints (``joint_names`` order), clipped to limits."""
        target = np.asarray(q_target, dtype=float)
        if target.shape != (len(self.joint_names),):
            raise ValueError(f'expected {len(self.joint_names)} joint targets, got {target.shape}')
        if not np.all(np.isfinite(target)):
            raise ValueError(f'joint targets must be finite, got {target}')
        target = np.clip(target, self._limits[:, 0], self._limits[:, 1])
        self._targets = target
        ctrl = target.copy()
        # The gripper actuator's control range maps linearly from the gripper joint's range.
        (q_lo, q_hi), (c_lo, c_hi) = self._limits[-1], self._ctrl_range[-1]
        ctrl[-1] = c_lo + (target[-1] - q_lo) * (c_hi - c_lo) / (q_hi - q_lo)
        ctrl = np.clip(ctrl, self._ctrl_range[:, 0], self._ctrl_range[:, 1])
        self.data.ctrl[self._actuator_ids] = ctrl

    def joint_targets(self) -> np.ndarray:
        """Return the current position targets (after clipping), ``joint_names`` order."""
        return self._targets.copy()

    def step(self) -> None:
        """Advance the physics by one ``control_dt`` with the actuators tracking the targets."""
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)

    # ----- state ----------------------------------------------------------------------

    def joint_positions(self) -> np.ndarray:
        """Return joint positions, ``joint_names`` order."""
        return self.data.qpos[self._qpos_adr].copy()

    def joint_velocities(self) -> np.ndarray:
        """Return joint velocities, ``joint_names`` order."""
        return self.data.qvel[self._dof_adr].copy()

    def tcp_position(self) -> np.ndarray:
        """Return the TCP site's world position (3,)."""
        return self.data.site_xpos[self._tcp_site].copy()

    def tcp_pose(self) -> Tuple[np.ndarray, np.ndarray]:
        """Return the TCP site's world ``(position (3,), quaternion (4,) w, x, y, z)``."""
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self._tcp_site])
        return self.tcp_position(), quat

    def cube_pose(self) -> Tuple[np.ndarray, np.ndarray]:
        """Return the cube's world ``(position (3,), quaternion (4,) w, x, y, z)``."""
        qpos = self.data.qpos[self._cube_qpos:self._cube_qpos + 7]
        return qpos[:3].copy(), qpos[3:].copy()

    def grasped(self) -> bool:
        """Return whether the cube touches geoms of both gripper fingers."""
        touching = [False, False]
        body_of_geom = self.model.geom_bodyid
        for contact in self.data.contact[:self.data.ncon]:
            bodies = (body_of_geom[contact.geom1], body_of_geom[contact.geom2])
            if self._cube_body not in bodies:
                continue
            other = bodies[1] if bodies[0] == self._cube_body else bodies[0]
            for side, members in enumerate(self._finger_bodies):
                touching[side] |= other in members
        return all(touching)

    def ground_truth(self) -> GroundTruth:
        """Return the cube pose, the target, and the task's success and shaped reward."""
        cube, quat = self.cube_pose()
        tcp = self.tcp_position()
        grasped = self.grasped()
        success, reward = tasks.evaluate(self._task, tcp, cube, self._cube_z0,
                                         self._layout.target_position, grasped)
        return GroundTruth(cube_position=cube, cube_quaternion=quat,
                           target_position=self._layout.target_position.copy(),
                           tcp_position=tcp, grasped=grasped, success=bool(success),
                           dense_reward=float(reward))

    # ----- state surgery (tests, demos, scripted resets) ------------------------------

    def set_joint_positions(self, q: Sequence[float]) -> None:
        """Teleport the joints to ``q`` at rest, targets included; recompute kinematics."""
        q = np.clip(np.asarray(q, dtype=float), self._limits[:, 0], self._limits[:, 1])
        self.data.qpos[self._qpos_adr] = q
        self.data.qvel[self._dof_adr] = 0.0
        self.set_joint_targets(q)
        mujoco.mj_forward(self.model, self.data)

    def _place_cube(self, position, quaternion) -> None:
        """Write the cube's free joint: pose given, velocity zero."""
        self.data.qpos[self._cube_qpos:self._cube_qpos + 3] = position
        self.data.qpos[self._cube_qpos + 3:self._cube_qpos + 7] = quaternion
        self.data.qvel[self._cube_dof:self._cube_dof + 6] = 0.0

    def set_cube_pose(self, position: Sequence[float],
                      quaternion: Optional[Sequence[float]] = None) -> None:
        """Teleport the cube (at rest) to ``position`` (and ``quaternion``, w first)."""
        quat = np.array([1.0, 0.0, 0.0, 0.0] if quaternion is None else quaternion, dtype=float)
        self._place_cube(np.asarray(position, dtype=float), quat / np.linalg.norm(quat))
        mujoco.mj_forward(self.model, self.data)

    # ----- cameras ----------------------------------------------------------------------

    def render(self, camera_name: str) -> np.ndarray:
        """Render a configured camera as an (height, width, 3) uint8 RGB array."""
        if camera_name not in self.config.cameras:
            raise ValueError(f'camera {camera_name!r} is not configured; '
                             f'configured: {list(self.config.cameras)}')
        size = self.config.cameras[camera_name]
        renderer = self._renderers.get(size)
        if renderer is None:
            renderer = mujoco.Renderer(self.model, height=size[1], width=size[0])
            self._renderers[size] = renderer
        renderer.update_scene(self.data, camera=camera_name)
        return renderer.render()

    def close(self) -> None:
        """Release the renderers (OpenGL contexts); the arm can still step afterwards."""
        renderers, self._renderers = self._renderers, {}
        for renderer in renderers.values():
            renderer.close()

    def __enter__(self) -> 'SimArm':
        """Use as a context manager that closes the renderers on exit."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close on leaving the ``with`` block."""
        self.close()


def _yaw_quaternion(yaw: float) -> np.ndarray:
    """Return the quaternion (w, x, y, z) of a rotation by ``yaw`` about world z."""
    return np.array([np.cos(yaw / 2.0), 0.0, 0.0, np.sin(yaw / 2.0)])
