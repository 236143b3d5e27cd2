"""
The HIL-SERL learner without ROS: transitions in, SAC updates, durable state on disk.

:class:`LearnerCore` owns the agent, the online and demonstration replay buffers, the
per-actor :class:`~hilserl.transport.transition_link.SequenceTracker` and the run's files
(:class:`~hilserl.learner.run_files.RunFiles`: write-ahead log, checkpoints). A transition is
*durable* once it is in the log (flushed) or in a checkpoint; :meth:`LearnerCore.acks`
reports, per actor, the next sequence after everything durable, which is what the learner
acknowledges.

Steps. Each transition is decoded (by the ``decode`` function given: the node's
``hilserl.ros.transition_messages.transition_from_bytes``) and checked against the data layout
by :class:`~hilserl.learner.transition_intake.TransitionIntake`; then
:class:`~hilserl.learner.step_assembly.StepAssembler` pairs each transition with its next
observation (the actor's next step, or the final observation); complete steps go to the online
buffer, human interventions to the demonstration buffer too (``add_transition``). With the
frozen encoder the buffers hold features computed once per received frame; with the CNN, the
pixels.

Checkpoints are written atomically, then the log is cleared (records a crash between the
two leaves behind are duplicates on resume, skipped); each writes only the buffer rows new
since the last, so the final one at shutdown stays short whatever the buffers hold.
"""

from dataclasses import dataclass, field, replace
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from hilserl_learning import (add_transition, AgentConfig, buffer_feature_layout,
                              CheckpointError, features_to_cache, fit_normalizer,
                              ReplayBuffer, SACAgent, sample_mixed)
from hilserl_learning.serialization import FORMAT_VERSION
import numpy as np
import torch

from hilserl.learner.run_files import (CHECKPOINT_PREFIX, CHECKPOINTS_DIR, LOG_SEQUENCE, RunFiles,
                                       STATE_FILE, WAL_FILE)
from hilserl.learner.step_assembly import recorded_steps, StepAssembler
from hilserl.learner.transition_intake import TransitionIntake
from hilserl.transport.transition_link import DUPLICATE, GAP, NEW, SequenceTracker
from hilserl.transport.transition_record import ObservationDict, ReceivedTransition

REJECTED = 'rejected'
# AgentConfig fields the data decides (state size, cameras, frame size): not parameters.
DATA_FIELDS = ('state_dim', 'num_cameras', 'image_channels', 'image_size', 'image_encoder')


class LearnerError(ValueError):
    """A learner configuration, dataset or run directory that cannot be used."""


class LearnerConfigurationError(LearnerError):
    """The data is fine but the learner's configuration cannot train on it: stop the run."""


RANDOM_ENCODER_REFUSED = (
    'an image policy needs a frozen encoder with meaningful weights, and '
    'agent.frozen_weights_path is unset: random features may locate a cube in a clean '
    'simulated scene, but not in a real camera image. Convert pretrained weights with '
    '`hilserl encoder import FILE` and pass the result as agent.frozen_weights_path '
    '(train mode: frozen_encoder:=FILE), or set agent.allow_random_encoder (train mode: '
    'allow_random_encoder:=true) to train on random features anyway, as a control')


@dataclass
class LearnerSettings:
    """Everything a learner is configured with besides the data."""

    run_dir: str
    agent: AgentConfig = field(default_factory=AgentConfig)
    camera_names: Optional[List[str]] = None      # None: those of the data; []: none
    state_names: Optional[List[str]] = None       # None: those of the data
    device: str = 'cpu'
    batch_size: int = 256
    online_step_before_learning: int = 100
    updates_per_step: int = 0                     # learner steps per online step; 0: no cap
    checkpoint_every_updates: int = 1000
    online_capacity: int = 200_000
    offline_capacity: int = 50_000
    offline_pretrain_updates: int = 0
    seed: int = 0


