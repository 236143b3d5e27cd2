"""The scripted human: its events, its intervention policy, and a simulated episode."""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.actor.episodes import (FAILURE, INTERVENTION_END, INTERVENTION_START,  # noqa: E402
                                    RERECORD, SUCCESS)
from hilserl.human.scripted_human import (HumanSettings, InterventionPolicy,  # noqa: E402
                                          InterventionSettings, ScriptedHuman, StallDetector,
                                          Truth)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

FAR = Truth(tcp=(0.2, 0.0, 0.1), cube=(0.25, 0.05, 0.02), goal=(0.25, 0.05, 0.1),
            grasped=False, success=False, dense_reward=0.1)


def truth(**changes):
    """Return FAR with some fields changed."""
    return Truth(**{**FAR.__dict__, **changes})


def test_between_episodes_the_human_holds_still_and_raises_nothing():
    human = ScriptedHuman(HumanSettings('pick_lift'))
    step = human.step(truth(success=True))
    assert step.delta_xyz == (0.0, 0.0, 0.0) and step.gripper == 1 and step.events == ()


def test_in_record_mode_the_human_intervenes_from_the_first_step():
    human = ScriptedHuman(HumanSettings('pick_lift'))
    human.start_episode(0)
    first, second = human.step(FAR), human.step(FAR)
    assert first.intervening and first.events == (INTERVENTION_START,)
    assert second.intervening and second.events == ()
    assert np.linalg.norm(first.delta_xyz) > 0  # it moves toward the cube


def test_success_is_raised_once_per_episode():
    human = ScriptedHuman(HumanSettings('pick_lift'))
    human.start_episode(0)
    human.step(FAR)
    assert human.step(truth(success=True)).events == (SUCCESS,)
    assert human.step(truth(success=True)).events == ()
    human.end_episode()
    human.start_episode(1)
    human.step(FAR)
    assert SUCCESS in human.step(truth(success=True)).events


def test_a_stalled_episode_is_a_failure():
    human = ScriptedHuman(HumanSettings('pick_lift', stall_steps=5))
    human.start_episode(0)
    events = [human.step(FAR).events for _ in range(8)]
    # The first step sets the best reward; five steps without progress follow.
    assert [FAILURE in step for step in events] == [False] * 5 + [True] + [False] * 2


def test_listed_episodes_are_rerecorded_once_after_some_steps():
    human = ScriptedHuman(HumanSettings('pick_lift', rerecord_episodes=(1,),
                                        rerecord_after_steps=3))
    for index, expect_rerecord in ((0, False), (1, True), (1, False), (2, False)):
        human.start_episode(index)
        events = [event for _ in range(4) for event in human.step(FAR).events]
        assert (RERECORD in events) == expect_rerecord, (index, events)
        human.end_episode()


def test_stall_detector_resets_on_improvement():
    stall = StallDetector(3, min_improvement=0.1)
    assert [stall.update(r) for r in (0.0, 0.05, 0.2, 0.25, 0.25, 0.25)] == [
        False, False, False, False, False, True]
    with pytest.raises(ValueError):
        StallDetector(0)


def test_no_intervention_mode_never_intervenes():
    policy = InterventionPolicy(InterventionSettings(mode='none'))
    policy.start_episode()
    assert not policy.decide((1, 1, 1), (0, 0, 0))


def test_off_track_takes_over_after_losing_ground_and_hands_back_when_regained():
    policy = InterventionPolicy(InterventionSettings(mode='when_off_track',
                                                     off_track_distance=0.05))
    policy.start_episode()
    goal = (0.0, 0.0, 0.0)
    # Approaches to 0.10 m, then drifts away: 0.14 (lost 0.04) is still on track.
    decisions = [policy.decide((x, 0, 0), goal) for x in (0.2, 0.1, 0.14, 0.16, 0.13, 0.12)]
    # At 0.16 it lost 0.06 > 0.05: take over; back at 0.13 (0.03 > 0.025) keep going;
    # at 0.12 (0.02 lost) hand back.
    assert decisions == [False, False, False, True, True, False]


