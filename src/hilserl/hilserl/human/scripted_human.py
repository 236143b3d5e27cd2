"""
A scripted stand-in for the human at the teleop device, in simulation; no ROS.

It speaks the teleop contract: a command every step (the ground-truth
:class:`~hilserl.human.scripted_policy.ScriptedController`'s move), whether it is
intervening, and episode events: SUCCESS when the simulator says the task is done,
FAILURE when the episode stalls (the task's dense reward has not improved for a
while), and RERECORD in chosen episodes, for tests of the discard path. With
``outcome='failure'`` it plays every episode badly instead
(:mod:`hilserl.human.failure_play`): negative examples for the reward classifier.

Whether it intervenes is an :class:`InterventionPolicy`: ``always`` (record mode: the
human drives every step), ``none``, or ``when_off_track`` (train mode: it takes over
once the TCP has lost ``off_track_distance`` of the ground it had gained toward the
task's current goal, and hands back once the TCP is within half that distance of
its best again; with ``stuck_steps``, it also takes over when the TCP has not come
``stuck_progress`` closer to the goal for that many steps, and then drives until the
goal changes, e.g. until the cube is grasped: the policy is shown the phase it is stuck
in and gets the next one back). In each episode the human pays attention at all with probability
``intervention_probability * intervention_decay ** k`` (episode ``k`` since start),
as a person intervenes less as the policy improves.
"""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from hilserl.actor.episodes import FAILURE, INTERVENTION_END, INTERVENTION_START, RERECORD, SUCCESS
from hilserl.human.failure_play import FailurePlay, FailureSettings
from hilserl.human.scripted_policy import ScriptedConfig, ScriptedController

INTERVENTION_MODES = ('none', 'always', 'when_off_track')
OUTCOMES = ('success', 'failure')


@dataclass(frozen=True)
class Truth:
    """What the simulator says this step (hilserl_interfaces/SimGroundTruth's content)."""

    tcp: Tuple[float, float, float]
    cube: Tuple[float, float, float]
    goal: Tuple[float, float, float]
    grasped: bool
    success: bool
    dense_reward: float


@dataclass(frozen=True)
class InterventionSettings:
    """When the scripted human takes over from the policy."""

    mode: str = 'always'
    off_track_distance: float = 0.05
    stuck_steps: int = 0          # 0: only when off track
    stuck_progress: float = 0.005
    probability: float = 1.0
    decay: float = 1.0
    seed: int = 0

    def __post_init__(self):
        """Refuse settings that mean nothing."""
        if self.mode not in INTERVENTION_MODES:
            raise ValueError(f'intervention_mode must be one of {INTERVENTION_MODES}, '
                             f'not {self.mode!r}')
        if not self.off_track_distance > 0:
            raise ValueError('off_track_distance must be positive')
        if self.stuck_steps < 0 or not self.stuck_progress > 0:
            raise ValueError('stuck_steps must be >= 0 and stuck_progress positive')
        if not 0.0 <= self.probability <= 1.0 or not 0.0 <= self.decay <= 1.0:
            raise ValueError('intervention_probability and intervention_decay must be in [0, 1]')


class InterventionPolicy:
    """Decide, step by step, whether the scripted human intervenes."""

    def __init__(self, settings: InterventionSettings):
        """Start before the first episode."""
        self.settings = settings
        self._rng = np.random.default_rng(settings.seed)
        self.episodes = 0
        self.attentive = False
        self.intervening = False
        self._goal: Optional[np.ndarray] = None
        self._best = np.inf
        self._stuck_best, self._stuck_for, self._helping = np.inf, 0, False

    @property
    def probability(self) -> float:
        """Return the chance that the human pays attention in the next episode."""
        return self.settings.probability * self.settings.decay ** self.episodes

    def start_episode(self) -> None:
        """Draw whether the human pays attention in this episode."""
        self.attentive = bool(self._rng.random() < self.probability)
        self.episodes += 1
        self.intervening = False
        self._goal, self._best = None, np.inf
        self._stuck_best, self._stuck_for, self._helping = np.inf, 0, False

    def decide(self, tcp, goal) -> bool:
        """Return whether the human drives this step; ``goal`` is where the task goes now."""
        mode = self.settings.mode
        if not self.attentive or mode == 'none':
            self.intervening = False
        elif mode == 'always':
            self.intervening = True
        else:
            goal = np.asarray(goal, dtype=float)
            if self._goal is None or np.linalg.norm(goal - self._goal) > 1e-3:
                # A new goal: measure progress anew; any help for the old one is over.
                self._goal, self._best = goal, np.inf
                self._stuck_best, self._stuck_for, self._helping = np.inf, 0, False
            distance = float(np.linalg.norm(np.asarray(tcp, dtype=float) - goal))
            self._best = min(self._best, distance)
            lost = distance - self._best
            limit = self.settings.off_track_distance
            off_track = lost > (limit / 2 if self.intervening else limit)
            self._helping = self._helping or self._stuck(distance)
            self.intervening = off_track or self._helping
        return self.intervening

    def _stuck(self, distance: float) -> bool:
        """Count the steps without ``stuck_progress`` toward the goal; say when too many."""
        if distance < self._stuck_best - self.settings.stuck_progress:
            self._stuck_best, self._stuck_for = distance, 0
        else:
            self._stuck_for += 1
        return 0 < self.settings.stuck_steps <= self._stuck_for


