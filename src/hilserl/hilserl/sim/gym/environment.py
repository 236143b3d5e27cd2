"""
A Gymnasium environment as an arm of the suite: observations, actions, rewards; no ROS.

:class:`EnvArm` wraps ``gymnasium.make(id)`` (its namespace module, ``gym_hil`` of
``gym_hil/PandaPickCubeBase-v0`` say, imported first so that it registers its ids) and
speaks the suite's language:

- **State.** The observation is flattened into named entries: a Box ``obs`` of 3 values
  gives ``obs.0``, ``obs.1``, ``obs.2``; a Dict gives ``<key>.<i>`` per key, nested keys
  joined by dots (``agent_pos.0`` .. ``agent_pos.17``, ``environment_state.0`` ..). One
  entry may be named the gripper and three the TCP position (:class:`EnvSettings`); the
  node publishes the rest as joints, so the actor's state vector
  (:mod:`hilserl.actor.observation_state`) holds every entry once. Without a named gripper
  or TCP those places of the state hold constants (0, and the TCP pointing down), which
  the learner's normaliser maps to 0.
- **Cameras.** Image entries of the observation (uint8 Boxes of shape H x W x 3, e.g.
  ``pixels.front``) are camera frames named by their last key; an observation without
  images gives ``env.render()``'s frame (or frames: a list is one per camera) when
  cameras are asked for.
- **Action.** The suite's action is ``[dx, dy, dz, gripper]`` in [-1, 1] (gripper -1
  close, +1 open). Each value of the env's Box action takes one of those, negated with a
  leading ``-`` (``-gripper`` where the env closes at its high end), or ``zero``; times
  its ``action_scale``; mapped linearly from [-1, 1] onto the Box's [low, high] (onto
  ``[-1, 1]`` scaled as given where a bound is infinite) and clipped there; ``zero`` is
  the middle of the Box. Without a map, a Box of n <= 4 values takes the first n of
  ``dx, dy, dz, gripper``; a larger one needs a map (a clear error says so).
- **Reward and success.** The env's reward is reported as is; success is the first of
  the info keys ``is_success`` (panda-gym, Gymnasium-Robotics), ``succeed`` (gym-hil) and
  ``success`` that the env sets.
"""

from dataclasses import dataclass, field
import importlib
import re
import warnings
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

# What each value of the env's action can take from the suite's [dx, dy, dz, gripper].
ACTION_SOURCES = ('dx', 'dy', 'dz', 'gripper')
ZERO = 'zero'
SUCCESS_KEYS = ('is_success', 'succeed', 'success')
# The TCP orientation published for an env without one: pointing down, as
# hilserl.actor.observation_state's ORIENTATION_REFERENCE (x, y, z, w).
TCP_DOWN = (1.0, 0.0, 0.0, 0.0)


class EnvError(ValueError):
    """An environment that cannot be made, or settings that do not fit it."""


class RenderError(EnvError):
    """An environment that cannot render its frames here."""


class StepError(EnvError):
    """An environment whose own step failed (a bug of its, or a library it does not fit)."""


@dataclass(frozen=True)
class EnvSettings:
    """Which environment to make and how its observation and action meet the suite's."""

    env_id: str
    # Keyword arguments of gymnasium.make (e.g. {'image_obs': True}).
    kwargs: Mapping[str, object] = field(default_factory=dict)
    # One source per value of the env's action: dx, dy, dz, gripper (with an optional
    # leading '-') or zero; () picks one by the action's size.
    action: Tuple[str, ...] = ()
    # Factors of the sources, one per action value; () is all 1.
    action_scale: Tuple[float, ...] = ()
    # The state entry published as the gripper joint ('' none).
    gripper: str = ''
    # The three state entries published as the TCP position (() none).
    tcp_position: Tuple[str, ...] = ()
    # Names of the frames env.render() returns, in order (() 'render', 'render1', ...).
    render_cameras: Tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvLayout:
    """What an environment publishes: its state entries, which are joints, its cameras."""

    entries: Tuple[str, ...]        # every state entry, in observation order
    joints: Tuple[str, ...]         # the entries published as arm joints
    gripper: str                    # the gripper joint's name (an entry or 'gripper')
    tcp_position: Tuple[str, ...]   # entries of the TCP position, () none
    cameras: Tuple[str, ...]        # camera names
    image_sizes: Mapping[str, Tuple[int, int]]   # camera -> (width, height)
    action_size: int
    # Whether the cameras are the observation's own images (else env.render()'s frames).
    observed_images: bool = False


