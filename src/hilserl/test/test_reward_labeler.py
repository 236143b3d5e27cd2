"""RewardLabeler: each reward source's success decisions, events, and progress shaping."""

from hilserl.actor.episodes import (EpisodeConfig, EpisodeTracker, FAILURE, INTERVENTION_START,
                                    RERECORD, StepLabel, SUCCESS)
from hilserl.actor.reward_labeler import accepts_event, RewardLabeler
import pytest


def label(reward=0.0, terminated=False):
    return StepLabel(0, reward, terminated, False, False)


def test_which_events_label_the_actor_steps():
    assert accepts_event('human', SUCCESS, from_self=False)
    assert not accepts_event('ground_truth', SUCCESS, from_self=False)
    assert not accepts_event('classifier', SUCCESS, from_self=False)
    assert not accepts_event('human', SUCCESS, from_self=True)
    assert all(accepts_event(source, FAILURE, False)
               for source in ('human', 'ground_truth', 'classifier'))
    assert not accepts_event('human', RERECORD, False)
    assert not accepts_event('human', INTERVENTION_START, False)


def test_ground_truth_decides_success_once_per_episode_from_the_simulation():
    rewards = RewardLabeler('ground_truth')
    assert rewards.needs_ground_truth
    rewards.on_classifier(True)   # not this source's judge
    assert [rewards.observe(truth) for truth in (False, False, True, True)] == [
        False, False, True, False]
    rewards.start_episode()
    assert rewards.observe(True)


def test_the_classifier_decides_success_at_its_first_positive_of_the_episode():
    rewards = RewardLabeler('classifier')
    assert not rewards.needs_ground_truth
    assert not rewards.observe(truth_success=True)   # the simulation's truth is not asked
    rewards.on_classifier(False)
    assert not rewards.observe()
    rewards.on_classifier(True)
    rewards.on_classifier(False)   # a later negative does not take it back
    assert rewards.observe() and not rewards.observe()
    rewards.start_episode()
    assert not rewards.observe()


def test_the_human_key_decides_through_events_only():
    rewards = RewardLabeler('human')
    rewards.on_classifier(True)
    assert not any(rewards.observe(True) for _ in range(3))
    assert rewards.accepts(SUCCESS, from_self=False)
    assert not rewards.accepts(SUCCESS, from_self=True)


def test_sparse_labels_pass_unchanged_without_shaping():
    rewards = RewardLabeler('ground_truth')
    tracker = EpisodeTracker(EpisodeConfig(fps=10.0, control_time_s=1.0))
    rewards.observe(False, progress=0.2)
    rewards.observe(True, progress=0.9)
    step = tracker.step([SUCCESS], intervention=False)
    assert step.terminated and rewards.reward(step) == 1.0
    assert rewards.reward(label(0.0)) == 0.0


def test_progress_shaping_adds_the_weighted_progress_difference():
    rewards = RewardLabeler('human', progress_weight=0.5)
    assert rewards.needs_ground_truth
    rewards.observe(progress=0.2)
    assert rewards.reward(label()) == 0.0   # no step before the first observation
    rewards.observe(progress=0.6)
    assert rewards.reward(label()) == pytest.approx(0.5 * (0.6 - 0.2))
    rewards.observe(progress=0.5)
    assert rewards.reward(label()) == pytest.approx(0.5 * (0.5 - 0.6))
    rewards.observe(progress=0.9)
    # A terminal step's successor has progress 0: an episode's shaping sums to -w * p0.
    assert rewards.reward(label(1.0, terminated=True)) == pytest.approx(1.0 - 0.5 * 0.5)
    rewards.start_episode()
    rewards.observe(progress=0.9)
    assert rewards.reward(label()) == 0.0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match='reward_source must be one of'):
        RewardLabeler('oracle')
    with pytest.raises(ValueError, match='progress_weight'):
        RewardLabeler('human', progress_weight=-1.0)
