"""
The learner node over DDS: the probe plays an actor.

It numbers and publishes Transitions, reads the learner's acknowledgements and policy
parameters, kills the learner mid-stream and resends from where the restarted one says
it resumed; the run directory then holds every sequence exactly once.
"""

import csv
import glob
import json
import os
import signal

from hilserl_interfaces.msg import EpisodeStats, PolicyParameters, Transition, TransitionAck
from hilserl_learning.policy_blob import decode_policy, PolicyBlobError
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from hilserl.launching.graph import NodeSpec
from hilserl.launching.runner import node_command
from hilserl.learner.core import LOG_SEQUENCE, STATE_FILE, WAL_FILE
from hilserl.ros.transition_messages import transition_to_message
from hilserl_testing.processes import LEARNER_STOP_GRACE_S, wait_for_output
from hilserl.transport.transition_link import TransitionLog

TRANSITIONS_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
ACKS_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
ACTOR = 'probe_actor'
EPISODE_LENGTH = 5


def learner_spec(run_dir, **parameters):
    values = {'run_dir': str(run_dir), 'agent.hidden_dims': [16, 16],
              'agent.grasp_hidden_dims': [8], 'agent.image_bottleneck_dim': 8,
              'agent.cnn_channels': [4, 4, 4], 'batch_size': 8,
              'online_step_before_learning': 8, 'checkpoint_every_updates': 10,
              'policy_push_period_s': 0.5, 'ack_period_s': 0.1,
              'status_period_s': 1.0, 'max_update_rate_hz': 50.0, 'torch_threads': 1,
              'online_buffer_capacity': 2000, 'offline_buffer_capacity': 200}
    values.update(parameters)
    return NodeSpec('learner', 'learner', parameters=values)


class ProbeActor:
    """Publishes numbered transitions of fixed-length episodes and collects receipts."""

    def __init__(self, probe, cameras=0):
        self.probe, self.cameras = probe, cameras
        self.publisher = probe.publisher(Transition, '/transitions', TRANSITIONS_QOS)
        self.acks = probe.subscribe(TransitionAck, '/transition_acks', ACKS_QOS)
        probe.wait_for_subscribers(self.publisher, timeout=30)

    def message(self, sequence):
        episode, step = divmod(sequence, EPISODE_LENGTH)
        last = step == EPISODE_LENGTH - 1

        def observation(at):
            found = {'state': np.array([sequence, at, episode], dtype=np.float32)}
            if self.cameras:
                found['pixels'] = np.full((self.cameras, 3, 36, 36), at, dtype=np.uint8)
            return found
        return transition_to_message(
            ACTOR, sequence, episode, step, observation(step), [0.1, -0.1, 0.2, 0.0],
            float(last), terminated=last, intervention=step == 2,
            final_observation=observation(step + 1) if last else None,
            state_names=['a', 'b', 'c'], camera_names=['front', 'wrist'][:self.cameras])

    def send(self, sequences):
        for sequence in sequences:
            self.publisher.publish(self.message(sequence))

    def wait_for_ack(self, at_least, session=None, timeout=30.0):
        return self.acks.wait_for(
            lambda ack: ack.actor_id == ACTOR and ack.next_sequence >= at_least and (
                session is None or ack.learner_session == session),
            timeout, f'an acknowledgement of {at_least}')


def durable_next_sequence(run_dir):
    """Read what the run directory holds for ACTOR: checkpoint plus transition log."""
    [checkpoint] = glob.glob(os.path.join(run_dir, 'checkpoints', 'checkpoint_*'))
    with open(os.path.join(checkpoint, STATE_FILE)) as stream:
        durable = json.load(stream)['next_expected'].get(ACTOR, 0)
    for actor_id, record in TransitionLog(os.path.join(run_dir, WAL_FILE)).replay():
        (sequence,) = LOG_SEQUENCE.unpack_from(record)
        assert actor_id == ACTOR and sequence == durable, 'the log holds a gap or a repeat'
        durable = sequence + 1
    return durable


