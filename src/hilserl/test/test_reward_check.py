"""The reward classifier against the ground truth: step counts, rates, CSV columns, plots."""

import csv
import sys

import pytest

from hilserl.actor.reward_check import (CHECK_FIELDS, evaluation_figures, false_rates,
                                        false_success_summary, figures_line, RewardCheck,
                                        RunningCheck, truth_snapshot)
from hilserl.learner.monitoring import MetricsLog
from hilserl.learner.monitoring_plots import episode_panels


def run(check, ticks):
    """Feed (decisions since the previous tick, ground truth success) per tick; tick 0 first."""
    for index, (decisions, truth) in enumerate(ticks):
        for decision in decisions:
            check.decision(decision)
        check.tick(truth, labels_a_step=index > 0)
    return check.counts()


def test_agreeing_steps_are_true_and_the_first_tick_is_not_counted():
    counts = run(RewardCheck(), [((False,), False), ((False,), False), ((True,), True)])
    assert counts == {'true_success': True, 'classifier_tp': 1, 'classifier_fp': 0,
                      'classifier_fn': 0, 'classifier_tn': 1}


def test_a_success_the_ground_truth_does_not_see_is_a_false_positive():
    counts = run(RewardCheck(), [((), False), ((False,), False), ((True,), False)])
    assert (counts['classifier_fp'], counts['classifier_tn']) == (1, 1)
    assert not counts['true_success']


def test_a_change_of_the_ground_truth_gets_one_tick_of_grace():
    # The truth turns to success at tick 2; the classifier sees it one tick later: no
    # false negative at tick 2, a true positive at tick 3.
    counts = run(RewardCheck(), [((), False), ((False,), False), ((False,), True),
                                 ((True,), True)])
    assert (counts['classifier_tp'], counts['classifier_fn'], counts['classifier_tn']) == (
        1, 0, 2)
    # The truth just dropped the cube: a "success" one tick late is still a true positive.
    counts = run(RewardCheck(), [((), True), ((True,), False)])
    assert counts['classifier_tp'] == 1 and counts['classifier_fp'] == 0


def test_a_success_held_that_the_classifier_misses_is_a_false_negative():
    counts = run(RewardCheck(), [((), False), ((False,), True), ((False,), True),
                                 ((False,), True)])
    assert (counts['classifier_fn'], counts['classifier_tn']) == (2, 1)
    assert counts['true_success']


def test_any_success_since_the_previous_tick_counts_and_silence_keeps_the_newest():
    check = RewardCheck()
    check.decision(True)
    check.decision(False)
    assert check.take_decision()        # the actor latched the success in between
    assert not check.take_decision()    # nothing new: the newest (False) holds
    check.decision(True)
    assert check.take_decision() and check.take_decision()
    check.start_episode()
    assert not check.take_decision()    # a new episode forgets the old decisions


def test_rates_are_none_without_anything_to_divide():
    assert false_rates(tp=3, fp=1, fn=1, tn=9) == (0.1, 0.25)
    assert false_rates(0, 0, 0, 0) == (None, None)


def episode(index, success, true_success, tp=0, fp=0, fn=0, tn=20):
    return {'actor_id': 'actor', 'episode_index': index, 'steps': tp + fp + fn + tn,
            'episodic_reward': float(success), 'success': success, 'intervention_steps': 0,
            'policy_hz_mean': 10.0, 'policy_hz_p90': 10.0, 'period_jitter_p99_ms': 1.0,
            'latency_ms_mean': 5.0, 'policy_version': 1, 'true_success': true_success,
            'classifier_tp': tp, 'classifier_fp': fp, 'classifier_fn': fn,
            'classifier_tn': tn}


def test_an_evaluation_has_both_success_rates_and_the_classifier_errors():
    figures = evaluation_figures([episode(0, True, True, tp=1, tn=30),
                                  episode(1, True, False, fp=1, tn=9),     # false success
                                  episode(2, False, True, fn=4, tn=46),    # missed
                                  episode(3, False, False, tn=60)])
    assert figures['ground_truth_success_rate'] == 0.5
    assert figures['classifier_success_rate'] == 0.5
    assert figures['classifier_false_positive_rate'] == pytest.approx(1 / 146)
    assert figures['classifier_false_negative_rate'] == pytest.approx(4 / 5)
    assert figures['classifier_false_successes'] == 1
    assert figures['classifier_missed_successes'] == 1
    assert figures['classifier_steps'] == {'tp': 1, 'fp': 1, 'fn': 4, 'tn': 145}
    assert 'false-positive rate 0.007' in figures_line(figures)
    assert evaluation_figures([])['classifier_false_positive_rate'] is None


