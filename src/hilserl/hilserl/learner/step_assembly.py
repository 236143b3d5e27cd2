"""
Turn the actors' frame-once transitions into complete (s, a, r, s') steps; no ROS.

(:func:`recorded_steps` does the same for recorded demonstrations, and
:func:`check_layout` tells whether a transition fits the learner's agent.)

A Transition carries the observation of its own step only; its next observation is the
next step's observation from the same actor, or ``final_observation`` on an episode's
last step. So each actor's latest step waits (*pending*) until its successor arrives.
A pending step whose successor belongs to another episode (the actor stopped an episode
without a last step) is dropped and counted in ``incomplete_steps``; a last step that
lacks ``final_observation`` gets its own observation as the next one.

Each step also gets ``gripper_toggled`` (the grasp penalty's flag) by following the
gripper command through the episode, from open at its first step, and an
``episode_id`` of ``actor number << 32 | episode index``, unique across actors, so a
replay buffer never chains one actor's step onto another actor's frame.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from hilserl_learning import gripper
import numpy as np
import torch

from hilserl.transport.transition_record import ObservationDict, ReceivedTransition

Step = Dict[str, Any]   # keyword arguments of hilserl_learning.add_transition
Convert = Callable[[ObservationDict], ObservationDict]


@dataclass
class PendingStep:
    """An actor's latest step, waiting for its next observation."""

    transition: ReceivedTransition
    payload: bytes                  # the serialized Transition (checkpoints keep it)
    observation: ObservationDict    # as the buffers store it
    gripper_toggled: bool


@dataclass
class ActorStream:
    """What the assembler remembers about one actor."""

    number: int
    gripper_closed: bool = False
    pending: Optional[PendingStep] = None


class StepAssembler:
    """Pair every actor's transitions with their next observations."""

    def __init__(self, use_grasp_critic: bool = True, gripper_deadband: float = 0.5):
        """Follow the gripper (last action entry) when the agent has a grasp critic."""
        self.use_grasp_critic = use_grasp_critic
        self.gripper_deadband = gripper_deadband
        self.streams: Dict[str, ActorStream] = {}
        self.incomplete_steps = 0

    def add(self, actor_id: str, transition: ReceivedTransition, payload: bytes,
            convert: Convert) -> List[Step]:
        """
        Take the actor's next transition; return the steps it completes (0, 1 or 2).

        ``convert`` turns a message observation into the stored one (e.g. computes the
        frozen encoder's features); it is called once per frame.
        """
        stream = self.streams.setdefault(actor_id, ActorStream(len(self.streams)))
        observation = convert(transition.observation)
        steps = []
        previous, stream.pending = stream.pending, None
        same_episode = previous is not None and (
            previous.transition.episode_index == transition.episode_index)
        if previous is not None:
            if same_episode and previous.transition.step_index + 1 == transition.step_index:
                steps.append(self._step(stream, previous, observation))
            else:
                self.incomplete_steps += 1
        if transition.step_index == 0 or not same_episode:
            stream.gripper_closed = False
        pending = PendingStep(transition, bytes(payload), observation,
                              self._follow_gripper(stream, transition))
        if transition.ends_episode:
            final = transition.final_observation
            steps.append(self._step(stream, pending, observation if final is None
                                    else convert(final)))
        else:
            stream.pending = pending
        return steps

    def _follow_gripper(self, stream: ActorStream, transition: ReceivedTransition) -> bool:
        """Return whether the step's gripper command toggles the gripper; track its state."""
        if not self.use_grasp_critic or not len(transition.action):
            return False
        index = gripper.command_to_index(float(transition.action[-1]), self.gripper_deadband)
        toggled = bool(gripper.gripper_toggled(stream.gripper_closed, index))
        stream.gripper_closed = {gripper.CLOSE: True,
                                 gripper.OPEN: False}.get(index, stream.gripper_closed)
        return toggled

    @staticmethod
    def _step(stream: ActorStream, step: PendingStep, next_observation) -> Step:
        transition = step.transition
        return {'observation': step.observation, 'action': transition.action,
                'reward': transition.reward, 'next_observation': next_observation,
                'terminated': transition.terminated, 'truncated': transition.truncated,
                'intervention': transition.intervention,
                'gripper_toggled': step.gripper_toggled,
                'episode_id': (stream.number << 32) | transition.episode_index}

    # --- persistence ----------------------------------------------------------------------
    def pending_payloads(self) -> List[Tuple[str, bytes]]:
        """Return ``(actor_id, payload)`` of every pending step."""
        return [(actor_id, stream.pending.payload) for actor_id, stream in self.streams.items()
                if stream.pending is not None]

    def state(self) -> Dict[str, Any]:
        """Return the JSON-able state besides the pending payloads."""
        return {'incomplete_steps': self.incomplete_steps, 'streams': {
            actor_id: {'number': stream.number, 'gripper_closed': stream.gripper_closed,
                       'pending_toggled': bool(stream.pending is not None
                                               and stream.pending.gripper_toggled)}
            for actor_id, stream in self.streams.items()}}

    def restore(self, state: Dict[str, Any], pending: List[Tuple[str, bytes]],
                decode: Callable[[bytes], ReceivedTransition], convert: Convert) -> None:
        """Restore what :meth:`state` and :meth:`pending_payloads` returned."""
        self.incomplete_steps = int(state['incomplete_steps'])
        self.streams = {actor_id: ActorStream(values['number'], values['gripper_closed'])
                        for actor_id, values in state['streams'].items()}
        for actor_id, payload in pending:
            transition = decode(payload)
            self.streams[actor_id].pending = PendingStep(
                transition, payload, convert(transition.observation),
                state['streams'][actor_id]['pending_toggled'])


