"""
What an actor's run produced, episode by episode; no ROS.

:class:`RunResults` sums each episode's reward and human steps, keeps one result per
episode (with the reward classifier's counts against the ground truth when the run
checks them, :mod:`hilserl.actor.reward_check`), and at the end gives the run's summary
lines and writes the evaluation file (``eval_log``): :func:`evaluation_summary` plus,
with the check, :func:`hilserl.actor.reward_check.evaluation_figures`.
"""

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from hilserl.actor.reward_check import evaluation_figures, figures_line, RewardCheck


def evaluation_summary(episodes: List[Dict[str, object]]) -> Dict[str, object]:
    """Return the JSON-able result of a run: episodes, successes and the success rate."""
    successes = sum(1 for episode in episodes if episode.get('success'))
    return {'episodes': len(episodes), 'successes': successes,
            'success_rate': successes / len(episodes) if episodes else 0.0,
            'per_episode': list(episodes)}


def write_json(path: str, content: Dict[str, object]) -> str:
    """Write ``content`` as JSON to ``path`` (directories created); return the full path."""
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as stream:
        json.dump(content, stream, indent=2)
    return path


class RunResults:
    """The episodes of one actor run: the open one's totals, the finished ones' results."""

    def __init__(self, reward_check: Optional[RewardCheck] = None):
        """Collect results; ``reward_check`` adds the classifier's counts to each."""
        self.reward_check = reward_check
        self.episodes: List[Dict[str, Any]] = []
        self.reward = 0.0
        self.intervention_steps = 0

    def start_episode(self) -> None:
        """Open an episode: its totals start at zero."""
        self.reward, self.intervention_steps = 0.0, 0
        if self.reward_check is not None:
            self.reward_check.start_episode()

    def add_step(self, reward: float, intervention: bool) -> None:
        """Count one labelled step of the open episode."""
        self.reward += reward
        self.intervention_steps += int(intervention)

    def end_episode(self, episode_index: int, steps: int, success: bool, ended: str,
                    policy_version: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """
        Close the open episode; return its result and the checked counts ({} unchecked).

        The counts go by their EpisodeStats names (``hilserl.actor.reward_check.CHECK_FIELDS``).
        """
        checked = {} if self.reward_check is None else self.reward_check.counts()
        detail = ({} if self.reward_check is None
                  else self.reward_check.false_positive_detail())
        result = {'episode_index': episode_index, 'steps': steps, 'success': success,
                  'ended': ended, 'episodic_reward': self.reward,
                  'intervention_steps': self.intervention_steps,
                  'policy_version': policy_version, **checked, **detail}
        self.episodes.append(result)
        return result, checked

    def finish(self, eval_log: str = '', **about: Any) -> List[str]:
        """
        Return the run's summary lines; write it to ``eval_log`` when one is given.

        ``about`` (e.g. the actor id) is written beside the summary.
        """
        summary = evaluation_summary(self.episodes)
        lines = [f"success rate {summary['success_rate']:.3f} "
                 f"({summary['successes']}/{summary['episodes']} episodes)"]
        if self.reward_check is not None:
            summary.update(evaluation_figures(self.episodes))
            lines.append(figures_line(summary))
        if eval_log:
            path = write_json(eval_log, dict(summary, **about))
            lines.append(f'results written to {path}')
        return lines
