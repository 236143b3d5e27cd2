"""
HIL-SERL on a Gymnasium environment in one process, counted in environment steps; no ROS.

:func:`hilserl.sim.training.train` (demonstrations, pretraining, online steps with the
learner's updates after each, evaluations of the deterministic policy) with an
environment of an environment file (:mod:`hilserl.sim.gym.env_file`) in place of the
simulated arm:

- :class:`GymTask` steps the environment through :class:`hilserl.sim.gym.environment.EnvArm`
  with the suite's actions, and gives the policy the state vector the actor builds from
  what the ``gym_env`` node publishes (its joints, gripper and TCP entries);
- the human is the suite's scripted human (:mod:`hilserl.human.scripted_human`) on its
  ``reach`` task: it moves the TCP toward the environment's goal, the ``desired_goal``
  entries of a goal-conditioned environment (panda-gym, Gymnasium-Robotics), a
  proportional controller whose full command is ``step_size`` metres (panda-gym's 5 cm);
  it takes over as in train mode (when the TCP strays or stalls, in an episode it pays
  attention to), records the demonstrations, and reports the env's success. So this
  fits reaching tasks only; the env's own success (``info['is_success']``) decides.

Episode k of a kind uses the environment's seed :func:`hilserl.sim.training.layout_seed`
gives, and evaluations the fixed seeds from ``EVAL_SEED``, as on the simulated arm.
"""

from typing import Dict

import numpy as np

from hilserl.actor.observation_state import action_from_command, state_names, state_vector
from hilserl.sim.gym.environment import EnvArm, EnvError, EnvSettings, EnvStep, TCP_DOWN
from hilserl.human.scripted_human import HumanSettings, InterventionSettings, ScriptedHuman
from hilserl.human.scripted_policy import ScriptedConfig
from hilserl.sim.sim_arm import GroundTruth
from hilserl.sim.training import FPS, RunResult, RunSettings, train

GOAL_KEY = 'desired_goal'
PANDA_GYM_STEP_M = 0.05     # panda-gym moves the tip 5 cm per full action
HUMAN_GAIN = 0.8            # fraction of the remaining distance asked for per step


class GymTask:
    """An environment stepped once per policy step, as :class:`hilserl.sim.training.SimTask`."""

    cameras: Dict[str, tuple] = {}   # the policy sees the state (no frozen encoder here)
    encode = None

    def __init__(self, settings: EnvSettings, goal_key: str = GOAL_KEY):
        """Make the environment (no rendering) and learn its layout from a first reset."""
        self.arm = EnvArm(settings, cameras=False)
        first = self.arm.reset(seed=0)
        self.goal_entries = tuple(f'{goal_key}.{i}' for i in range(3))
        if not all(name in first.state for name in self.goal_entries):
            raise EnvError(f'{settings.env_id} has no {goal_key} of 3 values for the '
                           f"scripted human to reach; its entries are {', '.join(first.state)}")
        if not self.arm.layout.tcp_position:
            raise EnvError(f'{settings.env_id}: name its TCP position entries (tcp_position) '
                           'for the scripted human')
        self._last: EnvStep = first

    @property
    def state_dim(self) -> int:
        """Return the length of the state vector."""
        return len(state_names(self.arm.layout.joints))

    def reset(self, seed: int) -> GroundTruth:
        """Start an episode from the environment's ``seed``."""
        self._last = self.arm.reset(seed=seed)
        return self._truth()

    def observe(self, truth: GroundTruth) -> Dict[str, np.ndarray]:
        """Return the actor's observation: the state vector of the last step."""
        layout = self.arm.layout
        joints = dict(zip([*layout.joints, layout.gripper],
                          self.arm.joint_positions(self._last)))
        return {'state': state_vector(joints, layout.joints, layout.gripper,
                                      self.arm.tcp_position(self._last), TCP_DOWN)}

    def step(self, delta_xyz, gripper: int) -> GroundTruth:
        """Send one suite command (delta in [-1, 1], a gripper command) to the environment."""
        self._last = self.arm.step(action_from_command(delta_xyz, gripper))
        return self._truth()

    def _truth(self) -> GroundTruth:
        tcp = np.array(self.arm.tcp_position(self._last))
        goal = np.array([self._last.state[name] for name in self.goal_entries])
        return GroundTruth(cube_position=goal, cube_quaternion=np.array([1.0, 0, 0, 0]),
                           target_position=goal, tcp_position=tcp, grasped=False,
                           success=self._last.success,
                           dense_reward=-float(np.linalg.norm(goal - tcp)))

    def close(self) -> None:
        """Close the environment."""
        self.arm.close()


def reach_human(step_size: float = PANDA_GYM_STEP_M, episode_steps: int = 50):
    """
    Return a :func:`hilserl.sim.training.scripted_human` for a :class:`GymTask`.

    The human reaches the goal with commands of ``step_size`` metres per unit, and never
    calls an episode stalled within its ``episode_steps``.
    """
    scripted = ScriptedConfig(step_sizes=(step_size,) * 3, gain=HUMAN_GAIN)

    def make(task: GymTask, mode: str, seed: int = 0, **intervention) -> ScriptedHuman:
        return ScriptedHuman(HumanSettings(
            task='reach', scripted=scripted, stall_steps=episode_steps + 1,
            intervention=InterventionSettings(mode=mode, seed=seed, **intervention)))
    return make


def train_on_env(env_settings: EnvSettings, settings: RunSettings,
                 step_size: float = PANDA_GYM_STEP_M, progress=None) -> RunResult:
    """
    Train on the environment of ``env_settings``; ``settings`` as on the simulated arm.

    Its ``robot``, ``task`` and image fields are unused; ``control_time_s`` at the
    actor's FPS gives the episodes' length (5 s: panda-gym's 50 steps).
    """
    if settings.policy_inputs != 'state':
        raise ValueError('an environment trains here with policy_inputs state only')
    tasks = (GymTask(env_settings), GymTask(env_settings))
    episode_steps = int(round(settings.control_time_s * FPS))
    try:
        return train(settings, progress, tasks=tasks,
                     make_human=reach_human(step_size, episode_steps))
    finally:
        for task in tasks:
            task.close()
