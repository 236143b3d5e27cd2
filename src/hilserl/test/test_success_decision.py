import pytest

from hilserl.vision.success_decision import DEFAULT_SUCCESS_FRAMES, SuccessDecision


def decisions(decision, probabilities):
    return [decision.add(p) for p in probabilities]


def test_one_frame_decides_each_set_on_its_own():
    assert decisions(SuccessDecision(0.9, frames=1), [0.2, 0.95, 0.5, 0.9]) == [
        False, True, False, True]


def test_a_success_needs_the_threshold_held_over_consecutive_sets():
    decision = SuccessDecision(0.9, frames=2)
    assert decisions(decision, [0.95, 0.3, 0.97, 0.99, 0.92, 0.1, 0.95]) == [
        False, False, False, True, True, False, False]


def test_reset_starts_the_count_afresh():
    decision = SuccessDecision(0.5, frames=2)
    decision.add(0.9)
    decision.reset()
    assert decisions(decision, [0.9, 0.9]) == [False, True]


def test_the_default_holds_the_threshold_over_two_sets():
    assert DEFAULT_SUCCESS_FRAMES == 2
    assert decisions(SuccessDecision(0.5), [0.9, 0.9]) == [False, True]


@pytest.mark.parametrize('threshold, frames, message', [
    (1.5, 2, r'success_threshold must be in \[0, 1\]'),
    (0.5, 0, 'success_frames must be 1 or more')])
def test_bad_settings_are_refused(threshold, frames, message):
    with pytest.raises(ValueError, match=message):
        SuccessDecision(threshold, frames)