def test_acks_advance_and_a_late_subscriber_gets_the_latched_parameters(
        processes, probe, tmp_path):
    processes.start_node(learner_spec(tmp_path, policy_push_period_s=1000.0))
    actor = ProbeActor(probe)
    actor.send(range(12))
    first = actor.wait_for_ack(1).next_sequence
    assert actor.wait_for_ack(12).next_sequence == 12 and first <= 12
    # Pushed once at start-up, long before this subscription exists.
    parameters = probe.subscribe(PolicyParameters, '/policy_parameters', LATCHED)
    message = parameters.wait_for_messages(1, timeout=5.0)[0]
    tensors, config, version = decode_policy(bytes(message.blob), message.sha256,
                                             message.format_version)
    assert version == message.policy_version == 0
    assert config.state_dim == 3 and config.hidden_dims == (16, 16)
    assert tensors['normalizer.mean'].shape == (3,)
    tampered = bytearray(message.blob)
    tampered[-1] ^= 1
    with pytest.raises(PolicyBlobError, match='checksum'):
        decode_policy(bytes(tampered), message.sha256, message.format_version)


def test_episode_stats_are_logged_to_the_run_directory(processes, probe, tmp_path):
    processes.start_node(learner_spec(tmp_path))
    publisher = probe.publisher(EpisodeStats, '/episode_stats', ACKS_QOS)
    probe.wait_for_subscribers(publisher, timeout=30)
    publisher.publish(EpisodeStats(actor_id=ACTOR, episode_index=4, steps=20, success=True,
                                   intervention_steps=5, episodic_reward=1.0))
    episodes_csv = os.path.join(tmp_path, 'episodes.csv')

    def rows():
        with open(episodes_csv) as stream:
            return list(csv.DictReader(stream))
    probe.spin_until(lambda: len(rows()) == 1, 10, 'a row in episodes.csv')
    row = rows()[0]
    assert (row['actor_id'], row['episode_index'], row['success']) == (ACTOR, '4', '1')
    assert float(row['intervention_rate']) == 0.25


def test_a_killed_learner_resumes_and_stores_every_sequence_exactly_once(
        processes, probe, tmp_path):
    run_dir = str(tmp_path / 'run')
    spec = learner_spec(run_dir)
    learner = processes.start_node(spec)
    actor = ProbeActor(probe)
    parameters = probe.subscribe(PolicyParameters, '/policy_parameters', LATCHED)
    actor.send(range(40))
    session = actor.wait_for_ack(40).learner_session
    wait_for_output(learner, 'checkpoint written', timeout=30)
    pushed = parameters.wait_for(lambda m: m.policy_version > 0, timeout=30,
                                 what='parameters after learning')
    _, _, version = decode_policy(bytes(pushed.blob), pushed.sha256, pushed.format_version)
    assert version == pushed.policy_version
    actor.send(range(40, 60))
    acknowledged = actor.wait_for_ack(41).next_sequence
    learner.send_signal(signal.SIGKILL)   # maybe before it got, or logged, all of them
    learner.wait(timeout=10)

    durable = durable_next_sequence(run_dir)
    assert acknowledged <= durable <= 60
    resumed = processes.start(node_command(learner_spec(run_dir, resume=True)),
                              'learner_resumed')
    restart = actor.acks.wait_for(
        lambda ack: ack.actor_id == ACTOR and ack.learner_session != session, 30,
        'an acknowledgement from the restarted learner')
    assert restart.next_sequence == durable
    # Resend from a little earlier than asked (as an actor whose receipts were lost
    # would), then carry on: the repeats must be recognised and dropped.
    actor.send(range(durable - 5, 80))
    actor.wait_for_ack(80, session=restart.learner_session)
    wait_for_output(resumed, 'status: 80 transitions received', timeout=10)
    assert resumed.stop(LEARNER_STOP_GRACE_S) == 0
    [checkpoint] = glob.glob(os.path.join(run_dir, 'checkpoints', 'checkpoint_*'))
    with open(os.path.join(checkpoint, STATE_FILE)) as stream:
        state = json.load(stream)
    assert state['next_expected'] == {ACTOR: 80}
    assert state['counters']['transitions_received'] == 80
    assert state['transitions_in_online_buffer'] == 80   # 16 whole episodes, none twice
    assert state['duplicates'] >= 5 and os.path.getsize(os.path.join(run_dir, WAL_FILE)) == 0


