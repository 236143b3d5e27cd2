"""The ROS-free learner: delivery classes, steps into buffers, checkpoints, resume, demos."""

import os

from hilserl_learning import AgentConfig
import numpy as np
import pytest
import torch

from hilserl.learner.core import (CHECKPOINTS_DIR, DUPLICATE, GAP, LearnerConfigurationError,
                                  LearnerCore, LearnerError, LearnerSettings, NEW, WAL_FILE)
from hilserl.ros.transition_messages import (observation_to_message, set_image_features,
                                             transition_from_bytes, transition_to_bytes,
                                             transition_to_message)
from hilserl_testing import bags

STATE_NAMES = ['s0', 's1', 's2']
TINY = dict(hidden_dims=(16, 16), grasp_hidden_dims=(8,), image_bottleneck_dim=8,
            cnn_channels=(4, 4, 4))


def settings(run_dir, **overrides):
    values = dict(run_dir=str(run_dir), agent=AgentConfig(**TINY), batch_size=8,
                  online_step_before_learning=4, checkpoint_every_updates=5,
                  online_capacity=200, offline_capacity=200)
    values.update(overrides)
    return LearnerSettings(**values)


def new_core(run_dir, log=lambda line: None, **overrides):
    """Return a LearnerCore on ``settings(run_dir, **overrides)``, decoding as the node does."""
    return LearnerCore(settings(run_dir, **overrides), transition_from_bytes, log=log)


def observation(step, episode, cameras=0, size=36, offset=0):
    found = {'state': np.full(3, offset + episode * 100 + step, dtype=np.float32)}
    if cameras:
        found['pixels'] = np.full((cameras, 3, size, size), (episode * 7 + step) % 256,
                                  dtype=np.uint8)
    return found


class FakeActor:
    """Numbers and serializes transitions of fixed-length episodes, as an actor does."""

    def __init__(self, actor_id='actor_0', episode_length=3, cameras=0, size=36, offset=0,
                 features=None):
        self.actor_id, self.episode_length, self.cameras = actor_id, episode_length, cameras
        self.size, self.offset = size, offset
        self.features = features    # (value, encoder fingerprint) the actor claims it computed
        self.payloads = []

    def payload(self, sequence):
        while len(self.payloads) <= sequence:
            number = len(self.payloads)
            episode, step = divmod(number, self.episode_length)
            last = step == self.episode_length - 1
            names = ['front', 'wrist'][:self.cameras]
            seen = observation_to_message(
                observation(step, episode, self.cameras, self.size, self.offset),
                STATE_NAMES, names)
            if self.features is not None:
                value, encoder = self.features
                set_image_features(seen, np.full((self.cameras, 512), value), encoder)
            message = transition_to_message(
                self.actor_id, number, episode, step, seen,
                [0.5, -0.5, 0.0, -1.0 if step == 1 else 0.0], float(last), terminated=last,
                intervention=step == 1,
                final_observation=(observation(step + 1, episode, self.cameras, self.size,
                                               self.offset) if last else None),
                state_names=STATE_NAMES, camera_names=names)
            self.payloads.append(transition_to_bytes(message))
        return self.payloads[sequence]

    def send(self, core, sequences):
        return [core.receive(self.actor_id, s, self.payload(s))[0] for s in sequences]


def fresh(run_dir, **overrides):
    core = new_core(run_dir, **overrides)
    core.start_fresh()
    return core


def test_new_duplicate_and_gap_are_told_apart_and_only_new_ones_are_stored(tmp_path):
    core, actor = fresh(tmp_path), FakeActor()
    assert actor.send(core, [0, 1, 1, 0, 3]) == [NEW, NEW, DUPLICATE, DUPLICATE, GAP]
    assert core.receive('actor_0', 5, actor.payload(5)) == (GAP, 3)
    assert core.acks() == {'actor_0': 2}
    assert core.counters['transitions_received'] == 2
    assert actor.send(core, [2]) == [NEW] and core.acks() == {'actor_0': 3}