def check_layout(transition: ReceivedTransition, config, state_names: Sequence[str],
                 camera_names: Sequence[str]) -> None:
    """Raise ValueError unless the transition fits the agent config and the run's names."""
    state = transition.observation['state']
    if len(state) != config.state_dim:
        raise ValueError(f'state has {len(state)} values, the learner expects '
                         f'{config.state_dim}')
    if transition.state_names and state_names and transition.state_names != list(state_names):
        raise ValueError(f'state_names {transition.state_names} differ from '
                         f'{list(state_names)}')
    if len(transition.action) != config.full_action_dim:
        raise ValueError(f'action has {len(transition.action)} values, expected '
                         f'{config.full_action_dim}')
    if transition.camera_names != list(camera_names):
        raise ValueError(f'cameras {transition.camera_names}, expected {list(camera_names)}')
    for observation in (transition.observation, transition.final_observation):
        if observation is not None and 'pixels' in observation and (
                observation['pixels'].shape[2:] != (config.image_size,) * 2):
            raise ValueError(f"frames are {observation['pixels'].shape[2:]}, expected "
                             f'{config.image_size}x{config.image_size}')


def recorded_steps(episode, camera_names: Sequence[str],
                   encode_frames: Optional[Callable] = None) -> Iterator[Step]:
    """
    Yield a recorded episode's steps (``hilserl.dataset.reader.Episode``) for a buffer.

    Frames are ``pixels`` uint8 [N, 3, H, W] in ``camera_names`` order or, with
    ``encode_frames`` (the agent's frozen encoder), its ``features``, computed once per
    frame. Episode ids are negative (-1 - episode index), so they never equal an actor's.
    """
    from hilserl.dataset.reader import iter_transitions

    frames: Dict[str, np.ndarray] = {}
    if camera_names:
        pixels = np.stack([episode.images[camera] for camera in camera_names], 1)
        pixels = np.ascontiguousarray(pixels.transpose(0, 1, 4, 2, 3))
        frames = {'pixels': pixels}
        if encode_frames is not None:
            frames = {'features': torch.cat([
                encode_frames(torch.from_numpy(pixels[i:i + 64])).cpu()
                for i in range(0, len(pixels), 64)]).numpy()}
    for index, step in enumerate(iter_transitions(episode)):
        for key, row in (('observation', index), ('next_observation', index + 1)):
            step[key] = {'state': step[key]['state'],
                         **{name: values[row] for name, values in frames.items()}}
        step['episode_id'] = -1 - episode.index
        yield step