class LearnerCore:
    """Receive, store, train, checkpoint and resume; thread-safe between those calls."""

    def __init__(self, settings: LearnerSettings,
                 decode: Callable[[bytes], ReceivedTransition],
                 log: Callable[[str], None] = lambda line: None) -> None:
        """Prepare an empty learner; call :meth:`start_fresh` or :meth:`resume` next."""
        self.settings = settings
        self._log = log
        self.intake = TransitionIntake(decode, log)
        self.agent: Optional[SACAgent] = None
        self.online: Optional[ReplayBuffer] = None
        self.offline: Optional[ReplayBuffer] = None
        self.tracker = SequenceTracker()
        self.steps = StepAssembler(settings.agent.use_grasp_critic,
                                   settings.agent.gripper_deadband)
        self.state_names: List[str] = []
        self.camera_names: Optional[List[str]] = settings.camera_names
        self.counters = {'transitions_received': 0, 'learner_steps': 0, 'rejected': 0,
                         'checkpoints': 0, 'checkpoint_step': 0, 'pretrain_updates': 0,
                         'demonstration_steps': 0}
        self._lock = threading.RLock()
        self.files = RunFiles(settings.run_dir)

    # --- start-up -------------------------------------------------------------------------
    def latest_checkpoint(self) -> Optional[str]:
        """Return the newest complete checkpoint directory of the run, or None."""
        return self.files.latest()

    def start_fresh(self, demo_paths: Sequence[str] = ()) -> None:
        """Start a new run in an unused run_dir, from demonstrations when given."""
        if self.files.holds_run():
            raise LearnerError(f'{self.settings.run_dir} already holds a learner run; pass '
                               'resume:=true to continue it, or choose another run_dir')
        self.files.open_log()
        if demo_paths:
            self.load_demonstrations(demo_paths)

    def load_demonstrations(self, paths: Sequence[str]) -> int:
        """Fill the demonstration buffer and fit the normaliser; return the steps."""
        from hilserl.dataset.reader import DatasetError, read_dataset
        try:
            episodes = read_dataset(paths)
            if self.settings.state_names:   # the run's layout, taken from the recordings
                episodes = [episode.with_state(self.settings.state_names)
                            for episode in episodes]
        except DatasetError as error:
            raise LearnerError(f'demo_datasets: {error}') from None
        first = episodes[0]
        image_size = next(iter(first.image_shapes.values()), (0, 0))[:2]
        self._build(first.states.shape[1], first.state_names, first.camera_names, image_size)
        steps = 0
        for episode in episodes:
            if (episode.states.shape[1], episode.camera_names) != (
                    first.states.shape[1], first.camera_names):
                raise LearnerError(f'{episode.path}: state size or cameras differ from '
                                   f'{first.path}')
            if episode.actions.shape[1] != self.agent.config.full_action_dim:
                raise LearnerError(f'{episode.path}: actions have {episode.actions.shape[1]} '
                                   f'values, the agent acts with '
                                   f'{self.agent.config.full_action_dim}')
            encode = ((lambda pixels: features_to_cache(self.agent, pixels))
                      if self.agent.config.image_encoder == 'frozen' else None)
            for step in recorded_steps(episode, self.camera_names, encode):
                self.offline.add(**step)
                steps += 1
        fit_normalizer(self.agent, self.offline)
        self._log(f'{steps} demonstration steps from {len(episodes)} episodes')
        self.counters['demonstration_steps'] += steps
        self.checkpoint()
        return steps

    def _build(self, state_dim: int, state_names: Sequence[str], cameras: Sequence[str],
               image_size: Sequence[int]) -> None:
        """Create agent and buffers for the data's layout (demos or the first transition)."""
        cameras = list(cameras)
        wanted_state = self.settings.state_names
        if wanted_state and list(state_names) != list(wanted_state):
            raise LearnerError(f'state_names is {list(wanted_state)}, the data has '
                               f'{list(state_names)}')
        if self.camera_names is not None:
            # A subset is fine (e.g. none, for a state-only policy): the rest is ignored.
            if any(name not in cameras for name in self.camera_names):
                raise LearnerError(f'camera_names is {list(self.camera_names)}, the data has '
                                   f'{cameras}')
            cameras = list(self.camera_names)
        height, width = (int(v) for v in image_size) if cameras else (0, 0)
        if height != width:
            raise LearnerError(f'camera frames must be square, got {height}x{width}')
        template = self.settings.agent
        config = replace(template, state_dim=int(state_dim), num_cameras=len(cameras),
                         image_size=height or template.image_size)
        if config.uses_random_encoder and not config.allow_random_encoder:
            raise LearnerConfigurationError(RANDOM_ENCODER_REFUSED)
        torch.manual_seed(self.settings.seed)
        agent = SACAgent(config, device=self.settings.device)
        self._make_buffers(agent)
        self.camera_names, self.state_names = cameras, list(state_names)
        # Last: the training thread takes a set agent to mean the buffers exist too.
        self.agent = agent

    def _make_buffers(self, agent: SACAgent) -> None:
        config = agent.config
        image_shape = None   # frozen encoder: its features (feature_cache), not the pixels
        if agent.frozen_encoder is None and config.num_cameras:
            image_shape = (config.num_cameras, 3, config.image_size, config.image_size)
        self.online, self.offline = (
            ReplayBuffer(capacity, config.state_dim, config.full_action_dim, image_shape,
                         seed=self.settings.seed + offset, **buffer_feature_layout(agent))
            for offset, capacity in ((0, self.settings.online_capacity),
                                     (1, self.settings.offline_capacity)))

    # --- receiving ------------------------------------------------------------------------
    def receive(self, actor_id: str, sequence: int, payload: bytes) -> Tuple[str, int]:
        """
        Classify and store one transition; return ``(kind, missing)``.

        NEW: logged, accepted, added to the buffers (once its next observation is known).
        DUPLICATE: already stored, dropped. GAP: ``missing`` earlier ones have not
        arrived; dropped (the actor resends in order). REJECTED: unusable before anything
        was stored (no agent yet); it is not accepted.
        """
        with self._lock:
            kind, missing = self.tracker.classify(actor_id, sequence)
            if kind == GAP and actor_id not in self.tracker.next_expected:
                # An actor that started before this learner: acknowledging 'nothing yet'
                # makes it resend from its first transition at once.
                self.tracker.next_expected[actor_id] = 0
            if kind != NEW:
                return kind, missing
            decoded = None
            if self.agent is None:
                decoded = self._decode_checked(payload)
                if decoded is None:
                    return REJECTED, 0
                try:
                    self._build(len(decoded.observation['state']), decoded.state_names,
                                decoded.camera_names, decoded.observation.get(
                                    'pixels', np.zeros((0, 0, 0, 0))).shape[2:])
                except LearnerConfigurationError:
                    raise
                except LearnerError as error:
                    self.counters['rejected'] += 1
                    self._log(f'transition rejected: {error}')
                    return REJECTED, 0
                self.checkpoint()   # resume always has a checkpoint before the first record
            self.files.log(actor_id, sequence, payload)
            self._accept(actor_id, sequence, payload, decoded)
            return NEW, 0

    def _accept(self, actor_id: str, sequence: int, payload: bytes,
                decoded: Optional[ReceivedTransition] = None) -> None:
        self.tracker.accept(actor_id, sequence)
        self.counters['transitions_received'] += 1
        decoded = self._decode_checked(payload, decoded)
        if decoded is not None:
            self._store(actor_id, decoded, payload)

    def _decode_checked(self, payload: bytes, transition: Optional[ReceivedTransition] = None
                        ) -> Optional[ReceivedTransition]:
        """Decode (unless given) and check a transition; None (counted) when unusable."""
        try:
            return self.intake.checked(payload, self.agent, self.state_names,
                                       self.camera_names, transition)
        except ValueError as error:
            self.counters['rejected'] += 1
            self._log(f'transition rejected: {error}')
            return None

    def _stored_observation(self, observation: ObservationDict) -> ObservationDict:
        return self.intake.stored_observation(observation, self.agent)

    def _store(self, actor_id: str, transition: ReceivedTransition, payload: bytes) -> None:
        self.intake.check_reward_bounds(actor_id, transition.reward, self.agent.config)
        for step in self.steps.add(actor_id, transition, payload, self._stored_observation):
            add_transition(self.online, self.offline, **step)

    def acks(self) -> Dict[str, int]:
        """Flush the log and return, per actor, the next sequence after all durable ones."""
        with self._lock:
            self.files.flush()
            return dict(self.tracker.next_expected)

    # --- training -------------------------------------------------------------------------
    @property
    def num_online_steps(self) -> int:
        """Return the number of online steps ever added to the online buffer."""
        return self.online.num_steps_added if self.online is not None else 0

    @property
    def policy_version(self) -> int:
        """Return the number of actor updates so far (the version of the pushed policy)."""
        return self.agent.num_actor_updates if self.agent is not None else 0

    def ready(self) -> bool:
        """Say whether enough online steps arrived to start learning."""
        return self.agent is not None and self.num_online_steps >= self._learning_starts

    @property
    def _learning_starts(self) -> int:
        return max(1, self.settings.online_step_before_learning)

    def may_train(self) -> bool:
        """
        Say whether to run a learner step now: ready, and within updates_per_step.

        The cap holds the update-to-data ratio to what it is set to, however fast this
        machine updates: learner steps <= updates_per_step * (online steps since
        learning started). Unthrottled, a 2-core CPU learner ran ~6 updates per 10 Hz
        step and make demo's training success fell to 0.1-0.4; capped at 4 (the ratio
        sim_training learned pick-lift with, seed 0) it was 0.7-0.9.
        """
        if not self.ready():
            return False
        cap = self.settings.updates_per_step
        if cap <= 0:
            return True
        steps_since_start = self.num_online_steps - self._learning_starts + 1
        return self.counters['learner_steps'] < cap * steps_since_start

    def _sample(self, offline_only: bool = False):
        if offline_only:
            batch = self.offline.sample(self.settings.batch_size)
        else:
            batch = sample_mixed(self.online, self.offline, self.settings.batch_size)
        return batch if self.settings.device == 'cpu' else batch.to(self.agent.device)

    def pretraining_left(self) -> int:
        """Return the pretraining updates left: on demonstrations, before online learning."""
        if not self.counters['demonstration_steps'] or self.counters['learner_steps']:
            return 0
        return max(0, self.settings.offline_pretrain_updates - self.counters['pretrain_updates'])

    def pretrain_step(self) -> Dict[str, float]:
        """Run one update on demonstrations alone (before any online data); return metrics."""
        metrics = self.agent.update(lambda: self._sample(offline_only=True))
        self.counters['pretrain_updates'] += 1
        return metrics

    def train_step(self) -> Dict[str, float]:
        """Run one learner step on 50/50 online/demonstration batches; return its metrics."""
        metrics = self.agent.update(self._sample)
        self.counters['learner_steps'] += 1
        return metrics

    def checkpoint_due(self) -> bool:
        """Say whether checkpoint_every_updates learner steps passed since the last one."""
        return (self.counters['learner_steps'] - self.counters['checkpoint_step']
                >= self.settings.checkpoint_every_updates)

    # --- checkpoints ----------------------------------------------------------------------
    def checkpoint(self) -> Optional[str]:
        """Write a complete checkpoint atomically, then clear the log; return its path."""
        with self._lock:
            if self.agent is None:
                return None
            index = self.counters['checkpoints'] + 1
            self.counters.update(checkpoints=index,
                                 checkpoint_step=self.counters['learner_steps'])
            return self.files.write(index, self.agent, (self.online, self.offline),
                                    self.steps.pending_payloads(), self._state())

    def _state(self) -> dict:
        return {
            'kind': 'learner_state', 'format_version': FORMAT_VERSION,
            'counters': dict(self.counters),
            'next_expected': dict(self.tracker.next_expected),
            'duplicates': self.tracker.duplicates, 'gaps': self.tracker.gaps,
            'steps': self.steps.state(),
            'state_names': self.state_names, 'camera_names': self.camera_names,
            'transitions_in_online_buffer': self.num_online_steps}

    def resume(self) -> int:
        """Load the latest checkpoint and replay the log; return the records replayed."""
        latest = self.latest_checkpoint()
        if latest is None:
            raise LearnerError(f'resume:=true but {self.settings.run_dir} holds no checkpoint '
                               f'({self.files.checkpoints}/{CHECKPOINT_PREFIX}NNNNNN)')
        try:
            self.agent, self.online, self.offline, state, pending = self.files.read(
                latest, self.settings.device)
        except CheckpointError as error:
            raise LearnerError(f'cannot resume from {latest}: {error}') from None
        if self.camera_names is not None and self.camera_names != state['camera_names']:
            raise LearnerError(f"camera_names is {self.camera_names}, the run in "
                               f"{self.settings.run_dir} has {state['camera_names']}")
        self.counters.update(state['counters'])
        self.tracker = SequenceTracker(state['next_expected'])
        self.tracker.duplicates, self.tracker.gaps = state['duplicates'], state['gaps']
        self.state_names, self.camera_names = state['state_names'], state['camera_names']
        self.steps.use_grasp_critic = self.agent.config.use_grasp_critic
        self.steps.gripper_deadband = self.agent.config.gripper_deadband
        self.steps.restore(state['steps'], pending, self.intake.decode,
                           self._stored_observation)
        self.files.open_log()
        replayed = 0
        with self._lock:
            for actor_id, sequence, payload in self.files.logged():
                kind, _ = self.tracker.classify(actor_id, sequence)
                if kind == NEW:
                    self._accept(actor_id, sequence, payload)
                    replayed += 1
                elif kind == GAP:
                    self._log(f'log record {actor_id}#{sequence} skipped: earlier ones missing')
        self._log(f'resumed from {latest}: {self.counters["transitions_received"]} '
                  f'transitions ({replayed} from the log), {self.counters["learner_steps"]} '
                  f'learner steps, temperature {self.agent.temperature:.5f}')
        return replayed

    def close(self) -> None:
        """Close the log file."""
        with self._lock:
            self.files.close()


__all__ = ['CHECKPOINTS_DIR', 'DUPLICATE', 'GAP', 'LearnerCore', 'LearnerError',
           'LearnerSettings', 'LOG_SEQUENCE', 'NEW', 'REJECTED', 'STATE_FILE', 'WAL_FILE']
