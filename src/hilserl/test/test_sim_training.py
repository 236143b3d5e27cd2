"""In-process HIL-SERL on the simulated arm: episodes as the actor labels them, runs."""

import os

os.environ.setdefault('MUJOCO_GL', 'egl')

from hilserl.actor.episodes import EpisodeConfig  # noqa: E402
from hilserl.actor.observation_state import state_names  # noqa: E402
from hilserl.arm.robot_registry import default_robot, robot_file_path  # noqa: E402
from hilserl.sim import training as sim_training  # noqa: E402
from hilserl.sim.training import (RunSettings, run_episode, scripted_human,  # noqa: E402
                                  SimTask, steps_to_reach)
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'config')


@pytest.fixture(scope='module')
def task():
    return SimTask('so101', 'pick_lift', seed=0)


def record(task, human, config, policy=None, seed=3):
    steps = []
    result = run_episode(task, human, config, seed, 0, policy, on_step=steps.append)
    return result, steps


def test_a_recorded_demonstration_is_labelled_as_record_mode_labels_it(task):
    config = EpisodeConfig(fps=10.0, control_time_s=20.0, number_of_steps_after_success=2)
    result, steps = record(task, scripted_human(task, 'always'), config)
    assert result.success and result.steps == len(steps) == result.intervention_steps
    assert all(step['intervention'] for step in steps)
    assert [step['reward'] for step in steps[-3:]] == [1.0, 1.0, 1.0]
    assert steps[-1]['terminated'] and not any(step['terminated'] for step in steps[:-1])
    for step, following in zip(steps, steps[1:]):  # one chain of frames
        assert np.array_equal(step['next_observation']['state'],
                              following['observation']['state'])
    names = state_names(task.arm.joint_names[:-1], object_position=True)
    assert steps[0]['observation']['state'].shape == (len(names),) == (task.state_dim,)
    # The gripper closes once to grasp (a toggle) and opens never after.
    assert sum(step['gripper_toggled'] for step in steps) == 1


def test_an_arm_that_holds_still_fails_when_the_human_sees_it_stall(task):
    config = EpisodeConfig(fps=10.0, control_time_s=10.0)
    still = np.zeros(4, dtype=np.float32)
    result, steps = record(task, scripted_human(task, 'none'), config, lambda state: still)
    assert not result.success and result.intervention_steps == 0
    stall_steps = int(sim_training.STALL_TIMEOUT_S * sim_training.FPS)
    assert stall_steps <= result.steps < config.max_steps
    assert steps[-1]['terminated'] and steps[-1]['reward'] == 0.0
    assert not any(step['truncated'] or step['intervention'] for step in steps)


def test_the_policy_step_that_made_the_human_take_over_carries_the_penalty(task):
    # A policy that holds still makes no progress: the human takes over after 3 steps.
    config = EpisodeConfig(fps=10.0, control_time_s=2.0, intervention_penalty=0.25)
    human = scripted_human(task, 'when_off_track', stuck_steps=3)
    still = np.zeros(4, dtype=np.float32)
    _, steps = record(task, human, config, lambda state: still)
    before_takeover = [not step['intervention'] and following['intervention']
                       for step, following in zip(steps, steps[1:])] + [False]
    assert any(before_takeover)
    for step, penalised in zip(steps, before_takeover):
        assert step['reward'] == (-0.25 if penalised else 0.0)


def test_the_policy_s_action_is_stored_as_the_filter_got_it(task):
    config = EpisodeConfig(fps=10.0, control_time_s=0.5)
    wild = np.array([3.0, -2.0, 0.5, -0.7], dtype=np.float32)
    _, steps = record(task, scripted_human(task, 'none'), config, lambda state: wild)
    assert len(steps) == 5 and steps[-1]['truncated']
    assert np.allclose(steps[0]['action'], [1.0, -1.0, 0.5, -1.0])
    assert [step['gripper_toggled'] for step in steps] == [True] + [False] * 4


def test_runs_train_as_train_mode_is_configured():
    with open(os.path.join(CONFIG, 'train.yaml')) as stream:
        train = yaml.safe_load(stream)
    human, learner = (train[node]['ros__parameters'] for node in ('scripted_human', 'learner'))
    settings = RunSettings()
    assert human['intervention_mode'] == 'when_off_track'
    ours = (settings.off_track_distance, settings.stuck_steps, settings.stuck_progress,
            settings.intervention_probability, settings.intervention_decay)
    assert ours == (human['off_track_distance'], human['stuck_steps'],
                    human['stuck_progress'], human['intervention_probability'],
                    human['intervention_decay'])
    assert human['fps'] == sim_training.FPS
    assert human['stall_timeout_s'] == sim_training.STALL_TIMEOUT_S
    ours = (settings.pretrain_updates, settings.learning_starts, settings.batch_size)
    assert ours == (learner['offline_pretrain_updates'],
                    learner['online_step_before_learning'], learner['batch_size'])
    agent = {key[len('agent.'):]: value for key, value in learner.items()
             if key.startswith('agent.')}
    assert agent == sim_training.AGENT_SETTINGS
    actor = train['actor']['ros__parameters']
    assert (actor['fps'], actor['control_time_s']) == (sim_training.FPS,
                                                       sim_training.TRAIN_TIME_S)


