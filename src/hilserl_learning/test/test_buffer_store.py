"""Append-only buffer snapshots: only dirty chunks written, shared stores, crashes, checksums."""

import json
import os

from helpers import add_step, assert_consistent, IMAGE_SHAPE
from hilserl_learning import buffer_store
from hilserl_learning.buffer_store import rows_per_chunk
from hilserl_learning.replay_buffer import ReplayBuffer
from hilserl_learning.serialization import CheckpointError, save_tensors
import pytest
import torch


def chunk_files(store):
    """Return {name: (size, mtime_ns)} of the store's chunk files."""
    return {name: (os.path.getsize(os.path.join(store, name)),
                   os.stat(os.path.join(store, name)).st_mtime_ns)
            for name in os.listdir(store) if name.startswith('chunk-')}


def episode_buffer(capacity=40, chunk_rows=4, steps=19, images=False):
    """Return a buffer holding one open episode of `steps` steps (steps + 1 rows)."""
    buffer = ReplayBuffer(capacity, state_dim=2, action_dim=2, seed=3, chunk_rows=chunk_rows,
                          image_shape=IMAGE_SHAPE if images else None)
    for step in range(steps):
        add_step(buffer, 0, step, images=images)
    return buffer


def test_chunks_hold_about_16_mib():
    """Two 128x128 cameras: ~170 rows per chunk; a 112-byte state row: ~150,000."""
    assert rows_per_chunk(2 * 3 * 128 * 128 + 112) == 170
    assert rows_per_chunk(112) == 149796
    assert rows_per_chunk(10 ** 9) == 1


def test_a_second_save_writes_only_the_chunks_written_to_since(tmp_path):
    store = str(tmp_path)
    buffer = episode_buffer(images=True)
    buffer.save(store)
    first = chunk_files(store)
    assert sorted(first) == [f'chunk-{c:06d}-00000001.safetensors' for c in range(5)]

    add_step(buffer, 0, 19, images=True)   # the step goes in row 19, its next frame in row 20
    buffer.save(store)
    second = chunk_files(store)
    unchanged = [f'chunk-{c:06d}-00000001.safetensors' for c in range(4)]
    assert sorted(second) == unchanged + ['chunk-000004-00000002.safetensors',
                                          'chunk-000005-00000002.safetensors']
    assert all(second[name] == first[name] for name in unchanged)   # same bytes, same mtime
    with open(os.path.join(store, 'replay.json')) as stream:
        assert json.load(stream)['chunk_index']['generation'] == 2

    restored = ReplayBuffer.load(store)
    assert restored.state_equal(buffer)
    assert_consistent(restored.sample(64))


def test_a_save_with_nothing_new_writes_no_chunk(tmp_path):
    buffer = episode_buffer()
    buffer.save(str(tmp_path))
    before = chunk_files(str(tmp_path))
    buffer.sample(8)   # sampling changes the sampler's state, not the rows
    buffer.save(str(tmp_path))
    assert chunk_files(str(tmp_path)) == before
    assert ReplayBuffer.load(str(tmp_path)).state_equal(buffer)


def test_snapshots_share_a_store_and_each_loads_until_pruned(tmp_path):
    store, first, second = (str(tmp_path / name) for name in ('store', 'first', 'second'))
    buffer = episode_buffer()
    buffer.save(first, store)
    as_first = ReplayBuffer.load(first)
    for step in range(19, 30):
        add_step(buffer, 0, step, truncated=step == 29)
    buffer.save(second, store)
    assert sorted(os.listdir(first)) == ['replay.json', 'valid_rows.safetensors']
    assert ReplayBuffer.load(first).state_equal(as_first)   # both snapshots load
    assert ReplayBuffer.load(second).state_equal(buffer)
    removed = buffer.prune_store()
    assert removed == ['chunk-000004-00000001.safetensors']   # replaced by generation 2
    assert ReplayBuffer.load(second).state_equal(buffer)


