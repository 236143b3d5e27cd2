"""
Where a step's reward is decided: the one place for it; no ROS.

HIL-SERL's reward is sparse: 1 for the step at which the task succeeded (and for the
steps an episode keeps after it), 0 before; :class:`hilserl.actor.episodes.EpisodeTracker`
turns the episode's events into those labels. What says "it succeeded" is the run's
reward source, one of :data:`REWARD_SOURCES`:

- ``'ground_truth'``: the simulation's success test (``sim/ground_truth.success``);
- ``'classifier'``: the reward classifier on the camera frames
  (``reward_classifier/success``): its first positive decision in the episode;
- ``'human'``: the success key of the teleop device (a SUCCESS on ``episode_events``).

:meth:`RewardLabeler.observe` is fed every control tick and says when the source has
decided success (once per episode); :meth:`RewardLabeler.accepts` says which events
from others label the step; :meth:`RewardLabeler.reward` gives a labelled step its
reward. A FAILURE from anyone ends the episode with reward 0.

Option, simulation only: the task's shaped progress (``sim/ground_truth.dense_reward``,
:mod:`hilserl.sim.tasks`: a potential in [0, 1] that grows as the TCP nears the goal, not
a reward by itself) added as potential-based shaping (Ng, Harada and Russell, 1999):
``reward += progress_weight * (progress(s') - progress(s))`` for a step from ``s`` to
``s'``, with progress 0 after a terminal step, so that the shaping of an episode sums
to ``-progress_weight * progress(s0)`` and cannot make a detour pay. Off (0) by default,
as HIL-SERL; the sparse labels then reach the learner unchanged. Shaped rewards leave
[0, 1]: widen the learner's ``agent.td_target_min``/``td_target_max`` accordingly.
"""

from typing import Optional

from hilserl.actor.episodes import FAILURE, StepLabel, SUCCESS

REWARD_SOURCES = ('ground_truth', 'classifier', 'human')


def accepts_event(reward_source: str, event: int, from_self: bool) -> bool:
    """
    Return whether an ``episode_events`` event labels the actor's current step.

    SUCCESS counts from the human only when ``reward_source`` is 'human' (otherwise the
    actor raises it itself, from ground truth or the classifier, and applies it at
    once, so its own echo is ignored); a FAILURE from anyone ends the episode; RERECORD
    and the rest are not the actor's business (sent transitions cannot be unsent).
    """
    if from_self:
        return False
    if event == SUCCESS:
        return reward_source == 'human'
    return event == FAILURE


class RewardLabeler:
    """One run's reward: its source's success decisions, and the optional shaping."""

    def __init__(self, source: str, progress_weight: float = 0.0):
        """Decide success from ``source``; shape with ``progress_weight`` (0: sparse only)."""
        if source not in REWARD_SOURCES:
            raise ValueError(f"reward_source must be one of {REWARD_SOURCES}, got '{source}'")
        if not progress_weight >= 0.0:
            raise ValueError(f'progress_weight must be >= 0, got {progress_weight}')
        self.source = source
        self.progress_weight = float(progress_weight)
        self._decided = False
        self._classifier_success = False
        self._progress: Optional[float] = None   # at this tick
        self._previous: Optional[float] = None   # at the tick before

    @property
    def needs_ground_truth(self) -> bool:
        """Say whether the simulation's ground truth must be read every tick."""
        return self.source == 'ground_truth' or self.progress_weight > 0.0

    def start_episode(self) -> None:
        """Forget the last episode's decisions and progress."""
        self._decided = self._classifier_success = False
        self._progress = self._previous = None

    def accepts(self, event: int, from_self: bool) -> bool:
        """Return whether an event on ``episode_events`` labels the current step."""
        return accepts_event(self.source, event, from_self)

    def on_classifier(self, success: bool) -> None:
        """Take a decision of the reward classifier (any time during the episode)."""
        self._classifier_success = self._classifier_success or bool(success)

    def observe(self, truth_success: bool = False,
                progress: Optional[float] = None) -> bool:
        """
        Take this tick's observation; return True when the source decides success now.

        ``truth_success`` and ``progress`` come from the simulation's ground truth (False
        and None without one). True comes at most once per episode, and never for the
        'human' source (whose success arrives as an event).
        """
        self._previous, self._progress = self._progress, progress
        if self._decided:
            return False
        if self.source == 'ground_truth':
            self._decided = bool(truth_success)
        elif self.source == 'classifier':
            self._decided = self._classifier_success
        return self._decided

    def reward(self, label: StepLabel) -> float:
        """
        Return the reward of the step ``label`` labels: it ended at this tick's observation.

        The sparse label's reward, plus the progress shaping when it is on.
        """
        if not self.progress_weight or self._previous is None or self._progress is None:
            return label.reward
        after = 0.0 if label.terminated else self._progress
        return label.reward + self.progress_weight * (after - self._previous)