@dataclass
class EnvStep:
    """One observation of the environment and what the step that led to it earned."""

    state: Dict[str, float]
    frames: Dict[str, np.ndarray]
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    success: bool = False


def make_env(settings: EnvSettings, render: bool = False):
    """Return ``gymnasium.make(settings.env_id, **kwargs)``, or an EnvError saying why not."""
    try:
        import gymnasium
    except ImportError:
        raise EnvError('gymnasium is not installed (make setup installs it)') from None
    namespace = settings.env_id.split('/')[0] if '/' in settings.env_id else ''
    registered = any(key.startswith(f'{namespace}/') for key in gymnasium.envs.registry)
    if namespace and not registered:
        try:
            importlib.import_module(namespace)   # registers its ids
        except ImportError as error:
            raise EnvError(f'{settings.env_id}: cannot import {namespace}, which registers '
                           f'it: {error}') from None
    kwargs = dict(settings.kwargs)
    kwargs.setdefault('disable_env_checker', True)   # the suite checks what it reads
    if render and 'render_mode' not in kwargs:
        try:
            return _make(gymnasium, settings.env_id, dict(kwargs, render_mode='rgb_array'))
        except EnvError as error:
            if 'render_mode' not in str(error):
                raise
            # An env whose constructor takes no render_mode renders nothing here.
    return _make(gymnasium, settings.env_id, kwargs)


def _make(gymnasium, env_id: str, kwargs: Dict[str, object]):
    try:
        with warnings.catch_warnings():
            # Registration-time notes (a Box's precision lowered to float32, say).
            warnings.simplefilter('ignore', UserWarning)
            return gymnasium.make(env_id, **kwargs)
    except gymnasium.error.Error as error:
        raise EnvError(f'{env_id}: {error}') from None
    except TypeError as error:   # an unknown keyword argument
        raise EnvError(f'{env_id} with {kwargs}: {error}') from None


def flatten_observation(observation, prefix: str = 'obs'
                        ) -> Tuple[Dict[str, float], Dict[str, np.ndarray]]:
    """
    Return ``(state entries, frames)`` of an observation (see the module docstring).

    A dict's keys are taken in its own order; a top-level dict's entries are named by
    their keys alone.
    """
    state: Dict[str, float] = {}
    frames: Dict[str, np.ndarray] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f'{path}.{key}' if path else str(key))
            return
        if isinstance(value, (tuple, list)):
            for index, item in enumerate(value):
                walk(item, f'{path}.{index}')
            return
        array = np.asarray(value)
        if array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8:
            frames[camera_name(path)] = np.ascontiguousarray(array)
            return
        for index, number in enumerate(array.reshape(-1).tolist()):
            state[f'{path}.{index}'] = float(number)

    walk(observation, '' if isinstance(observation, Mapping) else prefix)
    return state, frames


def camera_name(path: str) -> str:
    """Return a topic-safe camera name for an observation key (its last part)."""
    name = re.sub(r'[^a-z0-9_]', '_', path.split('.')[-1].lower()) or 'camera'
    return name if name[0].isalpha() else f'camera_{name}'