def test_a_step_enters_the_buffers_when_its_next_observation_is_known(tmp_path):
    core, actor = fresh(tmp_path), FakeActor()
    actor.send(core, [0])
    assert core.num_online_steps == 0
    actor.send(core, [1])
    assert core.num_online_steps == 1
    actor.send(core, [2])   # the episode's last step carries its final observation
    assert core.num_online_steps == 3
    np.testing.assert_array_equal(core.online.states()[:4, 0], [0, 1, 2, 3])
    assert len(core.offline) == 1   # the intervention (step 1) went to the demo buffer too
    batch = core.online.sample(64)
    np.testing.assert_array_equal(batch.next_observations['state'][:, 0],
                                  batch.observations['state'][:, 0] + 1)
    assert bool(batch.gripper_toggled[batch.observations['state'][:, 0] == 1].all())


def log_of_six_steps(run_dir, td_target_max):
    """Return what a learner with TD targets clipped to [0, max] logs for 2 episodes."""
    lines = []
    core = new_core(run_dir, agent=AgentConfig(
        td_target_min=0.0, td_target_max=td_target_max, **TINY), log=lines.append)
    core.start_fresh()
    FakeActor().send(core, range(6))   # the last step of each episode has reward 1
    return lines


def test_a_reward_outside_the_td_target_bounds_is_reported_once_per_actor(tmp_path):
    lines = log_of_six_steps(tmp_path, td_target_max=0.5)
    assert len(lines) == 1 and "actor 'actor_0' sent reward 1" in lines[0]
    assert 'td_target_min' in lines[0]


def test_rewards_within_the_td_target_bounds_are_not_reported(tmp_path):
    assert log_of_six_steps(tmp_path, td_target_max=1.0) == []


def test_updates_per_step_holds_the_update_to_data_ratio(tmp_path):
    core, actor = fresh(tmp_path, updates_per_step=2), FakeActor()

    def updates_allowed_now():
        count = 0
        while core.may_train():
            core.train_step()
            count += 1
        return count

    actor.send(core, range(3))
    assert not core.ready() and updates_allowed_now() == 0   # 3 of 4 online steps
    actor.send(core, range(3, 6))
    assert core.num_online_steps == 6
    assert updates_allowed_now() == 2 * 3   # steps 4, 5 and 6 since learning started
    actor.send(core, range(6, 9))
    assert updates_allowed_now() == 2 * 3
    assert core.counters['learner_steps'] == 12
    uncapped = fresh(tmp_path / 'uncapped')
    actor.send(uncapped, range(6))
    assert uncapped.may_train()


def test_interleaved_actors_never_share_frames_and_a_cut_episode_loses_its_last_step(
        tmp_path):
    core = fresh(tmp_path)
    first, second = FakeActor('actor_a'), FakeActor('actor_b', offset=10_000)
    for sequence in range(6):
        first.send(core, [sequence])
        second.send(core, [sequence])
    assert core.num_online_steps == 12

    def step_zero(sequence, episode):   # the first step of an episode that goes on
        return transition_to_bytes(transition_to_message(
            'actor_a', sequence, episode, 0, observation(0, episode), [0, 0, 0, 0], 0.0,
            state_names=STATE_NAMES))
    assert core.receive('actor_a', 6, step_zero(6, 2))[0] == NEW
    assert core.receive('actor_a', 7, step_zero(7, 3))[0] == NEW   # episode 2 was cut
    assert core.steps.incomplete_steps == 1 and core.num_online_steps == 12
    batch = core.online.sample(256)
    np.testing.assert_array_equal(batch.next_observations['state'][:, 0],
                                  batch.observations['state'][:, 0] + 1)


