"""
Read recorded datasets (see :mod:`hilserl.dataset.bag_format`) into aligned NumPy arrays.

Records of one control step share one log time; the reader groups them by it and checks
that every /episode_step record has exactly one frame per camera. Only ``rosbags`` is
used, so this runs without a ROS graph (the message definitions come from the installed
hilserl_interfaces).

An :class:`Episode` of T steps maps to the learner's replay buffer as T transitions:
step t pairs observation t (state t, frames t) and action t with reward t, the flags of
step t and observation t + 1 as the next observation; the last step's next observation
is the final-observation record, so a truncated episode bootstraps from it.
:func:`iter_transitions` yields them as ``hilserl_learning.add_transition`` takes them.
"""

from dataclasses import dataclass, field, replace
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from hilserl.dataset import bag_format
from hilserl.dataset.bag_reading import (bag_messages, camera_topics, DatasetError,
                                         deserialize, image_to_rgb, list_events)

__all__ = ['DatasetError', 'Episode', 'episode_paths', 'iter_transitions', 'read_dataset',
           'read_episode', 'summarize']

STEP_TYPE = bag_format.MESSAGE_TYPES[bag_format.EPISODE_STEP_TOPIC]
EVENT_TYPE = bag_format.MESSAGE_TYPES[bag_format.EPISODE_EVENTS_TOPIC]


@dataclass
class Episode:
    """One recorded episode of T steps as aligned arrays."""

    path: str
    index: int
    camera_names: List[str]
    image_kind: str
    state_names: List[str]
    states: np.ndarray          # float32 [T+1, S]: observation of each step, then the final
    images: Dict[str, np.ndarray]   # camera -> uint8 [T+1, H, W, 3] RGB; {} without images
    actions: np.ndarray         # float32 [T, A]
    rewards: np.ndarray         # float32 [T]
    terminated: np.ndarray      # bool [T]
    truncated: np.ndarray       # bool [T]
    interventions: np.ndarray   # bool [T]
    events: List[Tuple[int, str]] = field(default_factory=list)   # (step index, name)
    image_shapes: Dict[str, Tuple[int, int, int]] = field(default_factory=dict)

    @property
    def length(self) -> int:
        """Return the number of steps T."""
        return len(self.actions)

    @property
    def success(self) -> bool:
        """Return whether any step was rewarded."""
        return bool(np.any(self.rewards > 0))

    def with_state(self, names: Sequence[str]) -> 'Episode':
        """
        Return the episode with the state entries ``names``, in that order.

        A recording keeps every entry it was made with (in simulation, maybe the object's
        position), so a run can take the layout it is configured for from it; an entry
        the recording lacks is a DatasetError naming it.
        """
        names = list(names)
        missing = [name for name in names if name not in self.state_names]
        if missing:
            raise DatasetError(f'{self.path} has no state entries {missing} (it has '
                               f'{self.state_names})')
        columns = [self.state_names.index(name) for name in names]
        return replace(self, state_names=names, states=self.states[:, columns])


def episode_paths(paths: Sequence[str]) -> List[str]:
    """Expand dataset directories into their episode bags; an episode bag stays itself."""
    import os
    found = []
    for path in paths:
        if os.path.isfile(os.path.join(path, 'metadata.yaml')):
            found.append(path)
            continue
        episodes = bag_format.episode_directories(path) if os.path.isdir(path) else []
        if not episodes:
            what = 'does not exist' if not os.path.exists(path) else (
                'is neither an episode bag (no metadata.yaml) nor a dataset '
                '(no episode_NNNN directories)')
            raise DatasetError(f'{path} {what}')
        found.extend(episodes)
    return found


def read_dataset(paths: Sequence[str], image_kind: Optional[str] = None,
                 load_images: bool = True) -> List[Episode]:
    """Read every episode of the given datasets or episode bags, in order."""
    return [read_episode(path, image_kind, load_images) for path in episode_paths(paths)]


