"""
The policy's state vector and action vector, shared by record mode and the actor; no ROS.

State, in this order (``state_names``): each arm joint's position (``joint.<name>``,
rad), the gripper joint's position (``gripper``), the TCP position (``tcp.x``,
``tcp.y``, ``tcp.z``, m, base frame) and orientation as a unit quaternion
(``tcp.qx`` .. ``tcp.qw``), then, in simulation only and when asked for, the object's
position from the simulator's ground truth (``object.x``, ``object.y``, ``object.z``,
m; a state-only policy cannot see the cube otherwise) and where it is from the TCP
(``object.dx``, ``object.dy``, ``object.dz``: object minus TCP, m). The network could
compute the difference itself, but given it, it learns the reach in fewer steps (in a
seed-0 run of the simulated pick-lift, one update per step, the evaluation success
after 8000 steps went from 0.0 without it to 0.3 with it). ``q`` and ``-q`` are the same
rotation; the state holds the one on the side of :data:`ORIENTATION_REFERENCE` (the
TCP's approach axis pointing straight down, where a tabletop arm works), so the sign,
and with it the state, jumps only for a TCP pointing up. (Keeping ``qw >= 0`` instead
would flip it right at the pointing-down pose, where ``qw`` is about 0.)

Action: ``[dx, dy, dz, gripper]``, the move in [-1, 1] per axis (scaled by the safety
filter's step sizes) then the gripper command -1 close, 0 stay, +1 open, the
continuous form of ``hilserl_learning.gripper`` (``index = command + 1``), whose
indices are also EndEffectorCommand's GRIPPER_CLOSE/STAY/OPEN values.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

GRIPPER_CLOSE, GRIPPER_STAY, GRIPPER_OPEN = 0, 1, 2
ACTION_NAMES = ('dx', 'dy', 'dz', 'gripper')
# A continuous gripper command beyond this (either sign) closes or opens.
GRIPPER_DEADBAND = 0.5
# (x, y, z, w): a half turn about x, the TCP z axis (approach) pointing down.
ORIENTATION_REFERENCE = (1.0, 0.0, 0.0, 0.0)


OBJECT_POSITION_NAMES = ('object.x', 'object.y', 'object.z',
                         'object.dx', 'object.dy', 'object.dz')


def state_names(arm_joint_names: Sequence[str], object_position: bool = False) -> List[str]:
    """Return the name of every entry of the state vector (with the object's position)."""
    return ([f'joint.{name}' for name in arm_joint_names] + ['gripper']
            + ['tcp.x', 'tcp.y', 'tcp.z', 'tcp.qx', 'tcp.qy', 'tcp.qz', 'tcp.qw']
            + (list(OBJECT_POSITION_NAMES) if object_position else []))


def state_vector(joint_positions: Dict[str, float], arm_joint_names: Sequence[str],
                 gripper_joint_name: str, tcp_position: Sequence[float],
                 tcp_quaternion_xyzw: Sequence[float],
                 object_position: Optional[Sequence[float]] = None) -> np.ndarray:
    """
    Return the state vector (float32) in :func:`state_names` order.

    ``joint_positions`` maps joint names to positions (a JointState's name/position);
    a missing joint or a non-finite value is a ValueError naming it. With
    ``object_position`` (x, y, z from the simulator) the state ends with it and with
    its offset from the TCP.
    """
    values = []
    for name in list(arm_joint_names) + [gripper_joint_name]:
        if name not in joint_positions:
            raise ValueError(f'joint {name!r} is missing from the joint states '
                             f'({", ".join(joint_positions) or "none"})')
        values.append(float(joint_positions[name]))
    position = np.asarray(tcp_position, dtype=float)
    quaternion = np.asarray(tcp_quaternion_xyzw, dtype=float)
    if position.shape != (3,) or quaternion.shape != (4,):
        raise ValueError('the TCP needs a 3-D position and an (x, y, z, w) quaternion')
    norm = np.linalg.norm(quaternion)
    if not norm > 0:
        raise ValueError('the TCP quaternion is zero')
    quaternion = quaternion / norm
    if quaternion @ np.asarray(ORIENTATION_REFERENCE) < 0:
        quaternion = -quaternion
    extra = []
    if object_position is not None:
        object_xyz = np.asarray(object_position, dtype=float)
        if object_xyz.shape != (3,):
            raise ValueError('the object position needs 3 values (x, y, z)')
        extra = object_xyz.tolist() + (object_xyz - position).tolist()
    state = np.array(values + position.tolist() + quaternion.tolist() + extra,
                     dtype=np.float32)
    if not np.all(np.isfinite(state)):
        names = state_names(arm_joint_names, object_position is not None)
        bad = [name for name, value in zip(names, state)
               if not np.isfinite(value)]
        raise ValueError(f'non-finite state entries: {", ".join(bad)}')
    return state


def action_from_command(delta_xyz: Sequence[float], gripper: int) -> np.ndarray:
    """Return ``[dx, dy, dz, gripper]`` (float32) for an EndEffectorCommand's fields."""
    if gripper not in (GRIPPER_CLOSE, GRIPPER_STAY, GRIPPER_OPEN):
        raise ValueError(f'gripper must be 0 (close), 1 (stay) or 2 (open), got {gripper}')
    return np.array([*(float(v) for v in delta_xyz), float(gripper) - 1.0], dtype=np.float32)


def command_from_action(action: Sequence[float]) -> Tuple[List[float], int]:
    """
    Return ``(delta_xyz, gripper)`` EndEffectorCommand fields for an action vector.

    The move is clipped to [-1, 1]; a continuous gripper value below
    ``-GRIPPER_DEADBAND`` closes, above ``+GRIPPER_DEADBAND`` opens, else stays.
    """
    action = np.asarray(action, dtype=float)
    if action.shape != (4,) or not np.all(np.isfinite(action)):
        raise ValueError(f'an action is 4 finite values [dx, dy, dz, gripper], got {action}')
    delta = np.clip(action[:3], -1.0, 1.0).tolist()
    gripper = (GRIPPER_CLOSE if action[3] < -GRIPPER_DEADBAND
               else GRIPPER_OPEN if action[3] > GRIPPER_DEADBAND else GRIPPER_STAY)
    return delta, gripper