def test_a_new_goal_measures_progress_anew():
    policy = InterventionPolicy(InterventionSettings(mode='when_off_track',
                                                     off_track_distance=0.05))
    policy.start_episode()
    policy.decide((0.01, 0, 0), (0, 0, 0))
    # The cube is grasped; the goal is now the lift point, 0.2 m away: not off track.
    assert not policy.decide((0.01, 0, 0), (0, 0, 0.2))


def test_a_stuck_policy_is_helped_until_the_goal_changes():
    policy = InterventionPolicy(InterventionSettings(mode='when_off_track', stuck_steps=3,
                                                     stuck_progress=0.005))
    policy.start_episode()
    cube, lift = (0, 0, 0), (0, 0, 0.2)
    # Progress, then hovering 0.1 m away (not off track, but not getting closer).
    decisions = [policy.decide((x, 0, 0), cube) for x in (0.2, 0.15, 0.1, 0.1, 0.099, 0.1)]
    assert decisions == [False, False, False, False, False, True]
    # Helping goes on while the human closes in, whatever the progress...
    assert all(policy.decide((x, 0, 0), cube) for x in (0.05, 0.01, 0.0))
    # ...and ends with the goal: grasped, the lift is the policy's to do again.
    assert not policy.decide((0, 0, 0), lift)


def test_attention_probability_decays_per_episode():
    settings = InterventionSettings(mode='always', probability=0.8, decay=0.5, seed=3)
    policy = InterventionPolicy(settings)
    assert policy.probability == pytest.approx(0.8)
    policy.start_episode()
    assert policy.probability == pytest.approx(0.4)
    never = InterventionPolicy(InterventionSettings(mode='always', probability=0.0))
    never.start_episode()
    assert not never.decide((0, 0, 0), (0, 0, 0))


def test_attention_draws_follow_the_probability_and_the_seed():
    def draws(seed):
        policy = InterventionPolicy(InterventionSettings(mode='always', probability=0.5,
                                                         seed=seed))
        result = []
        for _ in range(400):
            policy.start_episode()
            result.append(policy.decide((0, 0, 0), (0, 0, 0)))
        return result
    assert draws(1) == draws(1)
    assert 0.4 < np.mean(draws(1)) < 0.6


def test_intervention_changes_are_events():
    human = ScriptedHuman(HumanSettings('reach', intervention=InterventionSettings(
        mode='when_off_track', off_track_distance=0.05)))
    human.start_episode(0)
    far_goal = dict(goal=(0.0, 0.0, 0.0))
    events = [human.step(truth(tcp=(x, 0.0, 0.0), **far_goal)).events
              for x in (0.1, 0.2, 0.1)]
    assert events == [(), (INTERVENTION_START,), (INTERVENTION_END,)]


@pytest.mark.parametrize('settings', [dict(mode='sometimes'), dict(off_track_distance=0),
                                      dict(probability=1.5), dict(decay=-0.1)])
def test_bad_intervention_settings_are_refused(settings):
    with pytest.raises(ValueError):
        InterventionSettings(**settings)


def test_the_scripted_human_solves_a_simulated_pick_lift_and_says_so():
    from hilserl.nodes.scripted_human import scripted_config
    from hilserl.sim import SimArm, SimArmConfig
    from hilserl.sim.closed_loop import control_period, run_episode, sim_filter
    arm = SimArm(SimArmConfig(robot='so101', task='pick_lift', cameras={},
                              control_dt=control_period('so101')))
    human = ScriptedHuman(HumanSettings('pick_lift', scripted=scripted_config('so101')))
    human.start_episode(0)
    events = []

    def policy(ground_truth):
        step = human.step(Truth(tuple(ground_truth.tcp_position),
                                tuple(ground_truth.cube_position),
                                tuple(ground_truth.target_position), ground_truth.grasped,
                                ground_truth.success, ground_truth.dense_reward))
        events.extend(step.events)
        return np.array(step.delta_xyz), step.gripper

    result = run_episode(arm, sim_filter(arm), policy, seed=4, max_policy_steps=100,
                         stop_on_success=False)
    arm.close()
    assert result.success
    assert events == [INTERVENTION_START, SUCCESS]
