"""
The actor's decisions, without ROS: what to execute, the policy it runs, loop statistics.

- :func:`choose_action`: the human's command while they intervene (when interventions
  are allowed), else the policy's action, else (no policy yet) a zero action: the arm
  holds still until the learner's first parameters arrive.
- :func:`check_policy_fits`: whether a learner's policy is for this actor's state and cameras.
- :class:`PolicyHolder`: decodes policy parameter blobs on a worker thread and hands
  a ready agent to the control thread, which swaps it in between two ticks.
- :class:`FrameFeatures`: the frozen encoder's features of the frames the policy acts
  on, each encoded once, the encoding kept to a share of the tick.
- :class:`LoopStats`: the loop's rate, period jitter and observation-to-command latency
  per episode.

Sending the transitions (numbering, holding, resending) is
:mod:`hilserl.transport.transition_outbox`; what the reward is,
:mod:`hilserl.actor.reward_labeler`; what a run produced,
:mod:`hilserl.actor.results`.
"""

from dataclasses import dataclass
import threading
import time
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

ACTION_SIZE = 4  # [dx, dy, dz, gripper]


def choose_action(human_in_control: bool, allow_interventions: bool,
                  human_action: Sequence[float],
                  policy: Optional[Callable[[], np.ndarray]]) -> Tuple[np.ndarray, bool]:
    """
    Return ``(action, intervention)`` for one step.

    ``policy`` is called only when the policy acts (it is the expensive part); None
    means no parameters have arrived yet, and the step is a zero action (hold still).
    """
    if human_in_control and allow_interventions:
        return np.asarray(human_action, dtype=np.float32), True
    if policy is None:
        return np.zeros(ACTION_SIZE, dtype=np.float32), False
    action = np.asarray(policy(), dtype=np.float32).reshape(-1)
    if action.shape != (ACTION_SIZE,):
        # A policy without grasp critic acts on xyz only: the gripper stays.
        action = np.concatenate([action[:3], np.zeros(ACTION_SIZE - 3, np.float32)])
    return action, False


def check_policy_fits(config, state_size: int, cameras: Sequence[str]) -> None:
    """Raise ValueError when a policy's AgentConfig is for another state size or cameras."""
    if config.state_dim != state_size or config.num_cameras != len(cameras):
        raise ValueError(f'the policy takes {config.state_dim} state values and '
                         f'{config.num_cameras} cameras; this actor has {state_size} and '
                         f'{len(cameras)} ({list(cameras)})')


