"""
The reward classifier's decisions against the simulator's ground truth; no ROS.

In simulation a policy trained with ``reward_source: classifier`` can be watched for
HIL-SERL's known failure in the field: a policy that learns to show the classifier
what it takes for a success (a false positive) instead of doing the task. The actor
scores every step it labels (:class:`RewardCheck`): the classifier said success or
not, and the ground truth did or did not, as counts of true and false positives and
negatives, and whether the ground truth saw a success during the episode. They go to
the learner in EpisodeStats (``CHECK_FIELDS``) and from there to ``episodes.csv``, the
plots and wandb (:class:`RunningCheck`); an evaluation writes them to
``evaluation.json`` (:func:`evaluation_figures`).

Timing: the classifier's decision at a tick comes from camera frames up to one
control period older than the ground truth of that tick, so a change of the ground
truth gets one period of grace: a "success" is a true positive when the ground truth
said success at this tick or the one before, and a "no" is a false negative only when
it said success at both. Rates (fractions):

    false-positive rate = FP / (FP + TN)   (steps the ground truth calls unsuccessful)
    false-negative rate = FN / (FN + TP)   (steps the ground truth calls successful)

Episodes end at the classifier's first success, so a false positive costs a single
step but a whole episode: the share of episodes that ended on a success the ground
truth did not see (false successes) is the figure to watch for exploitation.

What the policy showed the classifier at its first false positive of an episode tells
which lever helps (negatives nearer the boundary, a stricter threshold, a human who
vetoes): the actor passes the ground truth's ``where`` (:func:`truth_snapshot`: the
object grasped or not, and how far below the task's goal height it was) and the
evaluation counts and describes them (:func:`false_success_summary`).
"""

import collections
import statistics
from typing import Any, Dict, Iterable, Mapping, Optional

# What an actor adds to EpisodeStats when it checks the classifier (reward_checked).
CHECK_FIELDS = ('true_success', 'classifier_tp', 'classifier_fp', 'classifier_fn',
                'classifier_tn')


def _fraction(numerator: float, denominator: float) -> Optional[float]:
    return numerator / denominator if denominator > 0 else None


def false_rates(tp: float, fp: float, fn: float, tn: float):
    """Return ``(false-positive rate, false-negative rate)``; None where nothing to divide."""
    return _fraction(fp, fp + tn), _fraction(fn, fn + tp)


class RewardCheck:
    """
    One episode's confusion counts of the classifier's decisions against the ground truth.

    Feed every decision the classifier publishes to :meth:`decision` and every control
    tick to :meth:`tick`; :meth:`start_episode` clears the counts.
    """

    def __init__(self):
        """Start with no decision seen."""
        self.start_episode()

    def start_episode(self) -> None:
        """Clear the counts; decisions from before the episode are forgotten."""
        self.tp = self.fp = self.fn = self.tn = 0
        # The ground truth at the episode's first false positive (truth_snapshot), if any.
        self.first_false_positive: Optional[Dict[str, Any]] = None
        self.true_success = False
        self._newest = self._any_success = self._received = False
        self._previous_truth = False

    def decision(self, success: bool) -> None:
        """Take one of the classifier's decisions (``reward_classifier/success``)."""
        self._newest = bool(success)
        self._received = True
        self._any_success = self._any_success or self._newest

    def take_decision(self) -> bool:
        """
        Return the decision since the previous tick, as the actor acts on it.

        Success when any decision since then said so (the actor latches it); with none
        since then, the newest one before still holds.
        """
        decided = self._any_success if self._received else self._newest
        self._any_success = self._received = False
        return decided

    def tick(self, truth_success: bool, labels_a_step: bool,
             where: Optional[Dict[str, Any]] = None) -> bool:
        """
        Score one control tick; ``labels_a_step``: the tick gives a step its reward.

        Only those ticks are counted (the episode's first tick has nothing to reward),
        so the four counts add up to the episode's steps. ``where``: the ground truth's
        :func:`truth_snapshot` of this tick, kept at the first false positive. Returns
        the decision.
        """
        decided = self.take_decision()
        truth_success = bool(truth_success)
        if labels_a_step:
            if decided and (truth_success or self._previous_truth):
                self.tp += 1
            elif decided:
                self.fp += 1
                if self.first_false_positive is None and where is not None:
                    self.first_false_positive = dict(where)
            elif truth_success and self._previous_truth:
                self.fn += 1
            else:
                self.tn += 1
        self.true_success = self.true_success or truth_success
        self._previous_truth = truth_success
        return decided

    def false_positive_detail(self) -> Dict[str, Any]:
        """Return ``{'first_false_positive': snapshot}`` if the episode had one, else {}."""
        if self.first_false_positive is None:
            return {}
        return {'first_false_positive': self.first_false_positive}

    def counts(self) -> Dict[str, Any]:
        """Return the episode's figures by their EpisodeStats names (``CHECK_FIELDS``)."""
        return {'true_success': self.true_success, 'classifier_tp': self.tp,
                'classifier_fp': self.fp, 'classifier_fn': self.fn,
                'classifier_tn': self.tn}


def _number(value: Any) -> float:
    """Return a field as a number: EpisodeStats values, or the text of a CSV cell."""
    return 0.0 if value in (None, '') else float(value)


def _counts_of(episode: Mapping[str, Any]):
    return tuple(int(_number(episode.get(f'classifier_{kind}')))
                 for kind in ('tp', 'fp', 'fn', 'tn'))


def _flag(episode: Mapping[str, Any], name: str) -> bool:
    return _number(episode.get(name)) != 0


