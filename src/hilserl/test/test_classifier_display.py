"""What a person sees of the reward classifier, and the scripted human's own episodes."""

import pytest

from hilserl.human.self_paced_episodes import END, RESET, SelfPacedEpisodes, START
from hilserl.vision.classifier_display import (NO_SUCCESS_COLOUR, probability_text,
                                               ProbabilityReport, SUCCESS_COLOUR, text_colour)


def test_the_rviz_text_shows_the_probability_and_success_in_colour():
    assert probability_text(0.12345, False) == 'p=0.12'
    assert probability_text(0.93, True) == 'success p=0.93'
    assert text_colour(True) == SUCCESS_COLOUR and text_colour(False) == NO_SUCCESS_COLOUR


def test_one_terminal_line_per_period_summarises_the_sets_since_the_last():
    report = ProbabilityReport(1.0, threshold=0.5)
    assert report.add(10.0, 0.2, False) is None
    assert report.add(10.5, 0.6, True) is None
    assert report.add(11.0, 0.4, False) == (
        'p=0.400 no success (threshold 0.500); last 3 sets: p 0.200-0.600, 1 successes')
    assert report.add(11.5, 0.9, True) is None
    assert report.add(12.0, 0.8, True) == (
        'p=0.800 SUCCESS (threshold 0.500); last 2 sets: p 0.800-0.900, 2 successes')


def test_a_zero_period_reports_nothing_and_a_negative_one_is_refused():
    report = ProbabilityReport(0.0, threshold=0.5)
    assert all(report.add(t, 0.9, True) is None for t in range(100))
    with pytest.raises(ValueError, match='report_period_s'):
        ProbabilityReport(-1.0, threshold=0.5)


def test_own_episodes_reset_start_hold_the_outcome_then_end():
    episodes = SelfPacedEpisodes(pause_after_outcome_s=2.0)
    assert episodes.tick(0.0) == RESET and not episodes.running
    assert episodes.tick(0.1) is None          # the reset is under way
    episodes.reset_finished(True)
    assert episodes.tick(0.2) == START and episodes.episode_index == 0 and episodes.running
    assert episodes.tick(5.0) is None          # no outcome yet: the episode goes on
    episodes.outcome(5.0)
    episodes.outcome(6.0)                      # a second outcome does not extend the pause
    assert episodes.tick(6.9) is None
    assert episodes.tick(7.0) == END and not episodes.running
    assert episodes.tick(7.1) == RESET
    episodes.reset_finished(True)
    assert episodes.tick(7.2) == START and episodes.episode_index == 1


def test_a_failed_reset_is_tried_again():
    episodes = SelfPacedEpisodes(pause_after_outcome_s=0.0)
    assert episodes.tick(0.0) == RESET
    episodes.reset_finished(False)
    assert episodes.tick(0.1) == RESET
    episodes.outcome(0.1)                      # no episode: nothing to end
    episodes.reset_finished(True)
    assert episodes.tick(0.2) == START
    assert episodes.tick(0.3) is None
    with pytest.raises(ValueError, match='pause_after_outcome_s'):
        SelfPacedEpisodes(-1.0)


def test_a_reset_never_answered_is_asked_for_again_and_its_late_reply_ignored():
    episodes = SelfPacedEpisodes(pause_after_outcome_s=0.0, reset_timeout_s=10.0)
    assert episodes.tick(0.0) == RESET and not episodes.reset_timed_out
    first = episodes.reset_attempt
    assert episodes.tick(9.9) is None
    assert episodes.tick(10.0) == RESET and episodes.reset_timed_out
    episodes.reset_finished(True, first)       # the lost reply turns up late
    assert episodes.tick(10.1) is None         # still waiting for the second
    episodes.reset_finished(True, episodes.reset_attempt)
    assert episodes.tick(10.2) == START and episodes.episode_index == 0
    with pytest.raises(ValueError, match='reset_timeout_s'):
        SelfPacedEpisodes(0.0, reset_timeout_s=0.0)
