"""
What an episode is: when it ends, how its steps are labelled, which ones are kept; no ROS.

Record mode and the RL actor both run one :class:`EpisodeTracker` per episode and
feed it once per control step; the rules, in docs/workflow.md, "Episodes and record mode":

- step ``t`` is the action taken at control tick ``t``; it is labelled at tick
  ``t + 1``, when its outcome is known, with the events that arrived in between;
- the time limit is ``round(control_time_s * fps)`` steps: the last one is
  ``truncated`` (the episode bootstraps from its final observation);
- SUCCESS gives that step reward 1; with ``terminate_on_success`` the episode goes on
  for ``number_of_steps_after_success`` more steps, each with reward 1, and the last
  positive step is ``terminated``; without it the episode runs to the time limit with
  reward 1 from the success on (data for the reward classifier);
- FAILURE ends the episode at once: ``terminated``, reward 0;
- with ``intervention_penalty`` p > 0, a policy step after which the human took over
  gets reward -p (RLIF's signal that the policy went wrong; HIL-SERL's labels are p = 0);
- RERECORD ends it at once and discards it: the same episode index is recorded again;
- after every episode that ends, the arm goes back to its fixed reset pose.

Events that make no sense in the state the episode is in (a second SUCCESS, a FAILURE
after a success) are ignored; RERECORD always wins.
"""

from dataclasses import dataclass
from typing import Iterable, Optional

from hilserl.defaults import CONTROL_FPS, EPISODE_TIME_S

# Event codes, as in hilserl_interfaces/msg/EpisodeEvent (no ROS import here).
EPISODE_START = 0
SUCCESS = 1
FAILURE = 2
RERECORD = 3
INTERVENTION_START = 4
INTERVENTION_END = 5
EPISODE_END = 6

EVENT_NAMES = {EPISODE_START: 'episode start', SUCCESS: 'success', FAILURE: 'failure',
               RERECORD: 'rerecord', INTERVENTION_START: 'intervention start',
               INTERVENTION_END: 'intervention end', EPISODE_END: 'episode end'}

# How an episode ended.
ENDED_SUCCESS = 'success'
ENDED_FAILURE = 'failure'
ENDED_TIME_LIMIT = 'time limit'
ENDED_RERECORD = 'rerecord'


@dataclass(frozen=True)
class EpisodeConfig:
    """When episodes end and how long the positive tail after a success is."""

    fps: float = CONTROL_FPS
    control_time_s: float = EPISODE_TIME_S
    number_of_steps_after_success: int = 0
    terminate_on_success: bool = True
    # Reward of a policy step that made the human take over, negated (0: none).
    intervention_penalty: float = 0.0

    def __post_init__(self):
        """Refuse settings that cannot make an episode."""
        if not self.fps > 0:
            raise ValueError(f'fps must be positive, got {self.fps}')
        if not self.control_time_s > 0:
            raise ValueError(f'control_time_s must be positive, got {self.control_time_s}')
        if self.number_of_steps_after_success < 0:
            raise ValueError('number_of_steps_after_success must be 0 or more, got '
                             f'{self.number_of_steps_after_success}')
        if not 0.0 <= self.intervention_penalty < float('inf'):
            raise ValueError('intervention_penalty must be 0 or more, got '
                             f'{self.intervention_penalty}')
        if self.max_steps < 1:
            raise ValueError(f'control_time_s {self.control_time_s} at {self.fps} fps is '
                             'less than one step')

    @property
    def max_steps(self) -> int:
        """Return the time limit in steps."""
        return int(round(self.control_time_s * self.fps))


@dataclass(frozen=True)
class StepLabel:
    """The labels of one step, and what the episode does next."""

    step_index: int
    reward: float
    terminated: bool
    truncated: bool
    intervention: bool
    # None while the episode goes on; else how it ended (ENDED_*).
    ended: Optional[str] = None

    @property
    def done(self) -> bool:
        """Return whether the episode ended with this step (reset next)."""
        return self.ended is not None

    @property
    def discard(self) -> bool:
        """Return whether the episode is thrown away (rerecorded)."""
        return self.ended == ENDED_RERECORD