def read_episode(bag_dir: str, image_kind: Optional[str] = None,
                 load_images: bool = True) -> Episode:
    """
    Read one episode bag into an :class:`Episode`.

    ``image_kind`` chooses ``/<camera>/image_processed`` or ``image_raw`` frames (None:
    processed when the bag has them); without ``load_images`` only the alignment is
    checked and ``images`` stays empty.
    """
    steps: List[Tuple[int, bytes]] = []
    events: List[Tuple[int, bytes]] = []
    frames: Dict[str, Dict[int, List[bytes]]] = {}
    with bag_messages(bag_dir) as (topics, records):
        if bag_format.EPISODE_STEP_TOPIC not in topics:
            raise DatasetError(f'{bag_dir} has no {bag_format.EPISODE_STEP_TOPIC} topic: '
                               'not a recorded episode')
        image_kind, cameras = camera_topics(topics, image_kind, bag_dir)
        camera_of = {topic: camera for camera, topic in cameras.items()}
        frames = {camera: {} for camera in cameras}
        for topic, time_ns, raw in records:
            if topic == bag_format.EPISODE_STEP_TOPIC:
                steps.append((time_ns, raw))
            elif topic == bag_format.EPISODE_EVENTS_TOPIC:
                events.append((time_ns, raw))
            elif topic in camera_of:
                frames[camera_of[topic]].setdefault(time_ns, []).append(raw)
    steps.sort(key=lambda item: item[0])
    messages = [deserialize(raw, STEP_TYPE, f'{bag_dir} step record {number}')
                for number, (_, raw) in enumerate(steps)]
    episode = _episode_from_steps(bag_dir, messages, image_kind, list(cameras))
    step_times = [time_ns for time_ns, _ in steps]
    _check_frames(bag_dir, step_times, frames)
    for camera, by_time in frames.items():
        first = _decode_frame(bag_dir, camera, 0, by_time[step_times[0]][0])
        episode.image_shapes[camera] = tuple(first.shape)
        if load_images:
            raws = [by_time[time_ns][0] for time_ns in step_times]
            episode.images[camera] = _stack_frames(bag_dir, camera, raws)
    episode.events = list_events(step_times, [
        (time_ns, int(deserialize(raw, EVENT_TYPE, f'{bag_dir} event').event))
        for time_ns, raw in events])
    return episode


def _episode_from_steps(bag_dir, messages, image_kind, cameras) -> Episode:
    """Check the step records' order and sizes and build the episode's label arrays."""
    if not messages:
        raise DatasetError(f'{bag_dir} has no {bag_format.EPISODE_STEP_TOPIC} records')
    if not messages[-1].final_observation:
        raise DatasetError(f'{bag_dir}: the last {bag_format.EPISODE_STEP_TOPIC} record has '
                           'no final_observation: the episode has no final observation '
                           '(recording cut short?)')
    body = messages[:-1]
    if not body:
        raise DatasetError(f'{bag_dir} has a final observation but no steps')
    for expected, message in enumerate(body):
        if message.final_observation:
            raise DatasetError(f'{bag_dir}: step {message.step_index} is marked '
                               'final_observation but is not the last record')
        if message.step_index != expected:
            raise DatasetError(f'{bag_dir}: step indices are not 0..{len(body) - 1} in log-time'
                               f' order: record {expected} has step_index '
                               f'{message.step_index}')
    indices = {int(message.episode_index) for message in messages}
    if len(indices) != 1:
        raise DatasetError(f'{bag_dir}: records of several episodes {sorted(indices)}')
    state_size = len(messages[0].state)
    state_names = next((list(m.state_names) for m in messages if len(m.state_names)), [])
    for message in messages:
        where = f'{bag_dir}: step {message.step_index}'
        if len(message.state) != state_size:
            raise DatasetError(f'{where} has {len(message.state)} state values, step 0 has '
                               f'{state_size}')
        if len(message.state_names) and list(message.state_names) != state_names:
            raise DatasetError(f'{where} names its state {list(message.state_names)}, '
                               f'earlier steps {state_names}')
    if state_names and len(state_names) != state_size:
        raise DatasetError(f'{bag_dir}: {len(state_names)} state names for {state_size} '
                           'state values')
    action_size = len(body[0].action)
    for message in body:
        if len(message.action) != action_size or not action_size:
            raise DatasetError(f'{bag_dir}: step {message.step_index} has an action of '
                               f'{len(message.action)} values, step 0 of {action_size}')
    return Episode(
        path=bag_dir, index=indices.pop(), camera_names=cameras, image_kind=image_kind,
        state_names=state_names or [f'state_{i}' for i in range(state_size)],
        states=np.array([m.state for m in messages], dtype=np.float32).reshape(
            len(messages), state_size),
        images={},
        actions=np.array([m.action for m in body], dtype=np.float32),
        rewards=np.array([m.reward for m in body], dtype=np.float32),
        terminated=np.array([m.terminated for m in body], dtype=bool),
        truncated=np.array([m.truncated for m in body], dtype=bool),
        interventions=np.array([m.intervention for m in body], dtype=bool))


def _check_frames(bag_dir: str, step_times: List[int], frames) -> None:
    """Require exactly one frame per camera at each step's log time."""
    for number, time_ns in enumerate(step_times):
        step = 'the final observation' if number == len(step_times) - 1 else f'step {number}'
        for camera, by_time in frames.items():
            count = len(by_time.get(time_ns, ()))
            if count != 1:
                problem = 'no frame' if count == 0 else f'{count} frames'
                raise DatasetError(f'{bag_dir}: {step} (log time {time_ns}) has {problem} '
                                   f"from camera '{camera}' at its log time")


