"""
A third arm by configuration alone: the Kinova JACO of dm-control, from a YAML file.

The registry's jaco.yaml is copied into tmp_path under another name, so no code path
can know the arm by its name or its file. Its models come from the installed
dm-control package (an arm MJCF and a hand MJCF, no actuators): the file attaches the
hand, creates the servos and couples the fingers. ``hilserl launch sim`` must publish
its joints and move its TCP to the reach target on end-effector commands; record mode
must record reach episodes into a dataset with its scripted human, and train mode's
graph must learn from them (a few hundred learner steps).
"""

import csv
from dataclasses import replace
import os
import shutil
import subprocess

from hilserl.arm.robot_registry import load_robot, registry_directory
from hilserl.launching.modes import MODES
from hilserl_testing.recording import record_scripted_episodes
from hilserl_interfaces.msg import EndEffectorCommand, SimGroundTruth
import numpy as np
from sensor_msgs.msg import JointState


def copied_robot_file(tmp_path):
    folder = tmp_path / 'x'
    folder.mkdir()
    path = folder / 'my_arm.yaml'
    shutil.copyfile(os.path.join(registry_directory(), 'jaco.yaml'), path)
    return str(path)


def distance(truth: SimGroundTruth) -> float:
    tcp, goal = truth.tcp_position, truth.goal_position
    return float(np.linalg.norm([goal.x - tcp.x, goal.y - tcp.y, goal.z - tcp.z]))


def test_sim_mode_moves_the_third_arm_to_the_reach_target(processes, probe, tmp_path):
    path = copied_robot_file(tmp_path)
    robot = load_robot(path)
    assert len(robot.arm.joints) == 6 and robot.simulated
    states = probe.subscribe(JointState, '/joint_states', 10)
    truths = probe.subscribe(SimGroundTruth, '/sim/ground_truth', 10)
    commands = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
    sim = processes.start_mode('sim', robot=path, task='reach')
    states.wait_for_messages(1, timeout=90)
    # The arm joints and the gripper first (the other fingers follow, for rviz).
    assert tuple(states.messages[-1].name)[:len(robot.joint_names)] == robot.joint_names
    truths.wait_for_messages(1, timeout=30)
    probe.wait_for_subscribers(commands, timeout=30)
    start = distance(truths.messages[-1])
    assert start > 0.05, 'the target was drawn on the TCP'
    step = np.array(robot.safety.end_effector_step_sizes)

    def reached():
        truth = truths.messages[-1]
        goal, tcp = truth.goal_position, truth.tcp_position
        delta = np.array([goal.x - tcp.x, goal.y - tcp.y, goal.z - tcp.z]) / step
        commands.publish(EndEffectorCommand(delta_xyz=np.clip(delta, -1.0, 1.0).tolist(),
                                            gripper=EndEffectorCommand.GRIPPER_STAY))
        probe.spin_for(0.1)
        return truth.success or distance(truth) < 0.02

    probe.spin_until(reached, 60, f'the TCP at the target ({start:.3f} m away at first)')
    assert sim.alive(), sim.output()
    moved = np.array(states.messages[-1].position[:len(robot.arm.joints)])
    assert not np.allclose(moved, robot.arm.home, atol=1e-2)
    assert 'Traceback' not in sim.output()


def test_record_then_train_on_the_third_arm(processes, probe, tmp_path):
    """Record mode records reach episodes; the train graph learns from them."""
    path = copied_robot_file(tmp_path)
    dataset = tmp_path / 'dataset'
    recording = record_scripted_episodes(processes, path, dataset, successes=2)
    output = recording.output
    assert recording.successes == 2, output
    assert 'my_arm.yaml reach' in output, output
    # Train mode's own graph on those demonstrations, started node by node so that the
    # learner pretrains briefly and starts learning early (train.yaml: 1000 and 100).
    run_dir = tmp_path / 'run'
    nodes = MODES['train'].nodes({'robot': path, 'task': 'reach', 'demos': str(dataset),
                                  'run_dir': str(run_dir), 'num_episodes': '4',
                                  'control_time_s': '8', 'teleop': 'none',
                                  'lock_step': 'true'})
    assert [spec.executable for spec in nodes] == ['sim_arm', 'safety_filter', 'actor',
                                                   'learner']
    quick = {'offline_pretrain_updates': 20, 'online_step_before_learning': 20}
    started = {spec.executable: processes.start_node(replace(
        spec, lifecycle=False, parameters={**spec.parameters, **(
            quick if spec.executable == 'learner' else {})})) for spec in nodes}
    actor = started['actor']
    probe.spin_until(lambda: not actor.alive(), 240, 'the actor to run its 4 episodes')
    assert actor.wait(timeout=10) == 0, actor.output()
    with open(run_dir / 'episodes.csv', encoding='utf-8') as stream:
        assert len(list(csv.DictReader(stream))) == 4

    def learner_steps():
        try:
            with open(run_dir / 'learner.csv', encoding='utf-8') as stream:
                rows = list(csv.DictReader(stream))
        except OSError:
            return 0
        return int(rows[-1]['step']) if rows else 0
    probe.spin_until(lambda: learner_steps() >= 100, 60,
                     'the learner to log 100 steps on the third arm\'s transitions')
    assert 'Traceback' not in started['learner'].output()


def test_a_misspelt_field_of_the_third_arm_is_named(tmp_path):
    path = copied_robot_file(tmp_path)
    with open(path, encoding='utf-8') as stream:
        text = stream.read()
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write(text.replace('coupled_joints:', 'coupled_joint:'))
    result = subprocess.run(['hilserl', 'launch', 'sim', f'robot:={path}', 'task:=reach'],
                            capture_output=True, text=True, timeout=60)
    message = (result.stdout + result.stderr).strip()
    assert result.returncode != 0
    assert 'my_arm.yaml: sim.coupled_joint: unknown field' in message, message
    assert 'Traceback' not in message, message