class PolicyHolder:
    """
    The actor's current agent, and a worker thread that prepares the next one.

    :meth:`offer` (any thread, never blocks) hands over a parameters message's fields;
    the worker checks and decodes the newest one (:func:`decode_policy`), loads it into
    a spare agent (built from the first blob's configuration) and marks it ready;
    :meth:`swap`, called by the control thread between two ticks, makes it current.
    A bad blob is reported through ``on_error`` and the current policy stays;
    ``validate`` (optional) gets each blob's AgentConfig and raises ValueError when it
    does not fit the actor (another state size, other cameras): no later blob of the
    same learner will fit either, so the reason stays in :attr:`misfit` for the actor
    to stop on instead of waiting for a policy forever.
    """

    def __init__(self, on_error: Callable[[str], None], on_loaded: Callable[[str], None],
                 device: str = 'cpu', validate: Optional[Callable[[object], None]] = None):
        """Start the worker thread; no agent until the first good blob."""
        self._on_error, self._on_loaded, self._device = on_error, on_loaded, device
        self._validate = validate
        self.misfit: Optional[str] = None   # why the learner's policy cannot fit this actor
        self.agent = None
        self.version = 0
        self._spare = None
        self._config = None   # the first blob's AgentConfig; later blobs must match it
        self._ready = None    # (agent, version) decoded, not yet swapped in
        self._offered = None  # (blob, sha256, format_version) not yet decoded
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._work, name='policy_decoder', daemon=True)
        self._thread.start()

    def offer(self, blob: bytes, sha256: str, format_version: int) -> None:
        """Queue a blob for decoding (a newer offer replaces one not yet decoded)."""
        with self._condition:
            self._offered = (bytes(blob), sha256, int(format_version))
            self._condition.notify()

    def swap(self) -> Optional[int]:
        """Make a decoded agent current; return its version, or None if none is ready."""
        with self._condition:
            if self._ready is None:
                return None
            (agent, version), self._ready = self._ready, None
            self._spare, self.agent, self.version = self.agent, agent, version
            return version

    def stop(self) -> None:
        """End the worker thread; one busy decoding is not waited for."""
        with self._condition:
            self._stopped = True
            self._condition.notify()
        # A blob being decoded is of no use any more, and the first one takes seconds on
        # a busy machine (building the agent imports much of torch): waiting for it kept
        # the actor past launch's 5 s to SIGTERM. The thread is a daemon, holding nothing
        # that needs closing; the process exits without it.
        self._thread.join(timeout=0.5)

    def _work(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._stopped or self._offered is not None)
                if self._stopped:
                    return
                offered, self._offered = self._offered, None
            try:
                self._prepare(*offered)
            except Exception as error:  # the worker must survive anything a blob does
                self._on_error(f'policy parameters rejected, keeping policy version '
                               f'{self.version}: {error}')

    def _prepare(self, blob: bytes, sha256: str, format_version: int) -> None:
        # Imported here: torch is slow to import and only needed once parameters come.
        from hilserl_learning import SACAgent
        from hilserl_learning.policy_blob import apply_policy, decode_policy, PolicyBlobError
        tensors, config, version = decode_policy(blob, sha256, format_version)
        if self._validate is not None:
            try:
                self._validate(config)
            except ValueError as error:
                self.misfit = str(error)
                raise
        if self._config is None:
            self._config = config
        elif config.to_dict() != self._config.to_dict():
            changed = sorted(key for key, value in config.to_dict().items()
                             if self._config.to_dict().get(key) != value)
            raise PolicyBlobError(f'agent configuration differs from the first blob\'s '
                                  f'({", ".join(changed)})')
        with self._condition:
            # The agent to fill is in nobody's hands: a ready one not yet swapped in, or
            # the spare the last swap gave back.
            previous_ready = self._ready
            target = previous_ready[0] if previous_ready is not None else self._spare
            self._ready, self._spare = None, None
        fresh = target is None
        if fresh:
            target = SACAgent(self._config, device=self._device).eval()
        try:
            apply_policy(target, tensors)   # all or nothing: a refused blob changes nothing
        except Exception:
            with self._condition:
                if previous_ready is not None:
                    self._ready = previous_ready
                else:
                    self._spare = target
            raise
        if fresh:
            warm_up(target)   # torch's first call is slow: take it here, not in a tick
        with self._condition:
            self._ready = (target, version)
        self._on_loaded(f'policy version {version} decoded')


def warm_up(agent) -> None:
    """Act once on a blank observation, so the agent's first real step is not slow."""
    config = agent.config
    observation = {'state': np.zeros(config.state_dim, dtype=np.float32)}
    if config.num_cameras:
        observation['pixels'] = np.zeros((config.num_cameras, config.image_channels,
                                          config.image_size, config.image_size), np.uint8)
    agent.select_action(observation)
    if agent.frozen_encoder is not None:
        agent.frozen_encoder.fingerprint()   # hashes the weights once, cached from then on


