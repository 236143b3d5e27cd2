"""
Training metrics of a run: CSV files, PNG plots and (optionally) Weights & Biases.

``MetricsLog`` is what the learner keeps for the whole run:

* ``log_episode(stats)`` takes one actor episode (the fields of
  ``hilserl_interfaces/EpisodeStats``) and adds running averages over the last
  ``window`` episodes: success rate, intervention rate (each episode's human-driven
  steps divided by its steps, averaged) and episode length; with the reward
  classifier's counts (:mod:`hilserl.actor.reward_check`), its false-positive and
  false-negative rates against the ground truth, per episode and running;
* ``log_learner(step, metrics)`` takes whatever the learner measures (losses,
  temperature, buffer sizes, ...) and adds ``updates_per_s`` when it is not given;
* every row is appended to ``episodes.csv`` / ``learner.csv`` in the run directory
  and flushed at once, so a crash loses nothing; a resumed run appends to the same
  files (same header) and its plots and averages continue from them
  (:class:`hilserl.learner.csv_log.CsvLog`);
* ``write_plots()`` redraws ``plots/episodes.png`` and ``plots/learner.png`` at most
  every ``plot_period_s`` (and always at ``close()``);
* wandb runs online only when an API key is configured (environment or netrc,
  checked without any network call), offline otherwise, with its files under
  ``<run_dir>/wandb`` and a run id kept in the run directory so that a resumed
  training resumes the same wandb run. Without wandb (not installed, or its start
  fails) one warning is logged and the CSV files and plots carry on.

No ROS import: the learner node owns one, tests drive it directly.
"""

import collections
import importlib
import logging
import math
import netrc
import os
import secrets
import shutil
import time
from typing import Any, Callable, Dict, List, Mapping, Optional
from urllib.parse import urlparse

from hilserl.actor.reward_check import RunningCheck
from hilserl.learner.csv_log import as_number, CsvLog

EPISODE_STATS_FIELDS = (
    'actor_id', 'episode_index', 'steps', 'episodic_reward', 'success', 'intervention_steps',
    'policy_hz_mean', 'policy_hz_p90', 'period_jitter_p99_ms', 'latency_ms_mean',
    'policy_version')
EPISODE_COLUMNS = (
    'time', 'episode', *EPISODE_STATS_FIELDS, 'intervention_rate', 'running_success_rate',
    'running_intervention_rate', 'running_episode_length')
LEARNER_FIXED_COLUMNS = ('time', 'step')
EPISODES_CSV = 'episodes.csv'
LEARNER_CSV = 'learner.csv'
PLOTS_DIR = 'plots'
WANDB_RUN_ID_FILE = 'wandb_run_id'
DEFAULT_WANDB_HOST = 'https://api.wandb.ai'


def wandb_logged_in(environ: Mapping[str, str] = os.environ) -> bool:
    """
    Return whether wandb has an API key for its host, without contacting it.

    The key comes from ``WANDB_API_KEY`` or from the netrc file that ``wandb login``
    writes (``$NETRC``, else ``~/.netrc``), for the host of ``WANDB_BASE_URL``.
    """
    if environ.get('WANDB_API_KEY', '').strip():
        return True
    host = urlparse(environ.get('WANDB_BASE_URL') or DEFAULT_WANDB_HOST).hostname
    candidates = [environ['NETRC']] if environ.get('NETRC') else [
        os.path.join(os.path.expanduser('~'), name) for name in ('.netrc', '_netrc')]
    for path in candidates:
        try:
            entry = netrc.netrc(path).authenticators(host)
        except (OSError, netrc.NetrcParseError):
            continue
        if entry and entry[2]:
            return True
    return False


def format_status(episodes: int, success_rate: Optional[float],
                  intervention_rate: Optional[float], updates_per_s: Optional[float],
                  buffer_sizes: Mapping[str, float], width: Optional[int] = None) -> str:
    """
    Return one status line, cut to ``width`` columns (the terminal's by default).

    Meant to be rewritten in place (``hilserl.human.teleop.terminal.StatusLine.show``), so it
    never wraps.
    """
    def percent(value):
        return '-' if value is None else f'{100.0 * value:.0f}%'

    parts = [f'episode {episodes}', f'success {percent(success_rate)}',
             f'intervention {percent(intervention_rate)}',
             '- updates/s' if updates_per_s is None else f'{updates_per_s:.1f} updates/s']
    if buffer_sizes:
        parts.append('buffers ' + ', '.join(f'{name} {_short_count(size)}'
                                            for name, size in buffer_sizes.items()))
    line = ' | '.join(parts)
    width = width or shutil.get_terminal_size((100, 24)).columns
    return line if len(line) < width else line[:max(width - 2, 1)] + '…'