def test_a_transition_that_does_not_fit_is_acknowledged_but_not_stored(tmp_path):
    core, actor = fresh(tmp_path), FakeActor()
    actor.send(core, [0, 1, 2])
    other = FakeActor('actor_1', cameras=1)
    assert other.send(core, [0]) == [NEW]
    assert core.counters['rejected'] == 1 and core.acks()['actor_1'] == 1
    assert core.num_online_steps == 3


def train_until_checkpoint(core, actor, sequences):
    actor.send(core, sequences)
    assert core.ready()
    while not core.checkpoint_due():
        core.train_step()
    return core.checkpoint()


def assert_same_learner(first, second):
    assert first.agent.temperature == second.agent.temperature
    assert first.agent.num_actor_updates == second.agent.num_actor_updates
    for key, value in first.agent.state_dict().items():
        assert torch.equal(value, second.agent.state_dict()[key]), key
    assert first.online.state_equal(second.online)
    assert first.offline.state_equal(second.offline)
    assert first.tracker.next_expected == second.tracker.next_expected
    assert first.counters == second.counters


def test_resume_restores_agent_buffers_tracker_and_the_pending_step(tmp_path):
    core, actor = fresh(tmp_path), FakeActor()
    train_until_checkpoint(core, actor, range(7))   # step 6 is pending (its episode goes on)
    assert core.agent.temperature != AgentConfig().temperature_init
    resumed = new_core(tmp_path)
    assert resumed.resume() == 0
    assert_same_learner(core, resumed)
    for learner in (core, resumed):
        actor.send(learner, [7, 8])
    assert_same_learner(core, resumed)
    assert resumed.num_online_steps == 9


def test_after_a_crash_the_log_replays_what_came_since_the_checkpoint(tmp_path):
    core, actor = fresh(tmp_path), FakeActor()
    train_until_checkpoint(core, actor, range(6))
    actor.send(core, range(6, 11))
    acknowledged = core.acks()   # flushed: these are durable; then the process dies
    with open(os.path.join(tmp_path, WAL_FILE), 'ab') as stream:
        stream.write(b'\x05\x00torn record')   # a write cut short by the crash
    resumed = new_core(tmp_path)
    assert resumed.resume() == 5
    assert resumed.acks() == acknowledged == {'actor_0': 11}
    assert resumed.online.state_equal(core.online)
    assert resumed.offline.state_equal(core.offline)
    assert resumed.counters['transitions_received'] == 11
    assert actor.send(resumed, [9, 10, 11]) == [DUPLICATE, DUPLICATE, NEW]


def test_records_the_checkpoint_already_holds_are_skipped_on_replay(tmp_path):
    core, actor = fresh(tmp_path), FakeActor()
    actor.send(core, range(5))
    core.acks()
    wal_path = os.path.join(tmp_path, WAL_FILE)
    log_before = open(wal_path, 'rb').read()
    core.checkpoint()
    # A crash after the checkpoint's rename but before the log was cleared.
    with open(wal_path, 'wb') as stream:
        stream.write(log_before)
    resumed = new_core(tmp_path)
    assert resumed.resume() == 0
    assert resumed.tracker.duplicates == 5 and resumed.num_online_steps == 4
    assert resumed.online.state_equal(core.online)


def test_only_the_latest_checkpoint_is_kept_and_a_half_written_one_is_ignored(tmp_path):
    core, actor = fresh(tmp_path), FakeActor()
    actor.send(core, range(3))
    core.checkpoint()
    latest = core.checkpoint()
    os.makedirs(os.path.join(tmp_path, CHECKPOINTS_DIR, '.tmp-000099', 'agent'))
    assert sorted(os.listdir(os.path.join(tmp_path, CHECKPOINTS_DIR))) == [
        '.tmp-000099', os.path.basename(latest)]
    assert new_core(tmp_path).latest_checkpoint() == latest


