"""The episode rules of hilserl.actor.episodes, one rule per test."""

from hilserl.actor.episodes import (ENDED_FAILURE, ENDED_RERECORD, ENDED_SUCCESS, ENDED_TIME_LIMIT,
                                    EpisodeConfig, EpisodeSchedule, EpisodeTracker, FAILURE,
                                    format_status, INTERVENTION_START, RERECORD, SUCCESS)
import pytest


def run(tracker, events_by_step, steps=1000, intervention=True):
    """Step until the episode ends; return the labels."""
    labels = []
    for index in range(steps):
        labels.append(tracker.step(events_by_step.get(index, ()), intervention))
        if labels[-1].done:
            break
    return labels


def test_time_limit_is_control_time_times_fps_steps():
    assert EpisodeConfig(fps=10, control_time_s=2.5).max_steps == 25
    assert EpisodeConfig(fps=30, control_time_s=1 / 3).max_steps == 10


@pytest.mark.parametrize('settings', [dict(fps=0), dict(control_time_s=-1),
                                      dict(number_of_steps_after_success=-1),
                                      dict(fps=10, control_time_s=0.01),
                                      dict(intervention_penalty=-0.1),
                                      dict(intervention_penalty=float('nan'))])
def test_settings_that_make_no_episode_are_refused(settings):
    with pytest.raises(ValueError):
        EpisodeConfig(**settings)


def test_steps_without_events_have_reward_zero_and_go_on():
    tracker = EpisodeTracker(EpisodeConfig(fps=10, control_time_s=10))
    labels = [tracker.step((), True) for _ in range(5)]
    assert [label.step_index for label in labels] == [0, 1, 2, 3, 4]
    assert all(label.reward == 0 and not label.done for label in labels)
    assert not any(label.terminated or label.truncated for label in labels)


def test_the_time_limit_truncates_the_last_step():
    labels = run(EpisodeTracker(EpisodeConfig(fps=10, control_time_s=1)), {})
    assert len(labels) == 10
    assert labels[-1].truncated and not labels[-1].terminated
    assert labels[-1].ended == ENDED_TIME_LIMIT and not labels[-1].discard
    assert not any(label.truncated for label in labels[:-1])


def test_success_terminates_at_once_without_extra_steps():
    labels = run(EpisodeTracker(EpisodeConfig(number_of_steps_after_success=0)), {3: [SUCCESS]})
    assert [label.reward for label in labels] == [0, 0, 0, 1]
    assert labels[-1].terminated and not labels[-1].truncated
    assert labels[-1].ended == ENDED_SUCCESS


def test_success_adds_the_extra_positive_steps_then_terminates():
    labels = run(EpisodeTracker(EpisodeConfig(number_of_steps_after_success=2)), {3: [SUCCESS]})
    assert [label.reward for label in labels] == [0, 0, 0, 1, 1, 1]
    assert [label.terminated for label in labels] == [False] * 5 + [True]
    assert labels[-1].ended == ENDED_SUCCESS


def test_without_terminate_on_success_the_episode_runs_to_the_limit_with_reward_one():
    config = EpisodeConfig(fps=10, control_time_s=1, number_of_steps_after_success=2,
                           terminate_on_success=False)
    labels = run(EpisodeTracker(config), {4: [SUCCESS]})
    assert [label.reward for label in labels] == [0] * 4 + [1] * 6
    assert labels[-1].truncated and not labels[-1].terminated
    assert labels[-1].ended == ENDED_TIME_LIMIT


def test_failure_terminates_at_once_with_reward_zero():
    labels = run(EpisodeTracker(EpisodeConfig()), {2: [FAILURE]})
    assert len(labels) == 3 and labels[-1].reward == 0
    assert labels[-1].terminated and not labels[-1].truncated
    assert labels[-1].ended == ENDED_FAILURE and not labels[-1].discard


def test_rerecord_discards_the_episode():
    labels = run(EpisodeTracker(EpisodeConfig()), {1: [RERECORD]})
    assert len(labels) == 2 and labels[-1].discard
    assert labels[-1].ended == ENDED_RERECORD


def test_rerecord_wins_over_a_success_in_the_same_step():
    labels = run(EpisodeTracker(EpisodeConfig()), {1: [SUCCESS, RERECORD]})
    assert labels[-1].discard and labels[-1].step_index == 1


