"""
The actor in simulation, with the test playing the learner and the human.

The simulated arm, the safety filter and the image processor run as in `sim` mode; the
probe publishes policy parameters of a small state-only agent, acknowledges
transitions (late, to force a resend), sends a corrupt blob and takes over as the
human (the policy step before a takeover carries the intervention penalty); at the
end the actor is killed and the safety filter must hold the arm.
"""

import json
import re
import signal

from hilserl.actor.observation_state import OBJECT_POSITION_NAMES, state_names
from hilserl.arm.robot_registry import load_robot
from hilserl.launching.graph import NodeSpec
from hilserl.launching.modes import MODES
from hilserl.ros.transition_messages import observation_from_message
from hilserl_testing.processes import wait_for_output
from hilserl_interfaces.msg import (EndEffectorCommand, EpisodeStats, PolicyParameters,
                                    Transition, TransitionAck)
from hilserl_learning import AgentConfig, SACAgent
from hilserl_learning.policy_blob import encode_policy, POLICY_FORMAT_VERSION
import numpy as np
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool, Float64MultiArray
import torch

RELIABLE = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
POLICY, HUMAN = EndEffectorCommand.SOURCE_POLICY, EndEffectorCommand.SOURCE_HUMAN


def small_agent(**image_settings):
    """Return a small agent of the sim SO-101's state (19 = 13 + object position)."""
    joints = load_robot('so101').joint_parameters()['arm_joint_names']
    return SACAgent(AgentConfig(state_dim=len(state_names(joints, object_position=True)),
                                hidden_dims=(32,), grasp_hidden_dims=(16,), **image_settings))


def parameters_message(version, corrupt=False, agent=None):
    """Return PolicyParameters of ``agent`` (by default a small state-only one)."""
    torch.manual_seed(version)
    agent = agent or small_agent()
    blob, digest = encode_policy(agent, version)
    return PolicyParameters(format_version=POLICY_FORMAT_VERSION, policy_version=version,
                            sha256='0' * 64 if corrupt else digest, blob=list(blob))


def consecutive(messages):
    """Yield ``(step, following step)`` of the same episode, duplicates (resends) once."""
    steps = {(m.episode_index, m.step_index): m for m in messages}
    for (episode, index), step in sorted(steps.items()):
        following = steps.get((episode, index + 1))
        if following is not None:
            yield step, following


def takeovers(messages):
    """Return the policy steps the human took over after."""
    return [step for step, following in consecutive(messages)
            if not step.intervention and following.intervention]


def start_sim_reach_and_actor(processes, parameters, lock_step=False):
    """Start the simulated arm on the reach task, then an actor with ``parameters`` for it."""
    for spec in MODES['sim'].nodes({'robot': 'so101', 'task': 'reach',
                                    'lock_step': 'true' if lock_step else 'false',
                                    'rviz': 'false'}):
        processes.start_node(spec)
    return processes.start_node(NodeSpec('actor', 'actor', parameters={
        **parameters, **load_robot('so101').joint_parameters()}))


