"""
Train mode on a Gymnasium environment: `hilserl launch train robot:=gym env:=...`.

Real processes: the gym_env node plays the arm, the actor drives it with the policy and,
for a while, with the human's commands (teleop/command while teleop/intervention says
so, as the keyboard and gamepad nodes send them), the learner receives the transitions
and updates. Pendulum-v1 (classic control) and panda-gym's PandaReach-v3 stand in for
gym-hil's pick-cube, whose controller does not run with the MuJoCo the suite pins
(docs/gymnasium.md). A few hundred steps each; learning is not required.
"""

import csv

import numpy as np

from hilserl_interfaces.msg import EndEffectorCommand
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def rows(path):
    try:
        with open(path, encoding='utf-8') as stream:
            return list(csv.DictReader(stream))
    except OSError:
        return []


def human_takes_over(probe, delta, done, what):
    """Send teleop/intervention, then ``delta()`` commands until ``done()``; hand back."""
    intervention = probe.publisher(Bool, '/teleop/intervention', LATCHED)
    commands = probe.publisher(EndEffectorCommand, '/teleop/command', 10)
    intervention.publish(Bool(data=True))

    def command():
        commands.publish(EndEffectorCommand(delta_xyz=list(delta()),
                                            gripper=EndEffectorCommand.GRIPPER_STAY,
                                            source=EndEffectorCommand.SOURCE_HUMAN))
        probe.spin_for(0.05)
        return done()
    probe.spin_until(command, 90, what)
    intervention.publish(Bool(data=False))


def finished_output(probe, train):
    """Wait for the mode to run its episodes; check it ended cleanly; return its output."""
    probe.spin_until(lambda: not train.alive(), 120, 'train mode to run its 6 episodes')
    output = train.output()
    assert train.wait(timeout=30) == 0, output
    assert 'Traceback' not in output, output
    return output


def test_train_mode_runs_actor_and_learner_on_a_gymnasium_env(processes, probe, tmp_path):
    run_dir = tmp_path / 'run'
    states = probe.subscribe(JointState, '/joint_states', 10)
    train = processes.start_mode('train', robot='gym', env='Pendulum-v1', teleop='none',
                                 num_episodes=6, fps=20, control_time_s=3,
                                 run_dir=run_dir)
    states.wait_for_messages(1, timeout=90)
    assert list(states.messages[-1].name) == ['obs.0', 'obs.1', 'obs.2', 'gripper']
    # Once two episodes are logged, the human takes over until an episode with their steps
    # is done: full torque one way.
    probe.spin_until(lambda: len(rows(run_dir / 'episodes.csv')) >= 2, 90, 'two episodes')
    human_takes_over(probe, lambda: [1.0, 0.0, 0.0], lambda: any(
        int(row['intervention_steps']) > 0 for row in rows(run_dir / 'episodes.csv')),
        'an episode with the human in control')
    output = finished_output(probe, train)
    assert 'Pendulum-v1: 3 state entries, action of 1 from [dx]' in output, output
    assert output.count('[actor]: episode #') == 6, output
    # The learner logs the EpisodeStats it receives: one sent before it was listening (a
    # slow start on a loaded machine) is not in its file.
    episodes = rows(run_dir / 'episodes.csv')
    human = [int(row['intervention_steps']) for row in episodes]
    assert sum(human) > 0 and human[:2] == [0, 0], episodes
    assert all(int(row['steps']) == 60 for row in episodes), episodes
    learner = rows(run_dir / 'learner.csv')
    assert learner and int(learner[-1]['step']) > 0, output


def test_train_mode_on_panda_gym_reach_with_a_human_who_reaches_the_goal(
        processes, probe, tmp_path):
    run_dir = tmp_path / 'run'
    states = probe.subscribe(JointState, '/joint_states', 10)
    train = processes.start_mode('train', robot='gym', env='PandaReach-v3', teleop='none',
                                 num_episodes=6, fps=20, control_time_s=2.5,
                                 run_dir=run_dir)
    states.wait_for_messages(1, timeout=90)
    names = list(states.messages[-1].name)
    assert names[-4:] == ['desired_goal.0', 'desired_goal.1', 'desired_goal.2', 'gripper']
    # The human takes over once the learner logs its first online update (after 100
    # steps).
    probe.spin_until(lambda: len(rows(run_dir / 'episodes.csv')) >= 2
                     and rows(run_dir / 'learner.csv'), 90, 'the learner learning')

    def steer():
        # A proportional controller: the tip (achieved_goal) toward the goal, 5 cm a
        # full command, until an episode the human ended in success is logged.
        values = dict(zip(states.messages[-1].name, states.messages[-1].position))
        tip, goal = (np.array([values[f'{key}.{i}'] for i in range(3)])
                     for key in ('achieved_goal', 'desired_goal'))
        return np.clip((goal - tip) / 0.05, -1.0, 1.0).tolist()
    human_takes_over(probe, steer, lambda: any(
        int(row['intervention_steps']) > 0 and float(row['success']) > 0
        for row in rows(run_dir / 'episodes.csv')), 'an episode the human ended at the goal')
    output = finished_output(probe, train)
    assert 'PandaReach-v3: 12 state entries, action of 3 from [dx, dy, dz]' in output, output
    assert output.count('[actor]: episode #') == 6, output
    # The learner's rows may miss an episode whose EpisodeStats it was not listening for.
    episodes = rows(run_dir / 'episodes.csv')
    human = [int(row['intervention_steps']) for row in episodes]
    assert sum(human) > 0 and human[:2] == [0, 0], episodes
    # An episode lasts control_time_s (50 steps) unless the env reports success earlier.
    for row in episodes:
        assert int(row['steps']) == 50 or float(row['success']) > 0, episodes
    learner = rows(run_dir / 'learner.csv')
    assert learner and int(learner[-1]['step']) > 0, output