def test_rerecord_during_the_positive_tail_still_discards():
    config = EpisodeConfig(number_of_steps_after_success=3)
    labels = run(EpisodeTracker(config), {1: [SUCCESS], 2: [RERECORD]})
    assert labels[-1].discard and labels[-1].step_index == 2


def test_failure_after_a_success_is_ignored():
    config = EpisodeConfig(number_of_steps_after_success=2)
    labels = run(EpisodeTracker(config), {1: [SUCCESS], 2: [FAILURE], 3: [SUCCESS]})
    assert [label.reward for label in labels] == [0, 1, 1, 1]
    assert labels[-1].ended == ENDED_SUCCESS


def test_a_success_cut_short_by_the_time_limit_is_terminated_not_truncated():
    config = EpisodeConfig(fps=10, control_time_s=1, number_of_steps_after_success=5)
    labels = run(EpisodeTracker(config), {8: [SUCCESS]})
    assert len(labels) == 10 and [label.reward for label in labels[-2:]] == [1, 1]
    assert labels[-1].terminated and not labels[-1].truncated
    assert labels[-1].ended == ENDED_SUCCESS


def test_other_events_do_not_change_the_labels():
    labels = run(EpisodeTracker(EpisodeConfig(fps=10, control_time_s=0.5)),
                 {0: [INTERVENTION_START]})
    assert [label.reward for label in labels] == [0] * 5 and labels[-1].truncated


def test_the_intervention_flag_is_passed_through():
    tracker = EpisodeTracker(EpisodeConfig())
    assert tracker.step((), True).intervention and not tracker.step((), False).intervention


def test_the_policy_step_before_a_takeover_gets_the_intervention_penalty():
    tracker = EpisodeTracker(EpisodeConfig(fps=10, control_time_s=1,
                                           intervention_penalty=0.2))
    policy_step = tracker.step((), intervention=False, taken_over=False)
    taken_over = tracker.step((), intervention=False, taken_over=True)
    human_step = tracker.step((), intervention=True, taken_over=True)
    handed_back = tracker.step((), intervention=True, taken_over=False)
    assert [policy_step.reward, taken_over.reward, human_step.reward,
            handed_back.reward] == [0.0, -0.2, 0.0, 0.0]
    assert not taken_over.done


def test_without_an_intervention_penalty_a_takeover_changes_no_reward():
    tracker = EpisodeTracker(EpisodeConfig(fps=10, control_time_s=1))
    assert tracker.step((), intervention=False, taken_over=True).reward == 0.0


def test_a_takeover_after_the_success_is_not_penalised():
    tracker = EpisodeTracker(EpisodeConfig(fps=10, control_time_s=1,
                                           number_of_steps_after_success=2,
                                           intervention_penalty=0.2))
    assert tracker.step([SUCCESS], intervention=False, taken_over=True).reward == 1.0
    assert tracker.step((), intervention=False, taken_over=True).reward == 1.0


def test_an_ended_episode_takes_no_more_steps():
    tracker = EpisodeTracker(EpisodeConfig())
    tracker.step([FAILURE], True)
    with pytest.raises(RuntimeError):
        tracker.step((), True)


def test_steps_left_counts_down_to_the_time_limit():
    tracker = EpisodeTracker(EpisodeConfig(fps=10, control_time_s=1))
    tracker.step((), True)
    assert tracker.steps_left == 9


def test_the_schedule_repeats_a_rerecorded_index_and_finishes_after_the_kept_ones():
    schedule = EpisodeSchedule(2, first_index=5)
    discarded = run(EpisodeTracker(EpisodeConfig(), 5), {0: [RERECORD]})[-1]
    kept = run(EpisodeTracker(EpisodeConfig(), 5), {0: [FAILURE]})[-1]
    schedule.episode_ended(discarded)
    assert (schedule.next_index, schedule.kept, schedule.discarded) == (5, 0, 1)
    schedule.episode_ended(kept)
    assert (schedule.next_index, schedule.kept) == (6, 1) and not schedule.finished
    schedule.episode_ended(kept)
    assert schedule.finished and schedule.next_index == 7


def test_the_schedule_needs_at_least_one_episode():
    with pytest.raises(ValueError):
        EpisodeSchedule(0)


def test_status_line_shows_episode_step_time_and_last_event():
    line = format_status(2, 10, 2, 12, 3.25, 'success (gamepad)')
    assert line.startswith('episode 3/10 (#0002) step   12')
    assert '3.2 s left' in line and line.endswith('last event: success (gamepad)')