def test_the_task_runs_at_the_robot_file_s_control_rate(tmp_path):
    # A copy of the default arm ticking at 50 Hz: 20 ms periods, 5 filter ticks a step.
    with open(robot_file_path(default_robot()), encoding='utf-8') as stream:
        content = yaml.safe_load(stream)
    content['safety']['control_rate_hz'] = 50.0
    path = tmp_path / 'fast_arm.yaml'
    path.write_text(yaml.safe_dump(content))
    fast = SimTask(str(path), 'reach', seed=0)
    try:
        assert fast.arm.control_dt == pytest.approx(0.02)
        assert fast.ticks_per_step == 5
        before = fast.arm.data.time
        fast.step([0.0, 0.0, 0.0], 1)
        assert fast.arm.data.time - before == pytest.approx(0.1)   # one step at 10 Hz
    finally:
        fast.arm.close()


def test_steps_to_reach_is_the_first_evaluation_at_the_target():
    curve = [(0, 0.0), (100, 0.8), (200, 0.5), (300, 0.9)]
    assert steps_to_reach(curve, 0.8) == 100
    assert steps_to_reach(curve, 0.95) is None


@pytest.mark.parametrize('change', [dict(max_steps=0), dict(eval_episodes=0),
                                    dict(demos=-1), dict(target_success=1.5),
                                    dict(policy_inputs='pixels')])
def test_settings_that_make_no_run_are_refused(change):
    with pytest.raises(ValueError):
        RunSettings(**change)


def test_a_run_evaluates_on_its_grid_and_stops_once_it_reaches_the_target(monkeypatch):
    rates = iter([0.0, 0.5, 0.9, 1.0])
    monkeypatch.setattr(sim_training, 'evaluate', lambda task, agent, episodes, *_: next(rates))
    seen = []
    settings = RunSettings(demos=1, pretrain_updates=2, max_steps=1000, eval_every=20,
                           learning_starts=10, batch_size=8)
    result = sim_training.train(settings, progress=seen.append)
    assert result.curve == [(0, 0.0), (20, 0.5), (40, 0.9)]
    assert result.steps_to_target == 40
    assert result.env_steps == 40  # it stops there, in the middle of an episode
    assert sum(seen) == result.env_steps and result.episodes >= 1
    assert result.demo_successes == 1 and result.demo_steps > 0


def test_a_run_without_demonstrations_runs_to_its_budget(monkeypatch):
    monkeypatch.setattr(sim_training, 'evaluate', lambda task, agent, episodes, *_: 0.0)
    settings = RunSettings(demos=0, interventions=False, max_steps=30, eval_every=15,
                           learning_starts=10, batch_size=8)
    result = sim_training.train(settings)
    assert [steps for steps, _ in result.curve] == [0, 15, 30]
    assert result.steps_to_target is None and result.env_steps == 30
    assert result.demo_steps == 0 and result.intervention_steps == 0


def test_an_image_policy_sees_the_cameras_through_the_frozen_encoder_and_not_the_cube():
    task = SimTask('so101', 'pick_lift', seed=0, cameras=True)
    task.encode = lambda frames: frames.reshape(len(frames), -1)[:, :5].astype(np.float32)
    observation = task.observe(task.reset(seed=3))
    assert observation['state'].shape == (task.state_dim,) == (13,)   # no cube position
    assert observation['features'].shape == (2, 5)                    # front, wrist


def test_an_image_run_stores_features_and_evaluates(monkeypatch):
    seen = []
    monkeypatch.setattr(sim_training, 'evaluate',
                        lambda task, agent, episodes, *_: seen.append(agent.config) or 0.0)
    settings = RunSettings(demos=1, pretrain_updates=2, max_steps=6, eval_every=6,
                           learning_starts=3, batch_size=4, policy_inputs='images')
    result = sim_training.train(settings)
    assert result.env_steps == 6 and result.demo_steps > 0
    assert seen[-1].num_cameras == 2 and seen[-1].state_dim == 13