def test_a_used_run_dir_needs_resume_and_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(LearnerError, match='holds no checkpoint'):
        new_core(tmp_path).resume()
    core = fresh(tmp_path)
    FakeActor().send(core, [0])
    with pytest.raises(LearnerError, match='resume:=true'):
        new_core(tmp_path).start_fresh()


def test_demonstrations_fill_the_offline_buffer_fit_the_normaliser_then_pretraining_runs(tmp_path):
    episodes = bags.write_dataset(str(tmp_path / 'demos'), num_episodes=2, steps=4,
                                  cameras=())
    core = new_core(tmp_path / 'run', offline_pretrain_updates=3)
    core.start_fresh([str(tmp_path / 'demos')])
    assert core.offline.num_steps_added == 8 and core.num_online_steps == 0
    states = np.concatenate([episode.states for episode in episodes])
    np.testing.assert_allclose(core.agent.normalizer.mean.numpy(), states.mean(0), atol=1e-5)
    assert core.latest_checkpoint() is not None
    assert core.state_names == list(bags.DEFAULT_STATE_NAMES)
    assert core.pretraining_left() == 3 and core.agent.num_critic_updates == 0
    core.pretrain_step()
    core.checkpoint()
    core.close()
    resumed = new_core(tmp_path / 'run', offline_pretrain_updates=3)
    resumed.resume()   # a stop during pretraining continues it, it does not start over
    assert resumed.pretraining_left() == 2
    while resumed.pretraining_left():
        resumed.pretrain_step()
    assert resumed.agent.num_critic_updates == 3 and resumed.counters['learner_steps'] == 0


def test_pretraining_runs_on_demonstrations_only_and_only_before_online_learning(tmp_path):
    """Interventions fill the demonstration buffer mid-run: they never start pretraining."""
    core, actor = fresh(tmp_path / 'no_demos', offline_pretrain_updates=5), FakeActor()
    actor.send(core, range(6))   # step 1 of each episode is the human's
    assert len(core.offline) > 0 and core.pretraining_left() == 0
    bags.write_dataset(str(tmp_path / 'demos'), num_episodes=1, steps=4, cameras=(),
                       state_names=STATE_NAMES)
    core = new_core(tmp_path / 'run', offline_pretrain_updates=5)
    core.start_fresh([str(tmp_path / 'demos')])
    assert core.pretraining_left() == 5
    core.pretrain_step()
    actor.send(core, range(6))
    while core.may_train() and core.counters['learner_steps'] < 2:
        core.train_step()
    assert core.counters['learner_steps'] == 2 and core.pretraining_left() == 0


def test_state_names_pick_the_run_layout_out_of_richer_demonstrations(tmp_path):
    """Demos recorded with the object position train a policy configured without it."""
    episodes = bags.write_dataset(str(tmp_path / 'demos'), num_episodes=1, steps=4,
                                  cameras=(), state_names=['s0', 'object.x', 's2'])
    core = new_core(tmp_path / 'run', state_names=['s2', 's0'])
    core.start_fresh([str(tmp_path / 'demos')])
    assert core.state_names == ['s2', 's0'] and core.agent.config.state_dim == 2
    np.testing.assert_allclose(core.agent.normalizer.mean.numpy(),
                               episodes[0].states[:, [2, 0]].mean(0), atol=1e-5)


def test_demonstrations_without_a_configured_state_entry_are_a_clear_error(tmp_path):
    bags.write_dataset(str(tmp_path / 'demos'), num_episodes=1, steps=2, cameras=(),
                       state_names=STATE_NAMES)
    core = new_core(tmp_path / 'run', state_names=['s0', 'object.x'])
    with pytest.raises(LearnerError, match=r"no state entries \['object.x'\]"):
        core.start_fresh([str(tmp_path / 'demos')])


def test_a_first_transition_of_another_state_layout_is_rejected(tmp_path):
    core = fresh(tmp_path, state_names=['s0', 's1'])
    assert FakeActor().send(core, [0]) == ['rejected'] and core.agent is None


