"""The scripted human playing failures: styles in turn, never a success, reward 0 throughout."""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.actor.episodes import EpisodeConfig, FAILURE, SUCCESS  # noqa: E402
from hilserl.arm.safety_filter import Gripper  # noqa: E402
from hilserl.human.failure_play import (FAILURE_STYLES, failure_style, FailurePlay,  # noqa: E402
                                        FailureSettings)
from hilserl.human.scripted_human import (HumanSettings, InterventionSettings,  # noqa: E402
                                          ScriptedHuman)
from hilserl.human.scripted_policy import ScriptedController  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def test_each_task_cycles_through_its_styles_by_episode_index():
    assert [failure_style('pick_lift', k) for k in range(7)] == [
        'wrong_place', 'short', 'drop', 'empty_lift', 'wander', 'wrong_place', 'short']
    assert [failure_style('push', k) for k in range(4)] == [
        'wrong_place', 'wrong_way', 'wander', 'wrong_place']
    assert set(FAILURE_STYLES['reach']) == {'wrong_place', 'short', 'wander'}
    with pytest.raises(ValueError):
        failure_style('stack', 0)


@pytest.mark.parametrize('settings', [dict(wrong_place_distance=0),
                                      dict(short_fractions=(0.3, 1.0)), dict(drop_rise=-0.01),
                                      dict(wrong_way_distance=0), dict(wander_steps=0),
                                      dict(short_lift_rate=0), dict(short_lift_rate=1.5)])
def test_settings_that_could_succeed_or_mean_nothing_are_refused(settings):
    with pytest.raises(ValueError):
        FailureSettings(**settings)


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match='outcome'):
        HumanSettings('pick_lift', outcome='sometimes')


def test_wrong_place_heads_to_the_side_of_the_cube_with_open_jaws():
    play = FailurePlay(ScriptedController('pick_lift'), episode_index=0)
    cube = np.array([0.25, 0.0, 0.02])
    delta, gripper = play.act((0.25, 0.0, 0.2), cube, cube + (0, 0, 0.1), False)
    # Episode 0's side is +x: it moves away from the cube's x, down toward hover height.
    assert gripper == Gripper.OPEN and delta[0] > 0 and delta[2] < 0
    assert play.phase == 'wrong_place'


def test_wrong_place_shuts_the_empty_jaws_from_the_start_every_other_round():
    rounds = len(FAILURE_STYLES['pick_lift'])
    cube = np.array([0.25, 0.0, 0.02])
    grippers = []
    for index in (0, rounds, 2 * rounds, 3 * rounds):
        play = FailurePlay(ScriptedController('pick_lift'), episode_index=index)
        assert play.style == 'wrong_place'
        grippers.append(play.act((0.15, 0.0, 0.2), cube, cube + (0, 0, 0.1), False)[1])
    assert grippers == [Gripper.OPEN, Gripper.CLOSE, Gripper.OPEN, Gripper.CLOSE]


def test_short_lifts_toward_a_goal_part_of_the_way_up():
    controller = ScriptedController('pick_lift')
    play = FailurePlay(controller, episode_index=1)
    assert play.style == 'short'
    cube = np.array([0.25, 0.0, 0.02])
    calls = []
    original = controller.act
    controller.act = lambda *a: calls.append(a) or original(*a)
    play.act((0.25, 0.0, 0.2), cube, cube + (0, 0, 0.1), False)
    assert np.allclose(calls[0][2], cube + (0, 0, 0.03))   # 30% of the 10 cm lift
    # The next short episode (the styles come round again) goes 60% of the way.
    controller = ScriptedController('pick_lift')
    later = FailurePlay(controller, episode_index=1 + len(FAILURE_STYLES['pick_lift']))
    assert later.style == 'short'
    controller.act = lambda *a: calls.append(a) or original(*a)
    later.act((0.25, 0.0, 0.2), cube, cube + (0, 0, 0.1), False)
    assert np.allclose(calls[1][2], cube + (0, 0, 0.06))
    # The third, 80%: the near miss just short of the success height.
    controller = ScriptedController('pick_lift')
    third = FailurePlay(controller, episode_index=1 + 2 * len(FAILURE_STYLES['pick_lift']))
    controller.act = lambda *a: calls.append(a) or original(*a)
    third.act((0.25, 0.0, 0.2), cube, cube + (0, 0, 0.1), False)
    assert np.allclose(calls[2][2], cube + (0, 0, 0.08))


def test_short_lifts_slowly_so_the_arm_does_not_overshoot_into_a_success():
    controller = ScriptedController('pick_lift')
    play = FailurePlay(controller, episode_index=1, settings=FailureSettings(short_lift_rate=0.25))
    controller.phase = 'lift'   # grasped: the controller lifts toward the short goal
    controller._lift_xy = np.array([0.25, 0.0])
    cube = np.array([0.25, 0.0, 0.02])
    delta, gripper = play.act((0.25, 0.0, 0.01), cube, cube + (0, 0, 0.1), True)
    assert gripper == Gripper.CLOSE and delta[2] == pytest.approx(0.25)
    full = ScriptedController('pick_lift')
    full.phase, full._lift_xy = 'lift', np.array([0.25, 0.0])
    assert full.act(np.array([0.25, 0.0, 0.01]), cube, cube + (0, 0, 0.1), True)[0][2] == 1.0


