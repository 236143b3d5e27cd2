"""MetricsLog: running averages, CSV files and resume, PNG plots, wandb offline or absent."""

import csv
import glob
import os
import sys

import pytest

from hilserl.learner import monitoring
from hilserl.learner.monitoring import format_status, MetricsLog, wandb_logged_in
from hilserl.learner.monitoring_plots import learner_panels

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def episode(index, steps=100, success=False, intervention_steps=0, reward=0.0):
    return {'actor_id': 'actor_0', 'episode_index': index, 'steps': steps,
            'episodic_reward': reward, 'success': success,
            'intervention_steps': intervention_steps, 'policy_hz_mean': 9.8,
            'policy_hz_p90': 10.1, 'period_jitter_p99_ms': 2.5, 'latency_ms_mean': 12.0,
            'policy_version': 3}


def read_csv(path):
    with open(path, newline='') as file:
        return list(csv.DictReader(file))


@pytest.fixture
def no_wandb(monkeypatch):
    """Make `import wandb` fail, as on a machine without it."""
    monkeypatch.setitem(sys.modules, 'wandb', None)


def test_running_averages_over_the_last_window_of_episodes(tmp_path, no_wandb):
    log = MetricsLog(str(tmp_path), window=3, warn=lambda message: None)
    rows = [log.log_episode(episode(0, steps=100, success=True, intervention_steps=50)),
            log.log_episode(episode(1, steps=200, success=False, intervention_steps=0)),
            log.log_episode(episode(2, steps=50, success=True, intervention_steps=50)),
            log.log_episode(episode(3, steps=10, success=False, intervention_steps=1))]
    assert [r['intervention_rate'] for r in rows] == [0.5, 0.0, 1.0, 0.1]
    assert rows[1]['running_success_rate'] == pytest.approx(1 / 2)
    assert rows[2]['running_success_rate'] == pytest.approx(2 / 3)
    assert rows[3]['running_success_rate'] == pytest.approx(1 / 3)  # episode 0 left the window
    assert rows[2]['running_intervention_rate'] == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert rows[3]['running_intervention_rate'] == pytest.approx((0.0 + 1.0 + 0.1) / 3)
    assert rows[3]['running_episode_length'] == pytest.approx((200 + 50 + 10) / 3)
    assert [r['episode'] for r in rows] == [1, 2, 3, 4]
    log.close()


def test_default_window_is_twenty_episodes(tmp_path, no_wandb):
    log = MetricsLog(str(tmp_path), warn=lambda message: None)
    for index in range(25):
        row = log.log_episode(episode(index, success=index >= 20))
    assert row['running_success_rate'] == pytest.approx(5 / 20)
    assert log.success_rate == pytest.approx(0.25)
    log.close()


def test_rows_are_on_disk_after_each_call_and_a_resumed_run_appends(tmp_path, no_wandb):
    clock = FakeClock()
    log = MetricsLog(str(tmp_path), window=2, clock=clock, warn=lambda message: None)
    log.log_episode(episode(0, success=True, intervention_steps=20))
    log.log_learner(100, {'critic_loss': 1.5, 'temperature': 0.1, 'online_buffer_size': 400})
    clock.now += 2.0
    log.log_learner(300, {'critic_loss': 1.25, 'temperature': 0.09, 'online_buffer_size': 500})
    # Nothing closed yet: a crash now would leave these rows on disk.
    episodes = read_csv(tmp_path / 'episodes.csv')
    learner = read_csv(tmp_path / 'learner.csv')
    assert len(episodes) == 1 and episodes[0]['success'] == '1'
    assert episodes[0]['intervention_rate'] == '0.2' and episodes[0]['actor_id'] == 'actor_0'
    assert [r['critic_loss'] for r in learner] == ['1.5', '1.25']
    assert learner[0]['updates_per_s'] == '' and float(learner[1]['updates_per_s']) == 100.0
    log.close()

    # A cut-off last line (a crash mid-write) is dropped on resume.
    with open(tmp_path / 'episodes.csv', 'a') as file:
        file.write('1000.0,2,actor_0,1,10')
    resumed = MetricsLog(str(tmp_path), window=2, warn=lambda message: None)
    row = resumed.log_episode(episode(1, success=False, intervention_steps=0))
    assert row['episode'] == 2
    assert row['running_success_rate'] == pytest.approx(0.5)  # continues the old window
    assert row['running_intervention_rate'] == pytest.approx(0.1)
    resumed.log_learner(400, {'critic_loss': 1.0, 'temperature': 0.08,
                              'online_buffer_size': 600, 'actor_loss': -2.0})
    resumed.close()
    with open(tmp_path / 'episodes.csv') as file:
        lines = file.read().splitlines()
    assert lines[0].split(',') == list(monitoring.EPISODE_COLUMNS)  # one header, unchanged
    assert len(lines) == 3 and lines[2].startswith(lines[2].split(',')[0] + ',2,actor_0,1,')
    learner = read_csv(tmp_path / 'learner.csv')
    assert [r['step'] for r in learner] == ['100', '300', '400']
    assert [r['actor_loss'] for r in learner] == ['', '', '-2.0']  # new column, old rows blank


