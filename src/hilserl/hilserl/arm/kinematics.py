"""
Forward and inverse kinematics of an arm from its URDF or MJCF; no ROS.

Pinocchio builds the model; joints that are not arm joints (the gripper, the
fingers) are locked, so IK moves only the arm. IK is damped least squares with
task priorities, joint limits enforced at every iteration: the TCP position
comes first, the orientation (when asked) is kept as well as the position task
leaves room for, and a weak pull toward a rest posture settles what is left:

    J⁺ = Jᵀ (J Jᵀ + λ² I)⁻¹                     (damped pseudo-inverse)
    Δq₁ = J_p⁺ e_p,   N₁ = I − J_p⁺ J_p          (position)
    Δq₂ = (J_r N₁)⁺ (e_r − J_r Δq₁)              (orientation, inside N₁)
    Δq = Δq₁ + N₁ Δq₂ + N₁ N₂ k_rest (q_rest − q)

So an orientation the arm cannot hold (a 5-joint SO-101 pointing down high
above the table) bends the orientation, never the commanded position.
"""

from dataclasses import dataclass
import os
from typing import Optional, Sequence

import numpy as np
import pinocchio as pin


class KinematicsError(ValueError):
    """A robot description, frame or joint that does not fit."""


@dataclass
class IKResult:
    """The outcome of one inverse-kinematics solve."""

    q: np.ndarray
    position_error: float
    rotation_error: float
    iterations: int
    converged: bool


_EYE3 = np.eye(3)


def damped_pinv(jacobian: np.ndarray, damping: float) -> np.ndarray:
    """Return Jᵀ (J Jᵀ + λ² I)⁻¹ of a 3-row J; it stays bounded near singularities."""
    gram = jacobian @ jacobian.T + damping ** 2 * _EYE3
    return np.linalg.solve(gram, jacobian).T  # the Gram matrix is symmetric


_IDENTITIES = {}


def _identity(size: int) -> np.ndarray:
    """Return a cached (read-only) identity matrix; IK calls this thousands of times."""
    if size not in _IDENTITIES:
        _IDENTITIES[size] = np.eye(size)
        _IDENTITIES[size].flags.writeable = False
    return _IDENTITIES[size]