def test_drop_lets_go_once_the_cube_has_risen_and_holds_still():
    play = FailurePlay(ScriptedController('pick_lift'), episode_index=2)
    assert play.style == 'drop'
    tcp, goal = np.array([0.25, 0.0, 0.05]), np.array([0.25, 0.0, 0.12])
    play.act(tcp, (0.25, 0.0, 0.02), goal, False)       # the cube starts at 2 cm
    delta, gripper = play.act(tcp, (0.25, 0.0, 0.055), goal, True)
    assert play.phase == 'dropped' and gripper == Gripper.OPEN
    assert np.allclose(delta, 0.0)   # it stays where it let go
    _, gripper = play.act(tcp, (0.25, 0.0, 0.02), goal, False)
    assert gripper == Gripper.OPEN


def test_empty_lift_closes_the_jaws_above_the_cube_and_raises_them_to_the_lift_height():
    play = FailurePlay(ScriptedController('pick_lift'), episode_index=3)
    assert play.style == 'empty_lift'
    cube, goal = np.array([0.25, 0.0, 0.02]), np.array([0.25, 0.0, 0.12])
    delta, gripper = play.act((0.2, 0.0, 0.2), cube, goal, False)
    assert gripper == Gripper.OPEN and delta[0] > 0 and play.phase == 'align'
    above = cube + (0, 0, play.controller.config.hover_height)
    delta, gripper = play.act(above, cube, goal, False)
    assert gripper == Gripper.CLOSE and play.phase == 'lift' and delta[2] > 0


def test_wander_visits_random_points_around_the_cube_and_opens_or_closes_at_each():
    play = FailurePlay(ScriptedController('pick_lift'), episode_index=4)
    assert play.style == 'wander' and play.phase == 'wander'
    cube, goal = np.array([0.25, 0.0, 0.02]), np.array([0.25, 0.0, 0.12])
    grippers, points = set(), []
    for _ in range(12):   # the TCP reaches every point at once: a new one each step
        play.act(play._waypoint[0] if play._waypoint else (0.2, 0, 0.1), cube, goal, False)
        points.append(play._waypoint[0])
        grippers.add(play._waypoint[1])
    points = np.array(points)
    assert grippers == {Gripper.OPEN, Gripper.CLOSE}
    assert np.all(np.abs(points[:, :2] - cube[:2]) <= 0.1)
    assert np.all((points[:, 2] > 0.05) & (points[:, 2] <= 0.17))
    assert len({tuple(p) for p in points}) == len(points)
    # The same episode index plays the same wander.
    again = FailurePlay(ScriptedController('pick_lift'), episode_index=4)
    again.act((0.2, 0, 0.1), cube, goal, False)
    assert np.allclose(again._waypoint[0], points[0])


@pytest.mark.parametrize('robot, task, episodes', [('so101', 'pick_lift', 5),
                                                   ('panda', 'pick_lift', 3),
                                                   ('so101', 'push', 2)])
def test_played_failures_never_succeed_and_are_recorded_with_reward_zero(
        robot, task, episodes):
    from hilserl.sim.training import FPS, run_episode, SimTask, STALL_TIMEOUT_S
    sim = SimTask(robot, task, seed=0)
    human = ScriptedHuman(HumanSettings(
        task=task, scripted=sim.scripted, stall_steps=round(STALL_TIMEOUT_S * FPS),
        outcome='failure', intervention=InterventionSettings(mode='always')))
    # Record mode's labelling: 20 s episodes, a success would end 2 steps later.
    config = EpisodeConfig(fps=FPS, control_time_s=20.0, number_of_steps_after_success=2)
    events, rewards, lifted = [], [], []
    original_step = human.step

    def step(truth):
        said = original_step(truth)
        events.extend(said.events)
        lifted.append(truth.cube[2])
        return said

    human.step = step
    styles = []
    for k in range(episodes):
        result = run_episode(sim, human, config, seed=500 + k, episode_index=k, policy=None,
                             on_step=lambda s: rewards.append(s['reward']))
        styles.append(human._controller.style)
        assert not result.success
    assert styles == list(FAILURE_STYLES[task][:episodes])
    # Most stall (FAILURE) well before the time limit; a wander may run into it.
    assert SUCCESS not in events and events.count(FAILURE) >= episodes - 1
    assert rewards and not any(rewards)
    if task == 'pick_lift':
        # The short lift and the drop raise the cube off the table, but not 10 cm; the
        # empty lift leaves it there.
        assert 0.03 < max(lifted) - min(lifted) < 0.08