class FrameFeatures:
    """
    The frozen encoder's features of the frames the policy acts on, each encoded once.

    The control loop may tick faster than the cameras publish (fps 30 against 10 Hz
    cameras): a tick reuses the features of every frame it has already encoded. And the
    encoder keeps to a share of the tick, ``budget_s``: when more cameras have a new
    frame than it can encode in that time (judged by its recent speed), the ones that
    waited longest go first and the others act on their previous frame for one more
    tick, so a tick where every camera delivers does not run past the period. At least
    one new frame is encoded per tick, and a camera's first frame always is.

    :meth:`admit` picks the frames of a tick; the caller builds its observation from
    exactly those, then :meth:`features` encodes the admitted frames not encoded yet, in
    one batch.
    Frames are compared by identity: every received image is a new message object, and
    the admitted ones are held here, so an identity can't be taken over by another.
    """

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.perf_counter):
        """Let encoding take about ``budget_s`` seconds of a tick."""
        self.budget_s = budget_s
        self._clock = clock
        self._encoder = ''
        self._frames: List[object] = []       # admitted, one per camera
        self._features: List[Optional[np.ndarray]] = []
        self._admitted_at: List[int] = []     # the tick at which each frame was admitted
        self._ticks = 0
        self.encode_s: Optional[float] = None  # running estimate for one frame
        self.encoded = 0
        self.deferred = 0

    def admit(self, frames: Sequence[object], encoder: str) -> List[object]:
        """Return the frames to act on this tick, given each camera's newest and the encoder."""
        self._ticks += 1
        if encoder != self._encoder or len(frames) != len(self._frames):
            self._encoder = encoder
            self._frames = [None] * len(frames)
            self._features = [None] * len(frames)
            self._admitted_at = [0] * len(frames)
        new = [i for i, frame in enumerate(frames) if frame is not self._frames[i]]
        new.sort(key=lambda i: (self._frames[i] is not None, self._admitted_at[i]))
        fits = (len(new) if self.encode_s is None
                else max(1, int(self.budget_s / max(self.encode_s, 1e-6))))
        for rank, i in enumerate(new):
            if rank < fits or self._frames[i] is None:
                self._frames[i], self._features[i] = frames[i], None
                self._admitted_at[i] = self._ticks
            else:
                self.deferred += 1
        return list(self._frames)

    def features(self, encode: Callable[[List[int]], np.ndarray]) -> np.ndarray:
        """
        Return the admitted frames' features [N, F].

        ``encode(indices)`` encodes the frames at those indices in one batch, [len, F]:
        one call per tick for all the frames not encoded yet. The time per frame the
        budget goes by is the batch's time over its frames.
        """
        missing = [i for i, features in enumerate(self._features) if features is None]
        if missing:
            start = self._clock()
            encoded = encode(missing)
            took = (self._clock() - start) / len(missing)
            self.encode_s = took if self.encode_s is None else 0.8 * self.encode_s + 0.2 * took
            for i, features in zip(missing, encoded):
                self._features[i] = features
            self.encoded += len(missing)
        return np.stack(self._features)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile of ``values`` (0.0 when empty)."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0


@dataclass(frozen=True)
class LoopSummary:
    """One episode's control loop figures, as EpisodeStats carries them."""

    hz_mean: float
    hz_p90: float
    jitter_p99_ms: float
    latency_ms_mean: float


class LoopStats:
    """Tick times and observation-to-command latencies of one episode."""

    def __init__(self, fps: float):
        """Measure against the nominal period 1/``fps``."""
        self.period_s = 1.0 / fps
        self._ticks: List[float] = []
        self._latencies: List[float] = []

    def clear(self) -> None:
        """Start a new episode."""
        self._ticks, self._latencies = [], []

    def tick(self, time_s: float) -> None:
        """Record the start of a control tick."""
        self._ticks.append(time_s)

    def latency(self, seconds: float) -> None:
        """Record the observation-to-command latency of a policy step."""
        self._latencies.append(seconds)

    def summary(self) -> LoopSummary:
        """Return rate mean and p90 (Hz), period jitter p99 and mean latency (ms)."""
        periods = np.diff(np.asarray(self._ticks, dtype=float))
        periods = periods[periods > 0]
        rates = 1.0 / periods if len(periods) else np.zeros(0)
        jitter_ms = np.abs(periods - self.period_s) * 1e3
        latency_ms = np.asarray(self._latencies, dtype=float) * 1e3
        return LoopSummary(hz_mean=float(rates.mean()) if len(rates) else 0.0,
                           hz_p90=percentile(rates, 90), jitter_p99_ms=percentile(jitter_ms, 99),
                           latency_ms_mean=float(latency_ms.mean()) if len(latency_ms) else 0.0)