class StallDetector:
    """Say when the dense reward has not improved by ``min_improvement`` for ``steps`` steps."""

    def __init__(self, steps: int, min_improvement: float = 0.01):
        """Start with no reward seen."""
        if steps < 1:
            raise ValueError(f'stall steps must be at least 1, got {steps}')
        self.steps = steps
        self.min_improvement = min_improvement
        self._best = -np.inf
        self._since = 0

    def update(self, reward: float) -> bool:
        """Feed this step's reward; return whether the episode has stalled."""
        if reward > self._best + self.min_improvement:
            self._best, self._since = reward, 0
        else:
            self._since += 1
        return self._since >= self.steps


@dataclass(frozen=True)
class HumanSettings:
    """Everything the scripted human needs to know."""

    task: str
    scripted: ScriptedConfig = field(default_factory=ScriptedConfig)
    rerecord_episodes: Tuple[int, ...] = ()
    rerecord_after_steps: int = 3
    stall_steps: int = 50
    stall_min_improvement: float = 0.01
    intervention: InterventionSettings = field(default_factory=InterventionSettings)
    # 'success': do the task; 'failure': play every episode badly (hilserl.human.failure_play).
    outcome: str = 'success'
    failure: FailureSettings = field(default_factory=FailureSettings)

    def __post_init__(self):
        """Refuse an outcome it cannot play."""
        if self.outcome not in OUTCOMES:
            raise ValueError(f'outcome must be one of {OUTCOMES}, not {self.outcome!r}')


@dataclass(frozen=True)
class HumanStep:
    """What the scripted human does in one step."""

    delta_xyz: Tuple[float, float, float]
    gripper: int
    intervening: bool
    events: Tuple[int, ...] = ()


class ScriptedHuman:
    """The scripted human across episodes: controller, events and interventions."""

    def __init__(self, settings: HumanSettings):
        """Wait for the first episode."""
        self.settings = settings
        self.interventions = InterventionPolicy(settings.intervention)
        self.episode_index: Optional[int] = None
        self._rerecorded: set = set()
        self._controller = ScriptedController(settings.task, settings.scripted)
        self._stall = StallDetector(settings.stall_steps, settings.stall_min_improvement)
        self._steps = 0
        self._decided = False  # raised SUCCESS, FAILURE or RERECORD in this episode
        self._intervening = False

    @property
    def in_episode(self) -> bool:
        """Return whether an episode is under way."""
        return self.episode_index is not None

    def start_episode(self, episode_index: int) -> None:
        """Begin an episode: a fresh controller, stall timer and attention draw."""
        self.episode_index = episode_index
        self._controller = ScriptedController(self.settings.task, self.settings.scripted)
        if self.settings.outcome == 'failure':
            self._controller = FailurePlay(self._controller, episode_index,
                                           self.settings.failure)
        self._stall = StallDetector(self.settings.stall_steps,
                                    self.settings.stall_min_improvement)
        self._steps = 0
        self._decided = False
        self.interventions.start_episode()

    def end_episode(self) -> None:
        """Stop raising events until the next episode starts."""
        self.episode_index = None

    def step(self, truth: Truth) -> HumanStep:
        """Return the command, intervention flag and events for this step."""
        if not self.in_episode:
            # Between episodes the arm is being reset: hold still, change nothing.
            return HumanStep((0.0, 0.0, 0.0), 1, self._intervening)
        delta, gripper = self._controller.act(truth.tcp, truth.cube, truth.goal, truth.grasped)
        delta = tuple(float(v) for v in delta)
        self._steps += 1
        events: List[int] = []
        goal = truth.goal if (truth.grasped or self.settings.task == 'reach') else truth.cube
        intervening, change = self._set_intervening(self.interventions.decide(truth.tcp, goal))
        events += change
        stalled = self._stall.update(truth.dense_reward)
        if not self._decided:
            if (self.episode_index in self.settings.rerecord_episodes
                    and self.episode_index not in self._rerecorded
                    and self._steps >= self.settings.rerecord_after_steps):
                self._rerecorded.add(self.episode_index)
                events.append(RERECORD)
                self._decided = True
            elif truth.success:
                events.append(SUCCESS)
                self._decided = True
            elif stalled:
                events.append(FAILURE)
                self._decided = True
        return HumanStep(delta, int(gripper), intervening, tuple(events))

    def _set_intervening(self, intervening: bool):
        change = []
        if intervening != self._intervening:
            change = [INTERVENTION_START if intervening else INTERVENTION_END]
        self._intervening = intervening
        return intervening, change
