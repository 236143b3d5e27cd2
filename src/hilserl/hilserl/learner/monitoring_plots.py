"""
PNG plots of a run's metrics (the rows of ``monitoring.MetricsLog``).

Drawn with matplotlib's Agg canvas and no pyplot, so no window, no global figure
state and no display are needed; files are replaced atomically, so a viewer that
reloads them never reads half a PNG.
"""

import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# More points than this per line are thinned (every n-th kept): a plot is a few
# hundred pixels wide, and drawing a million points every minute would stall training.
MAX_POINTS = 4000

Series = Tuple[List[float], List[float]]


def _value(row: Mapping[str, Any], key: str) -> Optional[float]:
    value = row.get(key)
    if value is None or value == '' or isinstance(value, str):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def series(rows: Sequence[Mapping[str, Any]], x_key: str, y_key: str) -> Series:
    """Return the (x, y) points of ``y_key`` against ``x_key`` where both are numbers."""
    stride = max(1, math.ceil(len(rows) / MAX_POINTS))
    xs, ys = [], []
    for row in rows[::stride]:
        x, y = _value(row, x_key), _value(row, y_key)
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return xs, ys


def _draw(panels: List[Tuple[str, Dict[str, Series]]], x_label: str, title: str,
          path: str) -> str:
    """Draw one panel per (title, {label: series}) stacked in a column; save to ``path``."""
    figure = Figure(figsize=(9, 2.4 * len(panels)), dpi=80, layout='constrained')
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (panel_title, lines) in zip(axes, panels):
        for label, (xs, ys) in lines.items():
            ax.plot(xs, ys, label=label, linewidth=1.2, marker='.' if len(xs) < 30 else None)
        ax.set_title(panel_title, fontsize=10, loc='left')
        ax.grid(True, alpha=0.3)
        if len(lines) > 1:
            ax.legend(fontsize=8, loc='best')
    axes[-1].set_xlabel(x_label)
    figure.suptitle(title, fontsize=11)
    temporary = path + '.tmp.png'
    figure.savefig(temporary, format='png')
    os.replace(temporary, path)
    return path


def episode_panels(rows: Sequence[Mapping[str, Any]]) -> List[Tuple[str, Dict[str, Series]]]:
    """
    Return the episode panels: reward, success, interventions, length, policy rate.

    Rows with the reward classifier's counts (:mod:`hilserl.actor.reward_check`) add the
    ground truth's success beside the classifier's and a panel of the classifier's
    false-positive and false-negative rates against the ground truth.
    """
    def lines(*keys_labels):
        return {label: series(rows, 'episode', key) for key, label in keys_labels}

    checked = any(_value(row, 'classifier_tp') is not None for row in rows)
    success = lines(('running_success_rate', 'success rate'))
    if checked:
        success = lines(('running_success_rate', 'classifier (the reward)'),
                        ('running_true_success_rate', 'ground truth'))
    panels = [
        ('episodic reward', lines(('episodic_reward', 'reward'))),
        ('success rate (running mean)', success),
        ('intervention rate', lines(('intervention_rate', 'episode'),
                                    ('running_intervention_rate', 'running mean'))),
        ('episode length (steps)', lines(('steps', 'episode'),
                                         ('running_episode_length', 'running mean'))),
        ('policy rate (Hz)', lines(('policy_hz_mean', 'mean'), ('policy_hz_p90', 'p90'))),
    ]
    if checked:
        panels.insert(2, ('reward classifier against the ground truth (running mean)', lines(
            ('running_classifier_fp_rate', 'false-positive rate (steps)'),
            ('running_classifier_fn_rate', 'false-negative rate (steps)'),
            ('running_false_success_rate', 'false successes (episodes)'))))
    return panels


def plot_episodes(rows: Sequence[Mapping[str, Any]], path: str) -> str:
    """Plot reward, success and intervention rates, length and policy rate per episode."""
    return _draw(episode_panels(rows), 'episode', 'episodes', path)


def learner_panels(rows: Sequence[Mapping[str, Any]]) -> List[Tuple[str, Dict[str, Series]]]:
    """Group the learner's numeric columns into panels: rate, losses, temperature, Q, ..."""
    keys = []
    for row in rows:
        keys.extend(k for k in row if k not in keys and k not in ('time', 'step'))
    # Q values and entropy get a panel of their own: beside the ever-growing counters
    # their scale flattens them, and a Q rising past the most the reward can return is
    # the first sign of a diverging critic.
    groups: Dict[str, List[str]] = {'updates/s': [], 'losses': [], 'temperature': [],
                                    'Q value, entropy': [], 'buffer sizes': [],
                                    'counters': [], 'other': []}
    for key in keys:
        if key == 'updates_per_s':
            groups['updates/s'].append(key)
        elif 'loss' in key:
            groups['losses'].append(key)
        elif 'temperature' in key or 'alpha' in key:
            groups['temperature'].append(key)
        elif key.startswith('q_') or 'entropy' in key:
            groups['Q value, entropy'].append(key)
        elif 'buffer' in key:
            groups['buffer sizes'].append(key)
        elif 'version' in key or 'received' in key:
            groups['counters'].append(key)
        else:
            groups['other'].append(key)
    panels = []
    for title, members in groups.items():
        lines = {key: series(rows, 'step', key) for key in members}
        lines = {key: points for key, points in lines.items() if points[0]}
        if lines:
            panels.append((title, lines))
    return panels or [('no numeric metrics yet', {})]


def plot_learner(rows: Sequence[Mapping[str, Any]], path: str) -> str:
    """Plot updates/s, losses, temperature, buffer sizes (and other numbers) against step."""
    return _draw(learner_panels(rows), 'learner step', 'learner', path)