def _decode_frame(bag_dir: str, camera: str, step: int, raw: bytes) -> np.ndarray:
    where = f"{bag_dir}: camera '{camera}' step {step}"
    return image_to_rgb(deserialize(raw, bag_format.IMAGE_TYPE, where), where)


def _stack_frames(bag_dir: str, camera: str, raws: List[bytes]) -> np.ndarray:
    decoded = [_decode_frame(bag_dir, camera, step, raw) for step, raw in enumerate(raws)]
    for step, frame in enumerate(decoded):
        if frame.shape != decoded[0].shape:
            raise DatasetError(f"{bag_dir}: camera '{camera}' frames change size from "
                               f'{decoded[0].shape} to {frame.shape} at step {step}')
    return np.stack(decoded)


def summarize(episodes: Sequence[Episode]) -> dict:
    """Return totals of a dataset: episodes, steps, lengths, successes, interventions, cameras."""
    lengths = [episode.length for episode in episodes]
    shapes: Dict[str, List[int]] = {}
    for episode in episodes:
        for camera, shape in episode.image_shapes.items():
            shapes.setdefault(camera, list(shape))
    return {
        'episodes': len(episodes),
        'steps': int(sum(lengths)),
        'lengths': {'min': min(lengths, default=0), 'max': max(lengths, default=0),
                    'mean': float(np.mean(lengths)) if lengths else 0.0},
        'successes': sum(episode.success for episode in episodes),
        'interventions': int(sum(episode.interventions.sum() for episode in episodes)),
        'episodes_with_interventions': sum(bool(e.interventions.any()) for e in episodes),
        'cameras': sorted({camera for e in episodes for camera in e.camera_names}),
        'image_kinds': sorted({e.image_kind for e in episodes if e.camera_names}),
        'image_shapes': shapes,
    }


def iter_transitions(episode: Episode, gripper_closed_at_start: bool = False,
                     gripper_dimension: Optional[int] = 3,
                     end_at_success: bool = True) -> Iterator[dict]:
    """
    Yield the episode's steps as keyword arguments of ``hilserl_learning.add_transition``.

    Each dict has ``observation`` and ``next_observation`` (``state`` float32 [S], and
    ``pixels`` uint8 [N, 3, H, W] in ``camera_names`` order when images were loaded),
    ``action``, ``reward``, ``terminated``, ``truncated``, ``intervention``,
    ``gripper_toggled`` and ``episode_id``. The gripper state is followed from the gripper
    commands (action entry ``gripper_dimension``; None when the actions have no gripper):
    it starts open unless ``gripper_closed_at_start``, CLOSE closes it and OPEN opens it.

    With ``end_at_success`` the episode ends at its first rewarded step, marked
    ``terminated``, as the actor's episodes end (terminate on success). Record mode
    keeps a few steps after the success (``number_of_steps_after_success``) as positives
    for the reward classifier; as RL data they would tell the critic that success goes
    on paying (with two more rewarded steps the last pre-success value becomes
    1 + gamma + gamma^2, about 2.9, not 1), and bootstrapping spreads that inflation
    back through the episode. In the simulated pick-lift (seed 0, 4 updates per step)
    cutting them took the evaluation success at 2000-7000 steps from 0-0.4 to 0.8-1.0,
    and the mean Q from up to 12 to ~0.7.
    """
    from hilserl_learning import gripper

    cameras = [camera for camera in episode.camera_names if camera in episode.images]
    pixels = (np.stack([episode.images[camera] for camera in cameras], axis=1)
              .transpose(0, 1, 4, 2, 3) if cameras else None)

    def observation(row: int) -> dict:
        found = {'state': episode.states[row]}
        if pixels is not None:
            found['pixels'] = pixels[row]
        return found

    closed = gripper_closed_at_start
    has_gripper = gripper_dimension is not None and episode.actions.shape[1] > gripper_dimension
    for step in range(episode.length):
        toggled = False
        if has_gripper:
            index = gripper.command_to_index(float(episode.actions[step, gripper_dimension]))
            toggled = bool(gripper.gripper_toggled(closed, index))
            closed = {gripper.CLOSE: True, gripper.OPEN: False}.get(index, closed)
        succeeded = end_at_success and episode.rewards[step] > 0
        yield {'observation': observation(step), 'action': episode.actions[step],
               'reward': float(episode.rewards[step]),
               'next_observation': observation(step + 1),
               'terminated': bool(episode.terminated[step]) or bool(succeeded),
               'truncated': bool(episode.truncated[step]) and not succeeded,
               'intervention': bool(episode.interventions[step]),
               'gripper_toggled': toggled, 'episode_id': episode.index}
        if succeeded:
            return