def test_running_figures_cover_the_last_window_of_checked_episodes():
    running = RunningCheck(window=2)
    running.add(episode(0, True, False, fp=1, tn=9))
    row = running.add(episode(1, False, False, tn=10))
    assert row['classifier_fp_rate'] == 0.0 and row['classifier_fn_rate'] is None
    assert row['running_classifier_fp_rate'] == pytest.approx(1 / 20)
    assert row['running_false_success_rate'] == 0.5
    row = running.add(episode(2, True, True, tp=1, tn=10))   # episode 0 leaves the window
    assert row['running_classifier_fp_rate'] == 0.0
    assert row['running_classifier_fn_rate'] == 0.0
    assert row['running_true_success_rate'] == 0.5 and row['running_false_success_rate'] == 0


@pytest.fixture
def no_wandb(monkeypatch):
    """Make `import wandb` fail, as on a machine without it."""
    monkeypatch.setitem(sys.modules, 'wandb', None)


def test_episodes_csv_gets_the_columns_and_a_resumed_run_continues_the_window(tmp_path,
                                                                              no_wandb):
    log = MetricsLog(str(tmp_path), window=2, warn=lambda message: None)
    log.log_episode(episode(0, True, False, fp=1, tn=9))
    log.close()
    log = MetricsLog(str(tmp_path), window=2, warn=lambda message: None)
    row = log.log_episode(episode(1, False, False, tn=10))
    log.close()
    assert row['running_classifier_fp_rate'] == pytest.approx(1 / 20)   # episode 0 counted
    with open(tmp_path / 'episodes.csv', newline='') as stream:
        rows = list(csv.DictReader(stream))
    assert set(CHECK_FIELDS) | {'classifier_fp_rate', 'classifier_fn_rate',
                                'classifier_false_success', 'running_classifier_fp_rate',
                                'running_classifier_fn_rate', 'running_true_success_rate',
                                'running_false_success_rate'} <= set(rows[0])
    assert [r['classifier_false_success'] for r in rows] == ['1', '0']
    assert [r['true_success'] for r in rows] == ['0', '0']


def test_the_plot_has_a_classifier_panel_only_when_the_counts_are_there(tmp_path, no_wandb):
    log = MetricsLog(str(tmp_path), warn=lambda message: None)
    plain = {key: value for key, value in episode(0, True, True).items()
             if key not in CHECK_FIELDS}
    rows = [log.log_episode(plain)]
    titles = [title for title, _ in episode_panels(rows)]
    assert not any('classifier' in title for title in titles)
    assert list(dict(episode_panels(rows))['success rate (running mean)']) == ['success rate']
    rows.append(log.log_episode(episode(1, True, False, fp=1, tn=9)))
    panels = dict(episode_panels(rows))
    assert list(panels['reward classifier against the ground truth (running mean)']) == [
        'false-positive rate (steps)', 'false-negative rate (steps)',
        'false successes (episodes)']
    assert list(panels['success rate (running mean)']) == ['classifier (the reward)',
                                                           'ground truth']
    assert log.close()   # the PNG is drawn with the panel


def test_the_first_false_positive_keeps_where_the_object_was():
    check = RewardCheck()
    check.tick(False, labels_a_step=False, where=truth_snapshot(False, 0.02, 0.12))
    check.decision(True)
    check.tick(False, labels_a_step=True, where=truth_snapshot(True, 0.095, 0.12))
    check.decision(True)
    check.tick(False, labels_a_step=True, where=truth_snapshot(True, 0.05, 0.12))
    assert check.first_false_positive == {'grasped': True, 'below_goal_cm': 2.5}
    check.start_episode()
    assert check.first_false_positive is None


def test_an_evaluation_describes_its_false_successes():
    episodes = [
        {'success': True, 'true_success': False, 'classifier_fp': 1,
         'first_false_positive': {'grasped': True, 'below_goal_cm': 1.0}},
        {'success': True, 'true_success': False, 'classifier_fp': 1,
         'first_false_positive': {'grasped': False, 'below_goal_cm': 4.0}},
        {'success': True, 'true_success': False, 'classifier_fp': 1,
         'first_false_positive': {'grasped': True, 'below_goal_cm': 2.0}},
        # a true success that also had a false positive earlier is not a false success
        {'success': True, 'true_success': True, 'classifier_tp': 1,
         'first_false_positive': {'grasped': True, 'below_goal_cm': 9.0}},
    ]
    figures = evaluation_figures(episodes)
    assert figures['false_successes_grasped'] == 2
    assert figures['false_success_below_goal_cm'] == {'median': 2.0, 'min': 1.0, 'max': 4.0}
    assert '2 with the object grasped' in figures_line(figures)
    assert false_success_summary(episodes[3:]) == {
        'false_successes_grasped': None, 'false_success_below_goal_cm': None}