def _short_count(value: float) -> str:
    value = float(value)
    if abs(value) >= 1e6:
        return f'{value / 1e6:.1f}M'
    if abs(value) >= 1e4:
        return f'{value / 1e3:.1f}k'
    return f'{value:.0f}'


def buffer_sizes(metrics: Mapping[str, Any]) -> Dict[str, float]:
    """Return the buffer sizes among learner ``metrics`` (keys naming a buffer), short names."""
    sizes = {}
    for key, value in metrics.items():
        number = as_number(value)
        if 'buffer' in key and number is not None and math.isfinite(number):
            name = key.replace('_buffer_size', '').replace('buffer_size', '').strip('_')
            sizes[name.replace('_buffer', '') or 'buffer'] = number
    return sizes


class MetricsLog:
    """Episode and learner metrics of one run; see the module docstring."""

    def __init__(self, run_dir: str, project: str = 'hilserl', use_wandb: bool = True,
                 config: Optional[Mapping[str, Any]] = None, window: int = 20,
                 plot_period_s: float = 60.0, warn: Optional[Callable[[str], None]] = None,
                 clock: Callable[[], float] = time.time):
        """
        Open (or continue) the CSV files in ``run_dir`` and start wandb when asked.

        ``warn`` receives the one-line warnings (the logging module by default); ``clock``
        gives wall time in seconds.
        """
        if window < 1:
            raise ValueError(f'window must be >= 1, got {window}')
        self.run_dir = run_dir
        self.plot_period_s = float(plot_period_s)
        self._warn = warn or logging.getLogger(__name__).warning
        self._clock = clock
        os.makedirs(os.path.join(run_dir, PLOTS_DIR), exist_ok=True)
        self.episodes = CsvLog(os.path.join(run_dir, EPISODES_CSV), EPISODE_COLUMNS)
        self.learner = CsvLog(os.path.join(run_dir, LEARNER_CSV), LEARNER_FIXED_COLUMNS)
        self._recent = collections.deque(maxlen=window)  # (success, intervention rate, steps)
        for row in self.episodes.rows[-window:]:
            self._recent.append((float(row.get('success') or 0.0),
                                 float(row.get('intervention_rate') or 0.0),
                                 float(row.get('steps') or 0.0)))
        self._reward_check = RunningCheck(window, self.episodes.rows)
        self._last_learner: Dict[str, Any] = dict(self.learner.rows[-1]) if self.learner.rows \
            else {}
        self._last_update = None  # (step, time) of the previous log_learner call
        self._last_plot_time = None
        self._closed = False
        self.wandb_run = self._start_wandb(project, config) if use_wandb else None

    # ----------------------------------------------------------------- wandb
    def _start_wandb(self, project: str, config: Optional[Mapping[str, Any]]):
        try:
            wandb = importlib.import_module('wandb')
        except Exception as error:  # not installed, or an install that fails to import
            self._warn(f'wandb unavailable ({type(error).__name__}: {error}); '
                       'metrics go to CSV and PNG only')
            return None
        mode = os.environ.get('WANDB_MODE') or ('online' if wandb_logged_in() else 'offline')
        try:
            run = wandb.init(project=project, dir=self.run_dir, id=self._wandb_run_id(),
                             resume='allow', mode=mode, config=dict(config or {}),
                             settings=wandb.Settings(console='off'))
            run.define_metric('episode/episode')
            run.define_metric('episode/*', step_metric='episode/episode')
            run.define_metric('learner/step')
            run.define_metric('learner/*', step_metric='learner/step')
        except Exception as error:  # wandb raises many kinds; none may stop training
            self._warn(f'wandb did not start ({type(error).__name__}: {error}); '
                       'metrics go to CSV and PNG only')
            return None
        return run

    def _wandb_run_id(self) -> str:
        """Return the run id kept in the run directory, creating it on the first run."""
        path = os.path.join(self.run_dir, WANDB_RUN_ID_FILE)
        if os.path.isfile(path):
            with open(path) as file:
                run_id = file.read().strip()
            if run_id:
                return run_id
        run_id = secrets.token_hex(6)
        with open(path, 'w') as file:
            file.write(run_id + '\n')
        return run_id

    def _wandb_log(self, prefix: str, row: Mapping[str, Any]) -> None:
        if self.wandb_run is None:
            return
        values = {f'{prefix}/{key}': number for key, number in
                  ((key, as_number(value)) for key, value in row.items() if key != 'time')
                  if number is not None}
        try:
            self.wandb_run.log(values)
        except Exception as error:  # a dead wandb process must not stop training
            self._warn(f'wandb logging failed ({type(error).__name__}: {error}); '
                       'continuing with CSV and PNG only')
            self.wandb_run = None

    # --------------------------------------------------------------- metrics
    def log_episode(self, stats: Mapping[str, Any]) -> Dict[str, Any]:
        """Record one episode (EpisodeStats fields); return the row written, averages included."""
        steps = int(stats.get('steps', 0))
        intervention_rate = (min(float(stats.get('intervention_steps', 0)) / steps, 1.0)
                             if steps > 0 else 0.0)
        success = bool(stats.get('success', False))
        self._recent.append((float(success), intervention_rate, float(steps)))
        row = {key: stats.get(key, '') for key in EPISODE_STATS_FIELDS}
        row.update(
            time=round(self._clock(), 3), episode=len(self.episodes.rows) + 1,
            success=int(success), intervention_rate=intervention_rate,
            running_success_rate=self._mean(0), running_intervention_rate=self._mean(1),
            running_episode_length=self._mean(2))
        if 'classifier_tp' in stats:
            row.update(self._reward_check.add(stats))
        for key, value in stats.items():  # fields added to EpisodeStats later still land
            row.setdefault(key, value)
        self.episodes.append(row)
        self._wandb_log('episode', row)
        return row

    def _mean(self, index: int) -> float:
        return sum(entry[index] for entry in self._recent) / len(self._recent)

    def log_learner(self, step: int, metrics: Mapping[str, Any]) -> Dict[str, Any]:
        """Record learner ``metrics`` at update ``step``; return the row written."""
        now = self._clock()
        row = {'time': round(now, 3), 'step': int(step)}
        row.update(metrics)
        if 'updates_per_s' not in row and self._last_update is not None:
            previous_step, previous_time = self._last_update
            if now > previous_time:
                row['updates_per_s'] = (step - previous_step) / (now - previous_time)
        self._last_update = (int(step), now)
        self._last_learner = row
        self.learner.append(row)
        self._wandb_log('learner', row)
        return row

    # ----------------------------------------------------------------- views
    @property
    def episode_count(self) -> int:
        """Return the number of episodes logged in this run (resumed ones included)."""
        return len(self.episodes.rows)

    @property
    def success_rate(self) -> Optional[float]:
        """Return the running success rate, None before the first episode."""
        return self._mean(0) if self._recent else None

    @property
    def intervention_rate(self) -> Optional[float]:
        """Return the running intervention rate, None before the first episode."""
        return self._mean(1) if self._recent else None

    def status_line(self, width: Optional[int] = None) -> str:
        """Return the one-line summary of the run (see `format_status`)."""
        updates = as_number(self._last_learner.get('updates_per_s'))
        return format_status(self.episode_count, self.success_rate, self.intervention_rate,
                             updates, buffer_sizes(self._last_learner), width)

    def plot_paths(self) -> Dict[str, str]:
        """Return where the plots are written, by name."""
        return {name: os.path.join(self.run_dir, PLOTS_DIR, f'{name}.png')
                for name in ('episodes', 'learner')}

    def write_plots(self, force: bool = False) -> List[str]:
        """
        Redraw the plots that have data, at most every ``plot_period_s`` unless ``force``.

        Returns the paths of the plot files that exist (freshly drawn or not).
        """
        now = self._clock()
        due = (self._last_plot_time is None
               or now - self._last_plot_time >= self.plot_period_s)
        paths = self.plot_paths()
        if (force or due) and (self.episodes.rows or self.learner.rows):
            from hilserl.learner import monitoring_plots  # matplotlib only when plotting
            self._last_plot_time = now
            if self.episodes.rows:
                monitoring_plots.plot_episodes(self.episodes.rows, paths['episodes'])
            if self.learner.rows:
                monitoring_plots.plot_learner(self.learner.rows, paths['learner'])
        return [path for path in paths.values() if os.path.isfile(path)]

    def close(self) -> List[str]:
        """Draw the final plots, finish wandb and close the files; return the plot paths."""
        if self._closed:
            return [path for path in self.plot_paths().values() if os.path.isfile(path)]
        self._closed = True
        try:
            paths = self.write_plots(force=True)
        finally:
            if self.wandb_run is not None:
                try:
                    self.wandb_run.finish()
                    # finish() returns before wandb's service has written the
                    # offline run file; teardown waits for it, so a run directory
                    # copied or synced right after training is complete.
                    importlib.import_module('wandb').teardown()
                except Exception as error:  # the CSV files must still be closed
                    self._warn(f'wandb did not finish cleanly: {error}')
                self.wandb_run = None
            self.episodes.close()
            self.learner.close()
        return paths

    def __enter__(self) -> 'MetricsLog':
        """Return self; `close` runs on leaving the block."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close the log."""
        self.close()