def test_camera_transitions_are_stored_and_learned_from(processes, probe, tmp_path):
    learner = processes.start_node(learner_spec(tmp_path, image_encoder='cnn'))
    actor = ProbeActor(probe, cameras=2)
    actor.send(range(10))
    actor.wait_for_ack(10)
    output = wait_for_output(learner, 'learner steps', timeout=30)
    assert 'rejected' in output and '0 rejected' in output


def test_resume_without_a_checkpoint_is_refused_in_one_line(processes, tmp_path):
    learner = processes.start_node(learner_spec(tmp_path / 'empty', resume=True))
    assert learner.wait(timeout=30) == 78
    [line] = [text for text in learner.output().splitlines() if 'FATAL' in text]
    assert 'holds no checkpoint' in line and 'Traceback' not in learner.output()


def test_a_parameter_given_by_its_old_name_is_refused_with_the_new_name(processes, tmp_path):
    learner = processes.start_node(learner_spec(tmp_path, max_updates_per_step=4,
                                                **{'agent.utd_ratio': 2}))
    assert learner.wait(timeout=30) == 78
    [line] = [text for text in learner.output().splitlines() if 'FATAL' in text]
    assert "'agent.utd_ratio' is now 'agent.critic_updates_per_learner_step'" in line
    assert "'max_updates_per_step' is now 'updates_per_step'" in line
    assert 'Traceback' not in learner.output()


def test_an_image_policy_on_a_random_frozen_encoder_stops_the_learner(processes, probe,
                                                                      tmp_path):
    """Without frozen weights, the first camera transition ends the run with the reason."""
    learner = processes.start_node(learner_spec(tmp_path))
    ProbeActor(probe, cameras=2).send(range(3))
    assert learner.wait(timeout=60) == 78, learner.output()
    [line] = [text for text in learner.output().splitlines() if 'FATAL' in text]
    assert 'frozen_weights_path is unset' in line and 'allow_random_encoder' in line
    assert 'Traceback' not in learner.output()


def test_an_image_policy_on_an_imported_encoder_card_learns_and_names_it_to_the_actors(
        processes, probe, tmp_path):
    """A ResNet-10 in torchvision's layout, imported as a card, is the learner's encoder."""
    import torch
    from hilserl_learning.encoders import FrozenResNet10
    from hilserl_learning.frozen_encoders import import_encoder
    torch.save(FrozenResNet10(seed=7).state_dict(), str(tmp_path / 'resnet10.pth'))
    card = str(tmp_path / 'resnet10.encoder.safetensors')
    import_encoder(str(tmp_path / 'resnet10.pth'), card)
    parameters = probe.subscribe(PolicyParameters, '/policy_parameters', LATCHED)
    learner = processes.start_node(learner_spec(tmp_path / 'run',
                                                **{'agent.frozen_weights_path': card}))
    actor = ProbeActor(probe, cameras=2)
    actor.send(range(10))
    actor.wait_for_ack(10)
    wait_for_output(learner, 'learner steps', timeout=30)
    message = parameters.wait_for(lambda m: m.policy_version >= 1, timeout=30,
                                  what='a policy from camera transitions')
    _, config, _ = decode_policy(bytes(message.blob), message.sha256, message.format_version)
    assert config.frozen_weights_path == card and config.frozen_architecture == 'resnet10'
    assert config.num_cameras == 2 and 'FATAL' not in learner.output()
