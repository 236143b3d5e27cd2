"""Replay buffer: episode boundaries, ring overwrite, mixing, threads, persistence, size."""

import json
import os
import threading

from helpers import add_step, assert_consistent, frame, IMAGE_SHAPE
from hilserl_learning.replay_buffer import add_transition, ReplayBuffer, sample_mixed
from hilserl_learning.serialization import CheckpointError
import numpy as np
import pytest
import torch


def test_truncation_bootstraps_from_own_final_frame_termination_does_not():
    """Truncated: done = 0 and s' = that episode's final frame; terminated: done = 1."""
    buffer = ReplayBuffer(100, state_dim=2, action_dim=2)
    for step in range(3):
        add_step(buffer, 0, step, truncated=step == 2)
    for step in range(2):
        add_step(buffer, 1, step, terminated=step == 1)
    assert len(buffer) == 5 and buffer.num_rows == 7  # 5 steps + 2 final frames
    batch = buffer.sample(500)
    assert_consistent(batch)
    state = batch.observations['state']
    last_of_truncated = (state[:, 0] == 0) & (state[:, 1] == 2)
    last_of_terminated = (state[:, 0] == 1) & (state[:, 1] == 1)
    assert last_of_truncated.any() and last_of_terminated.any()
    assert (batch.terminated[last_of_truncated] == 0).all()
    assert batch.truncated[last_of_truncated].all()
    final_frame = batch.next_observations['state'][last_of_truncated][0]
    assert torch.equal(final_frame, torch.tensor([0.0, 3.0]))
    assert (batch.terminated[last_of_terminated] == 1).all()
    assert (batch.terminated[~last_of_terminated] == 0).all()


def test_new_episode_id_never_chains_onto_previous_frames():
    """An episode that ends without a flag (new id) keeps its own final frame as s'."""
    buffer = ReplayBuffer(50, state_dim=2, action_dim=2)
    for episode in range(3):
        for step in range(4):
            add_step(buffer, episode, step)  # no terminal flag at all
    assert len(buffer) == 12
    assert_consistent(buffer.sample(1000))


def test_most_recent_step_is_sampleable_and_overwritten_rows_are_not():
    """Only complete steps are sampled while the ring keeps overwriting the oldest rows."""
    buffer = ReplayBuffer(7, state_dim=2, action_dim=2, seed=3)
    for step in range(40):
        add_step(buffer, 0, step, truncated=step == 39)
        batch = buffer.sample(64)
        assert_consistent(batch)
        assert (batch.observations['state'][:, 1] > step - 7).all()  # old data is gone
        assert len(buffer) == min(step + 1, 6)
    rows = buffer._valid_rows[:len(buffer)]
    assert_consistent(buffer._gather(rows))


def test_mixed_batches_are_half_online_half_offline():
    """RLPD: exactly half of every batch comes from each buffer; an empty side is skipped."""
    online = ReplayBuffer(100, state_dim=2, action_dim=2)
    offline = ReplayBuffer(100, state_dim=2, action_dim=2)
    for step in range(10):
        add_step(offline, 1, step)
    only_offline = sample_mixed(online, offline, 64)
    assert (only_offline.observations['state'][:, 0] == 1).all()
    for step in range(10):
        add_step(online, 0, step)
    batch = sample_mixed(online, offline, 256)
    assert batch.rewards.shape == (256,)
    assert (batch.observations['state'][:, 0] == 0).sum() == 128
    assert (batch.observations['state'][:, 0] == 1).sum() == 128
    assert_consistent(batch)


def test_interventions_go_to_both_buffers_with_their_flag():
    """Intervention steps land in online and demo buffers; demo segments stay consistent."""
    online = ReplayBuffer(100, state_dim=2, action_dim=2)
    offline = ReplayBuffer(100, state_dim=2, action_dim=2)
    intervened = {1, 2, 4}
    for step in range(6):
        add_transition(online, offline, intervention=step in intervened,
                       observation=frame(7, step), action=np.array([7, step], np.float32),
                       reward=700 + step, next_observation=frame(7, step + 1),
                       terminated=step == 5, episode_id=7)
    assert len(online) == 6 and len(offline) == 3
    demo = offline.sample(300)
    assert_consistent(demo)
    assert set(demo.observations['state'][:, 1].tolist()) == {1.0, 2.0, 4.0}
    assert demo.interventions.all()
    live = online.sample(300)
    assert_consistent(live)
    steps = live.observations['state'][:, 1]
    flags = torch.tensor([s in intervened for s in steps.tolist()])
    assert torch.equal(live.interventions, flags)


def test_concurrent_add_and_sample():
    """A writer lapping a small ring while a reader samples: no errors, only complete steps."""
    buffer = ReplayBuffer(60, state_dim=2, action_dim=2, image_shape=IMAGE_SHAPE)
    add_step(buffer, 0, 0, images=True)
    errors, batches = [], [0]
    done = threading.Event()

    def writer():
        try:
            for episode in range(1, 400):
                for step in range(10):
                    add_step(buffer, episode, step, truncated=step == 9, images=True)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            done.set()

    def reader():
        try:
            while not done.is_set():
                assert_consistent(buffer.sample(32))
                batches[0] += 1
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
            done.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert batches[0] > 10
    assert buffer.num_steps_added == 1 + 399 * 10