def _false_success(episode: Mapping[str, Any]) -> bool:
    return _flag(episode, 'success') and not _flag(episode, 'true_success')


def episode_figures(episode: Mapping[str, Any]) -> Dict[str, Any]:
    """Return one episode's rates and whether it ended on a false success (CSV columns)."""
    fp_rate, fn_rate = false_rates(*_counts_of(episode))
    return {'classifier_fp_rate': fp_rate, 'classifier_fn_rate': fn_rate,
            'classifier_false_success': int(_false_success(episode)),
            'true_success': int(_flag(episode, 'true_success'))}


class RunningCheck:
    """The classifier's figures over the last ``window`` episodes that carry them."""

    def __init__(self, window: int, rows: Iterable[Mapping[str, Any]] = ()):
        """Start from earlier rows (a resumed run): those with the counts are taken."""
        self._recent = collections.deque(maxlen=window)
        for row in rows:
            if row.get('classifier_tp') not in (None, ''):
                self._add(row)

    def _add(self, episode: Mapping[str, Any]) -> None:
        self._recent.append((*_counts_of(episode), _flag(episode, 'true_success'),
                             _false_success(episode)))

    def add(self, episode: Mapping[str, Any]) -> Dict[str, Any]:
        """Take one episode's EpisodeStats fields; return its figures and the running ones."""
        self._add(episode)
        tp, fp, fn, tn = (sum(entry[i] for entry in self._recent) for i in range(4))
        fp_rate, fn_rate = false_rates(tp, fp, fn, tn)
        count = len(self._recent)
        return {**episode_figures(episode),
                'running_classifier_fp_rate': fp_rate,
                'running_classifier_fn_rate': fn_rate,
                'running_true_success_rate': sum(entry[4] for entry in self._recent) / count,
                'running_false_success_rate': sum(entry[5] for entry in self._recent) / count}


def evaluation_figures(episodes: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    """
    Return an evaluation's success by both judges and the classifier's errors.

    ``episodes``: per-episode dicts with ``success`` (the classifier's verdict) and the
    ``CHECK_FIELDS`` (values, or the text of ``episodes.csv`` cells). The rates are None
    where there was nothing to measure them on.
    """
    episodes = list(episodes)
    count = len(episodes)
    tp, fp, fn, tn = (sum(values) for values in zip(*map(_counts_of, episodes))) \
        if episodes else (0, 0, 0, 0)
    fp_rate, fn_rate = false_rates(tp, fp, fn, tn)
    return {
        'episodes': count,
        'ground_truth_success_rate': _fraction(
            sum(_flag(e, 'true_success') for e in episodes), count) or 0.0,
        'classifier_success_rate': _fraction(
            sum(_flag(e, 'success') for e in episodes), count) or 0.0,
        'classifier_false_positive_rate': fp_rate,
        'classifier_false_negative_rate': fn_rate,
        'classifier_false_successes': sum(_false_success(e) for e in episodes),
        'classifier_missed_successes': sum(_flag(e, 'true_success')
                                           and not _flag(e, 'success') for e in episodes),
        'classifier_steps': {'tp': tp, 'fp': fp, 'fn': fn, 'tn': tn},
        **false_success_summary(episodes),
    }


def truth_snapshot(grasped: bool, object_z: float, goal_z: float) -> Dict[str, Any]:
    """
    Return what a false positive is described by: the object grasped, and its height.

    ``object_z`` and ``goal_z`` (metres, base frame): the object's centre and the task's
    goal (pick_lift: the height a success needs). ``below_goal_cm`` = 100 (goal_z -
    object_z): positive when the object is short of the goal.
    """
    return {'grasped': bool(grasped),
            'below_goal_cm': round(100.0 * (float(goal_z) - float(object_z)), 2)}


def false_success_summary(episodes: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    """
    Describe the false successes of ``episodes`` by their ``first_false_positive``.

    Returns ``false_successes_grasped`` (episodes whose false success came with the
    object grasped), and the median and the range of ``below_goal_cm`` over them; None
    where no episode carries a snapshot.
    """
    snapshots = [e['first_false_positive'] for e in episodes
                 if _false_success(e) and e.get('first_false_positive')]
    if not snapshots:
        return {'false_successes_grasped': None, 'false_success_below_goal_cm': None}
    below = [snapshot['below_goal_cm'] for snapshot in snapshots]
    return {'false_successes_grasped': sum(s['grasped'] for s in snapshots),
            'false_success_below_goal_cm': {'median': statistics.median(below),
                                            'min': min(below), 'max': max(below)}}


def figures_line(figures: Mapping[str, Any]) -> str:
    """Return :func:`evaluation_figures` as one line for a log."""
    def rate(value):
        return 'n/a' if value is None else f'{value:.3f}'
    return (f"ground truth success rate {figures['ground_truth_success_rate']:.3f}, "
            f"classifier success rate {figures['classifier_success_rate']:.3f}; the "
            f"classifier's false-positive rate {rate(figures['classifier_false_positive_rate'])}"
            f", false-negative rate {rate(figures['classifier_false_negative_rate'])} (steps); "
            f"{figures['classifier_false_successes']} false successes{_described(figures)}")


def _described(figures: Mapping[str, Any]) -> str:
    below = figures.get('false_success_below_goal_cm')
    if not below:
        return ''
    return (f" ({figures['false_successes_grasped']} with the object grasped; it was "
            f"{below['median']:g} cm below the goal height, median, {below['min']:g} to "
            f"{below['max']:g})")