class EpisodeTracker:
    """One episode's state machine; feed :meth:`step` once per control step."""

    def __init__(self, config: EpisodeConfig, episode_index: int = 0):
        """Start the episode at step 0, before any success."""
        self.config = config
        self.episode_index = episode_index
        self.steps = 0
        self.succeeded_at: Optional[int] = None
        self.ended: Optional[str] = None

    @property
    def steps_left(self) -> int:
        """Return the steps before the time limit."""
        return self.config.max_steps - self.steps

    def step(self, events: Iterable[int], intervention: bool,
             taken_over: bool = False) -> StepLabel:
        """
        Label the next step given the events raised during it; see the module rules.

        ``intervention``: the human drove this step; ``taken_over``: the human drives
        the next one (their verdict on this step when the policy drove it).
        """
        if self.ended is not None:
            raise RuntimeError(f'episode {self.episode_index} already ended ({self.ended})')
        events = set(events)
        index = self.steps
        self.steps += 1
        if RERECORD in events:
            return self._end(index, 0.0, False, False, intervention, ENDED_RERECORD)
        if self.succeeded_at is None and SUCCESS in events:
            self.succeeded_at = index
        # The penalty needs the policy in control before and the human after.
        penalised = (taken_over and not intervention and self.succeeded_at is None
                     and self.config.intervention_penalty > 0)
        unsuccessful = -self.config.intervention_penalty if penalised else 0.0
        if self.succeeded_at is None and FAILURE in events:
            return self._end(index, unsuccessful, True, False, intervention, ENDED_FAILURE)
        reward = 1.0 if self.succeeded_at is not None else unsuccessful
        if (self.config.terminate_on_success and self.succeeded_at is not None
                and index - self.succeeded_at >= self.config.number_of_steps_after_success):
            return self._end(index, reward, True, False, intervention, ENDED_SUCCESS)
        if self.steps >= self.config.max_steps:
            # A success cut short by the time limit is still a success: no bootstrapping.
            cut_success = self.config.terminate_on_success and self.succeeded_at is not None
            return self._end(index, reward, cut_success, not cut_success, intervention,
                             ENDED_SUCCESS if cut_success else ENDED_TIME_LIMIT)
        return StepLabel(index, reward, False, False, bool(intervention))

    def _end(self, index, reward, terminated, truncated, intervention, how) -> StepLabel:
        self.ended = how
        return StepLabel(index, reward, terminated, truncated, bool(intervention), how)


class EpisodeSchedule:
    """Which episode index comes next, and when enough episodes are kept."""

    def __init__(self, num_episodes: int, first_index: int = 0):
        """Record ``num_episodes`` kept episodes, numbered from ``first_index``."""
        if num_episodes < 1:
            raise ValueError(f'num_episodes must be at least 1, got {num_episodes}')
        self.num_episodes = num_episodes
        self.first_index = first_index
        self.next_index = first_index
        self.kept = 0
        self.discarded = 0

    @property
    def finished(self) -> bool:
        """Return whether every episode asked for is kept."""
        return self.kept >= self.num_episodes

    def episode_ended(self, label: StepLabel) -> None:
        """Count a finished episode: kept ones advance the index, rerecorded ones repeat it."""
        if label.discard:
            self.discarded += 1
        else:
            self.kept += 1
            self.next_index += 1


def format_status(kept: int, num_episodes: int, episode_index: int, step: int,
                  seconds_left: float, last_event: str) -> str:
    """Return the recorder's one-line status, e.g. ``episode 3/10 (#0002) step 12 ...``."""
    return (f'episode {min(kept + 1, num_episodes)}/{num_episodes} (#{episode_index:04d}) '
            f'step {step:4d}  {max(seconds_left, 0.0):5.1f} s left  last event: {last_event}')
