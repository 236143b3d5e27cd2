"""Training on a Gymnasium environment in one process (hilserl.sim.gym.training), on PandaReach."""

import os

from hilserl.sim.gym.env_file import load_environment
from hilserl.sim.gym.environment import EnvError, EnvSettings
from hilserl.sim.gym.training import GymTask, reach_human, train_on_env
from hilserl.actor.episodes import EpisodeConfig
from hilserl.sim.training import FPS, run_episode, RunSettings
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
REACH = load_environment(os.path.join(ROOT, 'config', 'environments', 'gym.yaml'),
                         'panda_reach').settings


def test_the_task_gives_the_actors_state_and_the_scripted_human_reaches_the_goal():
    task = GymTask(REACH)
    truth = task.reset(seed=5)
    state = task.observe(truth)['state']
    # 9 joints (velocity, achieved and desired goal), the gripper, the TCP pose.
    assert task.state_dim == 9 + 1 + 7 and state.shape == (task.state_dim,)
    assert state[-7:-4] == pytest.approx(truth.tcp_position)
    assert state[6:9] == pytest.approx(truth.target_position)
    steps = []
    human = reach_human()(task, 'always')
    episode = run_episode(task, human, EpisodeConfig(fps=FPS, control_time_s=5.0), 5, 0,
                          None, on_step=steps.append)
    assert episode.success and episode.intervention_steps == episode.steps == len(steps)
    assert steps[-1]['reward'] == 1.0 and steps[-1]['terminated']
    assert np.all(np.abs(steps[0]['action'][:3]) <= 1.0)
    task.close()


def test_a_short_run_learns_from_the_human_and_is_evaluated():
    result = train_on_env(REACH, RunSettings(
        demos=1, seed=0, max_steps=40, eval_every=20, eval_episodes=2, pretrain_updates=2,
        learning_starts=30, batch_size=16, control_time_s=2.0, intervention_decay=1.0))
    assert [steps for steps, _ in result.curve] == [0, 20, 40]
    assert result.env_steps == 40 and result.demo_successes == 1
    assert result.intervention_steps > 0   # the human took over a stray policy
    assert all(0.0 <= rate <= 1.0 for _, rate in result.curve)


def test_an_env_without_a_goal_to_reach_is_one_clear_error():
    with pytest.raises(EnvError, match='Pendulum-v1 has no desired_goal of 3 values'):
        GymTask(EnvSettings('Pendulum-v1'))
    with pytest.raises(ValueError, match='policy_inputs state only'):
        train_on_env(REACH, RunSettings(policy_inputs='images'))