def test_plots_are_valid_pngs_written_at_most_every_period_and_at_close(tmp_path, no_wandb):
    clock = FakeClock()
    log = MetricsLog(str(tmp_path), plot_period_s=60.0, clock=clock,
                     warn=lambda message: None)
    assert log.write_plots() == []  # no data, nothing drawn
    for index in range(5):
        log.log_episode(episode(index, success=index % 2 == 0, reward=float(index)))
        log.log_learner(index * 100, {'critic_loss': 1.0 / (index + 1), 'actor_loss': -index,
                                      'temperature': 0.1, 'offline_buffer_size': 1000,
                                      'online_buffer_size': 100 * index})
        clock.now += 1.0
    paths = log.write_plots()
    assert sorted(paths) == sorted([str(tmp_path / 'plots' / 'episodes.png'),
                                    str(tmp_path / 'plots' / 'learner.png')])
    assert log.write_plots() == paths  # already drawn
    for path in paths:
        with open(path, 'rb') as file:
            data = file.read()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    stamp = os.path.getmtime(paths[0])
    os.utime(paths[0], (stamp - 100, stamp - 100))
    log.log_episode(episode(5))
    clock.now += 10.0
    log.write_plots()
    assert os.path.getmtime(paths[0]) == stamp - 100  # within the period: not redrawn
    assert log.close() == paths
    assert os.path.getmtime(paths[0]) > stamp - 100  # close always redraws
    assert not glob.glob(str(tmp_path / 'plots' / '*.tmp*'))