def test_save_restore_equality(tmp_path):
    """A restored buffer equals the original, samples identically and continues identically."""
    buffer = ReplayBuffer(25, state_dim=2, action_dim=2, image_shape=IMAGE_SHAPE,
                          feature_shape=(2, 4), seed=5)
    for episode in range(4):
        for step in range(6):
            add_step(buffer, episode, step, truncated=step == 5 and episode != 3,
                     images=True, features=True)
    buffer.sample(10)  # advance the sampler's random state
    buffer.save(str(tmp_path))
    restored = ReplayBuffer.load(str(tmp_path))
    assert restored.state_equal(buffer)
    a, b = buffer.sample(50), restored.sample(50)
    assert torch.equal(a.indices, b.indices)
    assert torch.equal(a.next_observations['pixels'], b.next_observations['pixels'])
    for target in (buffer, restored):  # the open segment continues after a restart
        add_step(target, 3, 6, terminated=True, images=True, features=True)
    assert restored.state_equal(buffer)
    assert_consistent(restored.sample(100))


def test_restore_rejects_bad_version_and_shapes(tmp_path):
    """Unknown format versions and mismatching arrays raise CheckpointError."""
    buffer = ReplayBuffer(10, state_dim=2, action_dim=2)
    add_step(buffer, 0, 0)
    buffer.save(str(tmp_path))
    meta_path = os.path.join(str(tmp_path), 'replay.json')
    with open(meta_path) as stream:
        meta = json.load(stream)
    meta['state_dim'] = 3
    with open(meta_path, 'w') as stream:
        json.dump(meta, stream)
    with pytest.raises(CheckpointError, match="'state' has shape"):
        ReplayBuffer.load(str(tmp_path))
    meta['format_version'] = 999
    with open(meta_path, 'w') as stream:
        json.dump(meta, stream)
    with pytest.raises(CheckpointError, match='format_version 999'):
        ReplayBuffer.load(str(tmp_path))


def test_cached_features_stored_as_float16_returned_as_float32():
    """Feature cache halves storage and comes back as float32 for the networks."""
    buffer = ReplayBuffer(10, state_dim=2, action_dim=2, feature_shape=(2, 4))
    add_step(buffer, 0, 0, features=True)
    assert buffer._storage['features'].dtype == torch.float16
    batch = buffer.sample(4)
    assert batch.observations['features'].dtype == torch.float32
    assert 'pixels' not in batch.observations


def test_bytes_per_transition_two_cameras_128():
    """Frames stored once: 2 x 3 x 128 x 128 uint8 + state fits in 100 kB per row."""
    buffer = ReplayBuffer(64, state_dim=20, action_dim=4, image_shape=(2, 3, 128, 128))
    per_row = buffer.nbytes / buffer.capacity
    image_bytes = 2 * 3 * 128 * 128
    assert image_bytes < per_row < 100_000
    assert per_row < 1.01 * image_bytes  # no second (next-observation) copy


def test_errors_are_clear():
    """Sampling an empty buffer and adding an incomplete observation fail loudly."""
    buffer = ReplayBuffer(10, state_dim=2, action_dim=2, image_shape=IMAGE_SHAPE)
    with pytest.raises(ValueError, match='no complete step'):
        buffer.sample(1)
    with pytest.raises(KeyError, match='pixels'):
        add_step(buffer, 0, 0)


def test_sample_regathers_under_lock_when_rows_change_during_gather():
    """A write that laps the drawn rows mid-gather is detected and the batch redone."""
    buffer = ReplayBuffer(6, state_dim=2, action_dim=2, seed=0)
    for step in range(5):
        add_step(buffer, 0, step)
    unlocked_gather = buffer._gather
    calls = []

    def gather_while_writer_laps(rows, copies=None):
        calls.append(rows)
        if len(calls) == 1:  # simulate the writer thread running during the unlocked gather
            for step in range(5, 11):
                add_step(buffer, 0, step)
        return unlocked_gather(rows, copies)

    buffer._gather = gather_while_writer_laps
    batch = buffer.sample(64)
    assert buffer.num_locked_regathers == 1 and len(calls) == 2
    assert_consistent(batch)
    assert (batch.observations['state'][:, 1] >= 6).all()  # only rows that exist now


def test_touched_rows_detection():
    """Rows written after the draw (and their predecessors' successors) count as touched."""
    buffer = ReplayBuffer(20, state_dim=2, action_dim=2)
    for step in range(10):
        add_step(buffer, 0, step)  # rows 0..10 hold frames 0..10, row 10 is the open row
    written_before = buffer._rows_written
    add_step(buffer, 0, 10)  # writes the step into row 10 and frame 11 into row 11
    assert buffer._touched_since(np.array([9]), written_before)  # successor row 10 rewritten
    assert buffer._touched_since(np.array([10]), written_before)
    assert not buffer._touched_since(np.array([0, 5, 8]), written_before)
    assert not buffer._touched_since(np.array([3]), buffer._rows_written)
    for step in range(11, 40):
        add_step(buffer, 0, step)
    assert buffer._touched_since(np.array([3]), written_before)  # the ring wrapped