def test_an_image_policy_on_a_random_frozen_encoder_is_refused_unless_allowed(tmp_path):
    bags.write_dataset(str(tmp_path / 'demos'), num_episodes=1, steps=2, cameras=('front',),
                       image_size=(32, 32), state_names=STATE_NAMES)
    refused = new_core(tmp_path / 'a', agent=AgentConfig(**TINY))
    with pytest.raises(LearnerConfigurationError, match='allow_random_encoder'):
        refused.start_fresh([str(tmp_path / 'demos')])
    # The first transition of an actor is no better: the error stops the learner.
    with pytest.raises(LearnerConfigurationError, match='frozen_weights_path is unset'):
        FakeActor(cameras=1, size=32).send(fresh(tmp_path / 'b'), [0])
    # A state-only policy needs no encoder; a CNN trained end to end needs no weights.
    assert FakeActor().send(fresh(tmp_path / 'c'), [0]) == ['new']
    cnn = fresh(tmp_path / 'd', agent=AgentConfig(image_encoder='cnn', **TINY))
    assert FakeActor(cameras=1).send(cnn, [0]) == ['new'] and cnn.agent is not None


def test_camera_demos_with_the_frozen_encoder_store_features_once_per_frame(tmp_path):
    bags.write_dataset(str(tmp_path / 'demos'), num_episodes=1, steps=3, cameras=('front',),
                       image_size=(32, 32), state_names=STATE_NAMES)
    agent = AgentConfig(image_encoder='frozen', allow_random_encoder=True, **TINY)
    core = new_core(tmp_path / 'run', agent=agent, batch_size=4)
    core.start_fresh([str(tmp_path / 'demos')])
    assert core.camera_names == ['front'] and core.offline.feature_shape == (1, 512)
    assert core.offline.image_shape is None and core.offline.num_steps_added == 3
    FakeActor(cameras=1, size=32).send(core, range(3))
    assert core.num_online_steps == 3 and np.isfinite(core.train_step()['critic_loss'])


@pytest.mark.parametrize('encoder, feature_shape', [('cnn', None), ('frozen', (2, 512))])
def test_camera_transitions_train_with_either_encoder(tmp_path, encoder, feature_shape):
    agent = AgentConfig(image_encoder=encoder, allow_random_encoder=True, **TINY)
    core = new_core(tmp_path, agent=agent, batch_size=4)
    core.start_fresh()
    actor = FakeActor(cameras=2)
    actor.send(core, range(6))
    assert core.camera_names == ['front', 'wrist'] and core.num_online_steps == 6
    assert core.online.feature_shape == feature_shape
    metrics = core.train_step()
    assert np.isfinite(metrics['critic_loss'])
    core.checkpoint()
    resumed = new_core(tmp_path, agent=agent)
    resumed.resume()
    assert resumed.online.state_equal(core.online)


@pytest.mark.parametrize('same_encoder', [True, False])
def test_actor_features_are_stored_only_from_the_same_frozen_encoder(tmp_path, same_encoder):
    agent = AgentConfig(image_encoder='frozen', allow_random_encoder=True, **TINY)
    lines = []
    core = new_core(tmp_path, agent=agent, batch_size=64, log=lines.append)
    core.start_fresh()
    FakeActor(cameras=1, size=32).send(core, [0])   # builds the agent: its fingerprint
    ours = core.agent.frozen_encoder.fingerprint()
    actor = FakeActor('actor_1', cameras=1, size=32,
                      features=(0.25, ours if same_encoder else 'f00d'))
    actor.send(core, range(6))
    stored = core.online.sample(64).observations['features'][:, 0]
    from_actor = (stored == 0.25).all(dim=1)    # actor_0's one step is still pending
    assert bool(from_actor.all()) == same_encoder and bool(from_actor.any()) == same_encoder
    assert any('another frozen encoder' in line for line in lines) != same_encoder