def test_learner_plot_shows_q_values_apart_from_the_growing_counters():
    rows = [dict(time=1.0, step=step, critic_loss=0.01, q_mean=0.7, entropy=-1.5,
                 temperature=0.004, online_buffer=step, policy_version=1000 + step,
                 transitions_received=step // 4, updates_per_s=40.0)
            for step in (1, 500, 1000)]
    panels = dict(learner_panels(rows))
    assert set(panels['Q value, entropy']) == {'q_mean', 'entropy'}
    assert set(panels['counters']) == {'policy_version', 'transitions_received'}
    assert 'other' not in panels


def test_status_line_is_one_line_that_fits(tmp_path, no_wandb):
    log = MetricsLog(str(tmp_path), warn=lambda message: None, clock=FakeClock())
    assert log.status_line(200) == 'episode 0 | success - | intervention - | - updates/s'
    log.log_episode(episode(0, success=True, intervention_steps=25))
    log.log_learner(10, {'updates_per_s': 31.25, 'online_buffer_size': 12345,
                         'offline_buffer_size': 800})
    assert log.status_line(200) == ('episode 1 | success 100% | intervention 25% | '
                                    '31.2 updates/s | buffers online 12.3k, offline 800')
    short = log.status_line(30)
    assert len(short) == 29 and short.endswith('…') and '\n' not in short
    log.close()
    assert format_status(3, 0.5, None, 2.0, {}, 80) == \
        'episode 3 | success 50% | intervention - | 2.0 updates/s'


def test_login_is_detected_from_the_environment_or_netrc(tmp_path):
    netrc_file = tmp_path / 'netrc'
    assert not wandb_logged_in({'NETRC': str(netrc_file)})  # missing file
    assert wandb_logged_in({'WANDB_API_KEY': 'x' * 40})
    netrc_file.write_text('machine api.wandb.ai\n  login user\n  password ' + 'k' * 40 + '\n')
    os.chmod(netrc_file, 0o600)
    assert wandb_logged_in({'NETRC': str(netrc_file)})
    assert not wandb_logged_in({'NETRC': str(netrc_file),
                                'WANDB_BASE_URL': 'https://wandb.example.com'})


def test_without_wandb_one_warning_and_csv_still_works(tmp_path, no_wandb):
    warnings = []
    log = MetricsLog(str(tmp_path), warn=warnings.append)
    log.log_episode(episode(0))
    log.close()
    assert len(warnings) == 1 and 'wandb unavailable' in warnings[0]
    assert len(read_csv(tmp_path / 'episodes.csv')) == 1


def test_a_failing_wandb_start_is_one_warning_and_csv_still_works(tmp_path, monkeypatch):
    class BrokenWandb:
        Settings = dict

        @staticmethod
        def init(**kwargs):
            raise RuntimeError('no wandb-core binary')

    monkeypatch.setitem(sys.modules, 'wandb', BrokenWandb)
    warnings = []
    log = MetricsLog(str(tmp_path), warn=warnings.append)
    log.log_learner(1, {'critic_loss': 2.0})
    log.close()
    assert warnings == ['wandb did not start (RuntimeError: no wandb-core binary); '
                        'metrics go to CSV and PNG only']
    assert read_csv(tmp_path / 'learner.csv')[0]['critic_loss'] == '2.0'


def test_wandb_runs_offline_in_the_run_directory_and_resumes_its_run(tmp_path, monkeypatch):
    pytest.importorskip('wandb')
    monkeypatch.delenv('WANDB_API_KEY', raising=False)
    monkeypatch.setenv('WANDB_MODE', 'offline')
    monkeypatch.setenv('WANDB_SILENT', 'true')
    monkeypatch.setenv('NETRC', str(tmp_path / 'no_netrc'))
    monkeypatch.setenv('WANDB_CONFIG_DIR', str(tmp_path / 'wandb_config'))
    monkeypatch.setenv('WANDB_CACHE_DIR', str(tmp_path / 'wandb_cache'))
    run_dir = tmp_path / 'run'
    warnings = []
    log = MetricsLog(str(run_dir), config={'lr': 3e-4}, warn=warnings.append)
    assert log.wandb_run is not None and warnings == []
    log.log_episode(episode(0, success=True, reward=7.5))
    log.log_learner(50, {'critic_loss_marker': 0.5})
    log.close()
    run_id = (run_dir / 'wandb_run_id').read_text().strip()
    runs = glob.glob(str(run_dir / 'wandb' / f'offline-run-*-{run_id}'))
    assert len(runs) == 1
    with open(os.path.join(runs[0], f'run-{run_id}.wandb'), 'rb') as file:
        data = file.read()
    assert b'episode/episodic_reward' in data and b'learner/critic_loss_marker' in data

    resumed = MetricsLog(str(run_dir), warn=warnings.append)
    assert resumed.wandb_run.id == run_id and warnings == []
    resumed.close()


class RecordingWandb:
    """Stands in for wandb: records init arguments and logged values."""

    Settings = dict

    def __init__(self):
        self.inits, self.logged = [], []

    def teardown(self):
        self.torn_down = True

    def init(self, **kwargs):
        self.inits.append(kwargs)
        recorder = self

        class Run:
            id = kwargs['id']

            def define_metric(self, *args, **kwargs):
                pass

            def log(self, values):
                recorder.logged.append(values)

            def finish(self):
                pass
        return Run()


def test_wandb_is_offline_without_a_key_online_with_one_and_keeps_its_run_id(tmp_path,
                                                                             monkeypatch):
    fake = RecordingWandb()
    monkeypatch.setitem(sys.modules, 'wandb', fake)
    monkeypatch.delenv('WANDB_MODE', raising=False)
    monkeypatch.delenv('WANDB_API_KEY', raising=False)
    monkeypatch.setenv('NETRC', str(tmp_path / 'no_netrc'))
    MetricsLog(str(tmp_path), config={'seed': 1}).close()
    monkeypatch.setenv('WANDB_API_KEY', 'k' * 40)
    log = MetricsLog(str(tmp_path))
    log.log_episode(episode(0, reward=2.5))
    log.close()
    first, second = fake.inits
    assert first['mode'] == 'offline' and second['mode'] == 'online'
    assert first['dir'] == second['dir'] == str(tmp_path)
    assert first['id'] == second['id'] and second['resume'] == 'allow'
    assert first['config'] == {'seed': 1}
    assert fake.logged[0]['episode/episodic_reward'] == 2.5
    assert fake.logged[0]['episode/success'] == 0.0 and 'episode/actor_id' not in fake.logged[0]