class Kinematics:
    """FK and IK for the arm joints of a robot description."""

    def __init__(self, description_path: str, tcp_frame: str, arm_joint_names: Sequence[str],
                 tcp_offset: Sequence[float] = (0.0, 0.0, 0.0),
                 tcp_rpy: Sequence[float] = (0.0, 0.0, 0.0), urdf_text: Optional[str] = None):
        """
        Load ``description_path`` (.urdf or MJCF .xml) and keep ``arm_joint_names``.

        ``tcp_frame`` names a URDF link/frame or an MJCF site or body; the TCP is
        ``tcp_offset`` metres from that frame's origin, along its axes, turned by
        ``tcp_rpy`` so that, by the suite's convention, its z axis points out of
        the gripper (the approach direction). ``urdf_text``, when given, is the URDF
        itself (as a ``robot_description`` topic carries it) and ``description_path``
        only names where it came from in errors.
        """
        if urdf_text is None and not os.path.isfile(description_path):
            raise KinematicsError(f'robot description {description_path} does not exist')
        try:
            if urdf_text is not None:
                full = pin.buildModelFromXML(urdf_text)
            elif description_path.endswith('.urdf'):
                full = pin.buildModelFromUrdf(description_path)
            else:
                full = pin.buildModelFromMJCF(description_path)
        except Exception as error:  # pinocchio raises plain RuntimeError/ValueError
            raise KinematicsError(f'cannot parse {description_path}: {error}') from None
        missing = [name for name in arm_joint_names if not full.existJointName(name)]
        if missing:
            known = [name for name in full.names[1:]]
            raise KinematicsError(f'joints {missing} are not in {description_path} '
                                  f'(it has {known})')
        locked = [full.getJointId(name) for name in full.names[1:]
                  if name not in arm_joint_names]
        self.model = pin.buildReducedModel(full, locked, pin.neutral(full))
        self.data = self.model.createData()
        self.joint_names = [self.model.names[i] for i in range(1, self.model.njoints)]
        if self.joint_names != list(arm_joint_names):
            # Pinocchio orders joints by the tree; callers index by this order.
            order = {name: i for i, name in enumerate(self.joint_names)}
            raise KinematicsError(f'arm_joint_names must follow the kinematic tree order '
                                  f'{sorted(arm_joint_names, key=order.get)}')
        if self.model.nq != len(arm_joint_names):
            raise KinematicsError('only single-DOF revolute or prismatic arm joints are supported')
        if not self.model.existFrame(tcp_frame):
            raise KinematicsError(f"TCP frame '{tcp_frame}' is not in {description_path}")
        offset, rpy = (np.asarray(v, dtype=float) for v in (tcp_offset, tcp_rpy))
        for name, value in (('tcp_offset', offset), ('tcp_rpy', rpy)):
            if value.shape != (3,) or not np.all(np.isfinite(value)):
                raise KinematicsError(f'{name} must be 3 finite numbers, got {value.tolist()}')
        anchor = self.model.frames[self.model.getFrameId(tcp_frame)]
        self.tcp_frame_id = self.model.addFrame(pin.Frame(
            'hilserl_tcp', anchor.parentJoint, self.model.getFrameId(tcp_frame),
            anchor.placement * pin.SE3(pin.rpy.rpyToMatrix(rpy), offset),
            pin.FrameType.OP_FRAME))
        self.data = self.model.createData()
        self.lower = self.model.lowerPositionLimit.copy()
        self.upper = self.model.upperPositionLimit.copy()
        # Fixed (seeded) postures across the joint ranges, for retries; fixed so that
        # the same target always gives the same answer. A continuous joint (no limits)
        # is seeded over one turn.
        low = np.where(np.isfinite(self.lower), self.lower, -np.pi)
        high = np.where(np.isfinite(self.upper), self.upper, np.pi)
        fractions = np.random.default_rng(0).uniform(0.15, 0.85, (4, self.model.nq))
        self._spread_seeds = low + fractions * (high - low)
        self._middle = (low + high) / 2

    def forward(self, q: np.ndarray):
        """Return the TCP ``(position (3,), rotation (3, 3))`` for joint positions ``q``."""
        pin.framesForwardKinematics(self.model, self.data, np.asarray(q, dtype=float))
        placement = self.data.oMf[self.tcp_frame_id]
        return placement.translation.copy(), placement.rotation.copy()

    @staticmethod
    def _prioritised_step(jacobian, error_p, to_rest, error_r, rotation_weight, damping,
                          rest_gain):
        """Return Δq for the position task, then orientation, then rest (module docstring)."""
        jacobian_p, jacobian_r = jacobian[:3], jacobian[3:]
        identity = _identity(jacobian.shape[1])
        pinv_p = damped_pinv(jacobian_p, damping)
        step = pinv_p @ error_p
        null = identity - pinv_p @ jacobian_p
        if error_r is not None:
            projected = jacobian_r @ null
            pinv_r = damped_pinv(projected, damping)
            # rotation_weight scales how much of the orientation error one iteration
            # corrects; the position task is never traded for it.
            step += null @ (pinv_r @ (rotation_weight * error_r - jacobian_r @ step))
            null = null @ (identity - pinv_r @ projected)
        return step + null @ (rest_gain * to_rest)

    def inverse(self, target_position: np.ndarray, q_seed: np.ndarray,
                target_rotation: Optional[np.ndarray] = None,
                q_rest: Optional[np.ndarray] = None, rotation_weight: float = 0.5,
                max_iterations: int = 30, tolerance: float = 5e-4,
                damping: float = 1e-3, rest_gain: float = 0.05) -> IKResult:
        """
        Return joint positions within limits that put the TCP at ``target_position``.

        The default ``tolerance`` of 0.5 mm is about one encoder tick of an STS3215
        servo at 30 cm. Solves from ``q_seed``; a local solve that ends short of the
        target (stuck at a joint limit) is retried from the rest posture, the middle of
        the joint ranges and a few fixed spread-out postures, and the result closest to the
        target is returned. See :meth:`solve_from` for the other arguments.
        """
        arguments = dict(target_rotation=target_rotation, q_rest=q_rest,
                         rotation_weight=rotation_weight, max_iterations=max_iterations,
                         tolerance=tolerance, damping=damping, rest_gain=rest_gain)
        best = self.solve_from(target_position, q_seed, **arguments)
        if best.position_error < tolerance:
            return best
        for seed in (q_rest, self._middle, *self._spread_seeds):
            if seed is None:
                continue
            result = self.solve_from(target_position, seed, **arguments)
            if result.position_error < best.position_error:
                best = result
            if best.position_error < tolerance:
                break
        return best

    def solve_from(self, target_position: np.ndarray, q_seed: np.ndarray,
                   target_rotation: Optional[np.ndarray] = None,
                   q_rest: Optional[np.ndarray] = None, rotation_weight: float = 0.5,
                   max_iterations: int = 30, tolerance: float = 5e-4,
                   damping: float = 1e-3, rest_gain: float = 0.05) -> IKResult:
        """
        Solve IK locally from ``q_seed`` for the TCP at ``target_position``, within limits.

        ``target_rotation`` (3×3) adds an orientation task below the position task;
        ``rotation_weight`` in (0, 1] is the share of the orientation error one
        iteration corrects (1 is fastest, lower is smoother). Converged means the position is
        within ``tolerance`` metres (and the orientation within 10·tolerance rad).
        An arm with fewer than six joints cannot match every orientation: the solve
        also ends, converged, once the position is reached and the orientation error
        stops shrinking.
        """
        q = np.clip(np.asarray(q_seed, dtype=float), self.lower, self.upper)
        q_rest = q if q_rest is None else np.asarray(q_rest, dtype=float)
        target_position = np.asarray(target_position, dtype=float)
        position_error = rotation_error = np.inf
        previous_position_error = previous_rotation_error = np.inf
        for iteration in range(1, max_iterations + 1):
            jacobian = pin.computeFrameJacobian(self.model, self.data, q, self.tcp_frame_id,
                                                pin.LOCAL_WORLD_ALIGNED)
            placement = self.data.oMf[self.tcp_frame_id]
            error_p = target_position - placement.translation
            position_error = float(np.linalg.norm(error_p))
            rotation_error = 0.0
            if target_rotation is not None:
                # Orientation error as a rotation vector in the world frame.
                error_r = pin.log3(target_rotation @ placement.rotation.T)
                rotation_error = float(np.linalg.norm(error_r))
            # Done when the position is there and the orientation is, or has stopped
            # improving: the best a short-of-six-joints arm can do.
            # Gains under 2 % of the remaining error per iteration: it has settled.
            rotation_stuck = (previous_rotation_error - rotation_error
                              < max(1e-4, 0.02 * rotation_error))
            if position_error < tolerance and (rotation_error < 10 * tolerance or rotation_stuck):
                return IKResult(q, position_error, rotation_error, iteration - 1, True)
            if previous_position_error - position_error < 1e-6 and rotation_stuck:
                break  # out of reach (joint limits): nothing improves any more
            previous_position_error, previous_rotation_error = position_error, rotation_error
            free = np.ones(self.model.nv, dtype=bool)
            for _ in range(2):
                # A joint the step would push past its limit is pinned there and the
                # step is solved again without it, so the other joints make up for it.
                step = self._prioritised_step(jacobian * free, error_p, q_rest - q,
                                              None if target_rotation is None else error_r,
                                              rotation_weight, damping, rest_gain)
                past = ((q + step < self.lower) | (q + step > self.upper)) & free
                if not past.any():
                    break
                free &= ~past
            q_next = np.clip(q + step, self.lower, self.upper)
            stalled = np.max(np.abs(q_next - q)) < 1e-4  # rad: well below a servo tick
            q = q_next
            if stalled:
                break
        return IKResult(q, position_error, rotation_error, iteration,
                        position_error < tolerance and target_rotation is None)