def test_resumed_buffer_keeps_saving_incrementally_through_ring_wraps(tmp_path):
    """Load, add, save, load again: equal every time, also once the ring overwrites rows."""
    store = str(tmp_path / 'store')
    buffer = ReplayBuffer(10, state_dim=2, action_dim=2, seed=1, chunk_rows=4)
    for episode in range(8):
        for step in range(3):
            add_step(buffer, episode, step, truncated=step == 2)
        snapshot = str(tmp_path / f'snapshot{episode}')
        buffer.save(snapshot, store)
        buffer.prune_store()
        buffer = ReplayBuffer.load(snapshot)
        assert len(chunk_files(store)) == min(episode + 1, 3)   # rows 0-3, 4-7, 8-9
    assert buffer.num_steps_added == 24 and buffer.num_rows == 10
    assert_consistent(buffer.sample(50))


def test_a_crash_mid_save_leaves_the_previous_snapshot_loadable(tmp_path, monkeypatch):
    store, first, second = (str(tmp_path / name) for name in ('store', 'first', 'second'))
    buffer = episode_buffer(steps=10)
    buffer.save(first, store)
    as_first = ReplayBuffer.load(first)
    for step in range(10, 30):
        add_step(buffer, 0, step)
    real_save_file, calls = buffer_store.save_file, []

    def failing_save_file(tensors, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError('disk full')
        real_save_file(tensors, path)

    monkeypatch.setattr(buffer_store, 'save_file', failing_save_file)
    with pytest.raises(OSError, match='disk full'):
        buffer.save(second, store)
    assert not os.path.exists(os.path.join(second, 'replay.json'))
    assert ReplayBuffer.load(first).state_equal(as_first)

    monkeypatch.setattr(buffer_store, 'save_file', real_save_file)
    buffer.save(second, store)   # the retry writes every chunk the failed save did not commit
    buffer.prune_store()
    assert ReplayBuffer.load(second).state_equal(buffer)


def test_an_altered_chunk_fails_its_checksum(tmp_path):
    buffer = episode_buffer()
    buffer.save(str(tmp_path))
    path = os.path.join(str(tmp_path), 'chunk-000002-00000001.safetensors')
    with open(path, 'r+b') as stream:   # the last bytes are tensor data, not the header
        stream.seek(-1, os.SEEK_END)
        last = stream.read(1)
        stream.seek(-1, os.SEEK_END)
        stream.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(CheckpointError, match='chunk-000002-00000001.safetensors: checksum'):
        ReplayBuffer.load(str(tmp_path))
    os.remove(path)
    with pytest.raises(CheckpointError, match='chunk-000002-00000001.safetensors'):
        ReplayBuffer.load(str(tmp_path))


def test_a_single_file_snapshot_of_an_earlier_version_loads(tmp_path):
    """replay.safetensors + replay.json without a chunk index; the next save writes all."""
    buffer = episode_buffer()
    buffer.save(str(tmp_path / 'new'))
    with open(tmp_path / 'new' / 'replay.json') as stream:
        meta = json.load(stream)
    del meta['chunk_index'], meta['store']
    legacy = tmp_path / 'legacy'
    legacy.mkdir()
    with open(legacy / 'replay.json', 'w') as stream:
        json.dump(meta, stream)
    rows = buffer.num_rows
    tensors = {key: value[:rows] for key, value in buffer._storage.items()}
    tensors['valid_rows'] = torch.from_numpy(buffer._valid_rows[:len(buffer)].copy())
    save_tensors(str(legacy / 'replay.safetensors'), tensors)
    restored = ReplayBuffer.load(str(legacy))
    assert restored.state_equal(buffer)
    restored.save(str(tmp_path / 'again'))   # default chunks (~16 MiB): all 20 rows in one
    assert list(chunk_files(str(tmp_path / 'again'))) == ['chunk-000000-00000001.safetensors']
    assert ReplayBuffer.load(str(tmp_path / 'again')).state_equal(buffer)