def render_frames(env, names: Sequence[str]) -> Dict[str, np.ndarray]:
    """Return ``env.render()``'s frame(s) by camera name (none if it renders nothing)."""
    try:
        rendered = env.render()
    except Exception as error:   # a missing backend (pygame, OpenGL) or none configured
        raise RenderError(f'env.render() failed: {type(error).__name__}: {error}') from None
    if rendered is None:
        return {}
    if isinstance(rendered, np.ndarray) and rendered.ndim == 3:
        rendered = [rendered]
    frames = {}
    for index, frame in enumerate(rendered):
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise EnvError(f'env.render() returned a frame of shape {frame.shape}; '
                           'expected height x width x 3')
        name = (names[index] if index < len(names)
                else 'render' if index == 0 else f'render{index}')
        frames[name] = np.ascontiguousarray(frame[..., :3].astype(np.uint8, copy=False))
    return frames


class ActionMap:
    """The suite's ``[dx, dy, dz, gripper]`` onto an environment's Box action."""

    def __init__(self, space, action: Sequence[str] = (), scale: Sequence[float] = (),
                 env_id: str = 'the environment'):
        """Check ``action`` and ``scale`` against the Box ``space``; EnvError if they misfit."""
        if type(space).__name__ != 'Box' or len(space.shape) != 1:
            raise EnvError(f'{env_id} has a {space} action; the suite drives 1-D Box actions')
        size = space.shape[0]
        if not action:
            if size > len(ACTION_SOURCES):
                raise EnvError(
                    f"{env_id}'s action has {size} values; the suite's is [dx, dy, dz, "
                    'gripper]: give an action map, one source per value (dx, dy, dz, '
                    'gripper, a leading - to negate one, or zero)')
            action = ACTION_SOURCES[:size]
        if len(action) != size:
            raise EnvError(f"{env_id}'s action has {size} values; the action map gives "
                           f'{len(action)} ({", ".join(action)})')
        scale = tuple(float(v) for v in scale) or (1.0,) * size
        if len(scale) != size:
            raise EnvError(f'action_scale has {len(scale)} values; {env_id} has {size} '
                           'action values')
        self.index = np.zeros(size, dtype=int)
        self.factor = np.zeros(size)
        for i, source in enumerate(action):
            name = source.lstrip('-')
            if source == ZERO:
                continue
            if name not in ACTION_SOURCES or source.count('-') > 1:
                raise EnvError(f"action map: '{source}' is not one of dx, dy, dz, gripper "
                               '(a leading - negates it) or zero')
            self.index[i] = ACTION_SOURCES.index(name)
            self.factor[i] = (-1.0 if source.startswith('-') else 1.0) * scale[i]
        low = np.asarray(space.low, dtype=float)
        high = np.asarray(space.high, dtype=float)
        finite = np.isfinite(low) & np.isfinite(high)
        self.low, self.high = low, high
        low_part, high_part = np.where(finite, low, 0.0), np.where(finite, high, 0.0)
        self.center = (low_part + high_part) / 2
        self.half = np.where(finite, (high_part - low_part) / 2, 1.0)
        self.dtype = space.dtype
        self.sources = tuple(action)

    def __call__(self, suite_action: Sequence[float]) -> np.ndarray:
        """Return the env's action for a suite action (4 finite values)."""
        suite = np.asarray(suite_action, dtype=float).reshape(-1)
        if suite.shape != (len(ACTION_SOURCES),) or not np.all(np.isfinite(suite)):
            raise EnvError(f'a suite action is 4 finite values [dx, dy, dz, gripper], got '
                           f'{suite.tolist()}')
        values = self.factor * np.clip(suite, -1.0, 1.0)[self.index]
        return np.clip(self.center + self.half * values, self.low,
                       self.high).astype(self.dtype)


def success_of(info: Mapping[str, object]) -> bool:
    """Return the success an env's info reports (False where it reports none)."""
    for key in SUCCESS_KEYS:
        if key in info:
            return bool(np.asarray(info[key]).any())
    return False