def test_actor_acts_delivers_every_transition_and_hands_over_to_the_human(processes, probe):
    transitions = probe.subscribe(Transition, '/transitions', RELIABLE)
    commands = probe.subscribe(EndEffectorCommand, '/end_effector_command', 100)
    stats = probe.subscribe(EpisodeStats, '/episode_stats', QoSProfile(
        depth=10, reliability=ReliabilityPolicy.RELIABLE))
    joint_commands = probe.subscribe(Float64MultiArray, '/joint_commands', 100)
    parameters = probe.publisher(PolicyParameters, '/policy_parameters', LATCHED)
    acks = probe.publisher(TransitionAck, '/transition_acks',
                           QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    intervention = probe.publisher(Bool, '/teleop/intervention', LATCHED)
    teleop = probe.publisher(EndEffectorCommand, '/teleop/command', 10)

    # resend_after_s is long: only the receipts below make the actor resend.
    actor = start_sim_reach_and_actor(processes, {
        'camera_names': [], 'fps': 10.0, 'control_time_s': 2.0, 'resend_after_s': 30.0,
        'reward_source': 'ground_truth', 'state_from_ground_truth': True,
        'actor_id': 'test_actor', 'intervention_penalty': 0.3})
    intervention.publish(Bool(data=False))
    parameters.publish(parameters_message(1))

    # The policy acts: POLICY commands that move (a zero action is the no-policy hold).
    commands.wait_for(lambda m: m.source == POLICY and any(abs(v) > 1e-3 for v in m.delta_xyz),
                      timeout=60, what='a moving policy command')
    transitions.wait_for_messages(15, timeout=20)
    # The first few may go out before this probe's reader is matched (DDS drops them for
    # a volatile reader); the receipts below get them resent.
    first = [m.sequence for m in transitions.messages]
    assert first == list(range(first[0], first[0] + len(first))), 'consecutive sequences'
    sample = transitions.messages[0]
    assert sample.actor_id == 'test_actor' and len(sample.action) == 4
    session = sample.actor_session
    assert len(session) == 8, 'a random session per actor process'
    assert list(sample.observation.state_names[-6:]) == list(OBJECT_POSITION_NAMES)
    assert not sample.observation.images

    # No receipt so far: everything is held. A receipt asking for 0 makes the actor resend.
    seen_before = len(transitions.messages)
    # A receipt for another process of the same actor id is none of its business.
    acks.publish(TransitionAck(actor_id='test_actor', actor_session='other', next_sequence=10**6,
                               learner_session='s0'))
    acks.publish(TransitionAck(actor_id='test_actor', actor_session=session, next_sequence=0,
                               learner_session='s1'))
    probe.spin_until(lambda: [m.sequence for m in transitions.messages].count(first[0]) >= 2,
                     10, 'the held transitions resent from sequence 0')
    assert 0 in {m.sequence for m in transitions.messages}
    assert len(transitions.messages) > seen_before

    # A corrupt blob: one error, the old policy keeps running.
    parameters.publish(parameters_message(2, corrupt=True))
    wait_for_output(actor, 'policy parameters rejected, keeping policy version 1', 20)
    stats_after = len(stats.messages)
    stats.wait_for_messages(stats_after + 1, timeout=10)
    assert stats.messages[-1].policy_version == 1 and stats.messages[-1].actor_id == 'test_actor'
    assert stats.messages[-1].steps >= 1 and stats.messages[-1].policy_hz_mean > 5

    # The human takes over: their command is executed and the steps are flagged.
    human = EndEffectorCommand(delta_xyz=[0.0, 0.0, 0.5], gripper=EndEffectorCommand.GRIPPER_OPEN,
                               source=HUMAN)
    probe.node.create_timer(0.05, lambda: teleop.publish(human))
    intervention.publish(Bool(data=True))
    commands.wait_for(lambda m: m.source == HUMAN and abs(m.delta_xyz[2] - 0.5) < 1e-6,
                      timeout=10, what='the human command forwarded')
    transitions.wait_for(lambda m: m.intervention and abs(m.action[2] - 0.5) < 1e-6
                         and m.action[3] == 1.0, timeout=10, what='an intervention step')

    # The policy step after which the human took over is labelled -intervention_penalty.
    # A takeover during a reset has no policy step before it: hand back and take over
    # again until one falls inside an episode.
    for _ in range(3):
        if takeovers(transitions.messages):
            break
        latest = max(m.sequence for m in transitions.messages)
        intervention.publish(Bool(data=False))
        transitions.wait_for(lambda m: m.sequence > latest and not m.intervention,
                             timeout=10, what='a policy step after handing back')
        intervention.publish(Bool(data=True))
        transitions.wait_for(lambda m: m.sequence > latest and m.intervention,
                             timeout=10, what='a takeover after handing back')
    before = takeovers(transitions.messages)
    assert before and all(abs(m.reward + 0.3) < 1e-6 for m in before)
    followed_by_policy = [m for m, following in consecutive(transitions.messages)
                          if not following.intervention]
    assert followed_by_policy and all(m.reward >= 0 for m in followed_by_policy)

    # Every sequence up to the newest arrived (duplicates allowed, none missing).
    acks.publish(TransitionAck(actor_id='test_actor', actor_session=session, next_sequence=0,
                               learner_session='s2'))
    newest = max(m.sequence for m in transitions.messages)
    probe.spin_until(lambda: set(range(newest + 1)) <= {m.sequence for m in transitions.messages},
                     10, 'every sequence up to the newest')
    assert 'Traceback' not in actor.output(), actor.output()

    # Killed actor: the safety filter stops moving the arm after command_timeout_s (0.5 s).
    actor.send_signal(signal.SIGKILL)
    actor.wait(timeout=10)
    probe.spin_for(1.0)
    count = len(joint_commands.messages)
    joint_commands.wait_for_messages(count + 10, timeout=10)
    held = [np.asarray(m.data) for m in joint_commands.messages[count:]]
    for target in held[1:]:
        np.testing.assert_allclose(target, held[0])


def test_actor_stops_after_max_minutes_at_an_episode_end_on_a_lock_stepped_arm(
        processes, tmp_path):
    """Episodes of 1 s, a budget of 1.5 s: the second episode is the last, and it is whole."""
    log = tmp_path / 'evaluation.json'
    actor = start_sim_reach_and_actor(processes, {
        'camera_names': [], 'fps': 10.0, 'control_time_s': 1.0, 'max_minutes': 0.025,
        'reward_source': 'ground_truth', 'state_from_ground_truth': True,
        'send_transitions': False, 'wait_for_policy': False, 'eval_log': str(log)},
        lock_step=True)
    assert actor.wait(timeout=60) == 0, actor.output()
    episodes = json.loads(log.read_text())['per_episode']
    assert [e['steps'] for e in episodes] == [10, 10]
    assert 'or 0.025 minutes' in actor.output()


def test_image_transitions_carry_the_features_of_their_own_frames(processes, probe):
    """
    Two 10 Hz cameras, a 30 Hz loop and a frozen-encoder policy.

    The actor encodes each frame once and may act on a camera's previous frame for a
    tick; whatever it did, every transition's features must be those of its own images.
    """
    transitions = probe.subscribe(Transition, '/transitions', RELIABLE)
    parameters = probe.publisher(PolicyParameters, '/policy_parameters', LATCHED)
    actor = start_sim_reach_and_actor(processes, {
        'camera_names': ['front', 'wrist'], 'fps': 30.0, 'control_time_s': 2.0,
        'reward_source': 'ground_truth', 'state_from_ground_truth': True,
        'wait_for_policy': True})
    agent = small_agent(num_cameras=2, image_encoder='frozen')
    parameters.publish(parameters_message(1, agent=agent))

    transitions.wait_for_messages(45, timeout=90)
    fingerprint = agent.frozen_encoder.fingerprint()
    images_seen = set()
    for message in transitions.messages[:45]:
        observation = observation_from_message(message.observation)
        assert observation['features'].shape == (2, 512)
        assert message.observation.image_features_encoder == fingerprint
        expected = agent.encode_frames(torch.from_numpy(observation['pixels'])).numpy()
        np.testing.assert_allclose(observation['features'], expected, atol=1e-4)
        images_seen.add(observation['pixels'].tobytes())
    # 1.5 s of 10 Hz cameras (slower on a loaded machine): new frames keep coming, and
    # ticks share them.
    assert 3 <= len(images_seen) < 45
    output = actor.output()
    assert ('control loop thread: SCHED_FIFO priority 50' in output
            or 'not permitted to run at real-time priority 50' in output), output
    assert 'Traceback' not in output


def test_a_waiting_actor_moves_its_ticks_to_just_after_the_cameras_frames(processes):
    """10 Hz cameras and a 10 Hz loop, no policy yet: the ticks end up in phase with them."""
    actor = start_sim_reach_and_actor(processes, {
        'camera_names': ['front', 'wrist'], 'fps': 10.0, 'wait_for_policy': True,
        'reward_source': 'ground_truth', 'state_from_ground_truth': True})
    output = wait_for_output(actor, 'control tick in phase with the cameras', timeout=60)
    waits = re.search(r'in phase with the cameras: a complete set of frames waits '
                      r'([0-9.]+) ms for it on average \(at best ([0-9.]+) ms\)', output)
    assert waits, output
    # A tick at a random phase keeps 10 Hz frames waiting 50 ms on average.
    assert float(waits[1]) <= float(waits[2]) + 1.0 and float(waits[2]) < 30.0, output
    assert 'Traceback' not in output


def test_a_policy_for_another_state_layout_stops_the_actor_with_a_clear_error(processes, probe):
    """19 state values (with the object position) offered to a 13-value actor: exit 78."""
    parameters = probe.publisher(PolicyParameters, '/policy_parameters', LATCHED)
    actor = start_sim_reach_and_actor(processes, {
        'camera_names': [], 'fps': 10.0, 'control_time_s': 2.0, 'wait_for_policy': True,
        'reward_source': 'ground_truth', 'state_from_ground_truth': False})
    parameters.publish(parameters_message(1))
    assert actor.wait(timeout=60) == 78, actor.output()
    assert "[FATAL] ActorNode: the learner's policy does not fit this actor" in actor.output()
    assert 'the policy takes 19 state values and 0 cameras; this actor has 13' in actor.output()
    assert 'Traceback' not in actor.output()


def test_progress_shaping_adds_the_sim_s_progress_differences_to_the_rewards(processes, probe):
    """reward_source human (no success here): every nonzero reward is the shaping's."""
    transitions = probe.subscribe(Transition, '/transitions', RELIABLE)
    parameters = probe.publisher(PolicyParameters, '/policy_parameters', LATCHED)
    actor = start_sim_reach_and_actor(processes, {
        'camera_names': [], 'fps': 10.0, 'control_time_s': 2.0,
        'reward_source': 'human', 'progress_shaping_weight': 0.5,
        'state_from_ground_truth': True, 'allow_interventions': False})
    parameters.publish(parameters_message(1))
    transitions.wait_for(lambda m: abs(m.reward) > 1e-4, timeout=60,
                         what='a shaped reward of a policy step that moved the arm')
    # progress lies in [0, 1]: a step's shaping is within +-w, and a time limit ends
    # an episode truncated (not terminal), so no step gets the terminal -w * progress.
    assert all(abs(m.reward) <= 0.5 + 1e-6 for m in transitions.messages)
    assert 'Traceback' not in actor.output(), actor.output()