class EnvArm:
    """A Gymnasium environment stepped with suite actions; see the module docstring."""

    def __init__(self, settings: EnvSettings, cameras: bool = True):
        """Make the env; ``cameras=False`` renders nothing (image observations stay)."""
        self.settings = settings
        self._cameras = cameras
        self.env = make_env(settings, render=cameras)
        self.actions = ActionMap(self.env.action_space, settings.action,
                                 settings.action_scale, settings.env_id)
        self.layout: Optional[EnvLayout] = None
        self.last: Optional[EnvStep] = None

    def reset(self, seed: Optional[int] = None) -> EnvStep:
        """Start an episode (seeded when ``seed`` is given) and return its first observation."""
        observation, _ = self.env.reset(seed=seed)
        return self._observe(observation)

    def step(self, suite_action: Sequence[float]) -> EnvStep:
        """Act with a suite action; return the new observation, reward and its ending."""
        action = self.actions(suite_action)
        try:
            observation, reward, terminated, truncated, info = self.env.step(action)
        except Exception as error:   # whatever the env's own code raises
            raise StepError(f'{self.settings.env_id}: env.step failed: '
                            f'{type(error).__name__}: {error}') from error
        result = self._observe(observation)
        result.reward = float(reward)
        result.terminated, result.truncated = bool(terminated), bool(truncated)
        result.success = success_of(info)
        return result

    def _observe(self, observation) -> EnvStep:
        state, frames = flatten_observation(observation)
        observed = bool(frames)
        if self._cameras and not frames:
            frames = render_frames(self.env, self.settings.render_cameras)
        if self.layout is None:
            self.layout = layout_of(self.settings, state, frames,
                                    self.env.action_space.shape[0], observed)
        elif list(state) != list(self.layout.entries):
            raise EnvError(f'{self.settings.env_id} changed its observation entries')
        self.last = EnvStep(state, frames)
        return self.last

    def joint_positions(self, step: EnvStep) -> List[float]:
        """Return the published joints' values, arm entries then the gripper."""
        values = [step.state[name] for name in self.layout.joints]
        gripper = self.layout.gripper
        return values + [step.state[gripper] if gripper in step.state else 0.0]

    def tcp_position(self, step: EnvStep) -> Tuple[float, float, float]:
        """Return the TCP position the state names (zeros without one)."""
        if not self.layout.tcp_position:
            return (0.0, 0.0, 0.0)
        x, y, z = (step.state[name] for name in self.layout.tcp_position)
        return (x, y, z)

    def close(self) -> None:
        """Close the environment (its renderer)."""
        self.env.close()


def layout_of(settings: EnvSettings, state: Mapping[str, float],
              frames: Mapping[str, np.ndarray], action_size: int,
              observed_images: bool = False) -> EnvLayout:
    """Return the layout of an observation, checking the named gripper and TCP entries."""
    named = ([settings.gripper] if settings.gripper else []) + list(settings.tcp_position)
    unknown = [name for name in named if name not in state]
    if unknown:
        raise EnvError(f'{settings.env_id} has no state entry {", ".join(unknown)}; its '
                       f'entries are {", ".join(state) or "none"}')
    if settings.tcp_position and len(settings.tcp_position) != 3:
        raise EnvError(f'tcp_position needs 3 state entries, got {len(settings.tcp_position)}')
    joints = tuple(name for name in state if name not in named)
    return EnvLayout(entries=tuple(state), joints=joints,
                     gripper=settings.gripper or 'gripper',
                     tcp_position=tuple(settings.tcp_position), cameras=tuple(frames),
                     image_sizes={name: (frame.shape[1], frame.shape[0])
                                  for name, frame in frames.items()},
                     action_size=action_size, observed_images=observed_images)


def describe(settings: EnvSettings, cameras: bool = True) -> EnvLayout:
    """
    Make the environment once, reset it and return its layout (for the launcher).

    An environment that cannot render here (no pygame for a classic-control env, say)
    is described without rendered cameras: a state-only policy still trains on it.
    """
    arm = EnvArm(settings, cameras)
    try:
        arm.reset(seed=0)
        return arm.layout
    except RenderError:
        if not cameras:
            raise
        return describe(settings, cameras=False)
    finally:
        arm.close()
