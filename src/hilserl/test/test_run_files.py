"""A learner's checkpoints share the buffers' chunk stores: incremental, crash-safe, checked."""

import os

from hilserl_learning import buffer_store
import pytest
from test_learner_core import FakeActor, fresh, new_core

from hilserl.learner.core import CHECKPOINTS_DIR, LearnerError
from hilserl.learner.run_files import BUFFERS_DIR


@pytest.fixture
def four_row_chunks(monkeypatch):
    """Chunks of 4 rows of the tests' state-only buffers (44 bytes a row)."""
    monkeypatch.setattr(buffer_store, 'CHUNK_BYTES', 4 * 44)


def online_store(run_dir):
    """Return {chunk file: (size, mtime_ns)} of the online buffer's store."""
    store = os.path.join(run_dir, BUFFERS_DIR, 'online')
    return {name: (os.path.getsize(os.path.join(store, name)),
                   os.stat(os.path.join(store, name)).st_mtime_ns)
            for name in os.listdir(store)}


def test_a_checkpoint_writes_only_the_chunks_of_new_rows(tmp_path, four_row_chunks):
    core, actor = fresh(tmp_path), FakeActor()
    actor.send(core, range(6))          # two episodes of 3 steps: 8 rows
    core.checkpoint()
    before = online_store(str(tmp_path))
    assert sorted(before) == ['chunk-000000-00000002.safetensors',
                              'chunk-000001-00000002.safetensors']
    actor.send(core, range(6, 9))       # a third episode: rows 8-11
    latest = core.checkpoint()
    after = online_store(str(tmp_path))
    assert sorted(after) == sorted(before) + ['chunk-000002-00000003.safetensors']
    assert all(after[name] == before[name] for name in before)   # not rewritten
    assert os.listdir(os.path.join(tmp_path, CHECKPOINTS_DIR)) == [os.path.basename(latest)]

    resumed = new_core(tmp_path)
    assert resumed.resume() == 0
    assert resumed.online.state_equal(core.online)
    assert resumed.offline.state_equal(core.offline)


def test_a_crash_mid_checkpoint_resumes_from_the_previous_one_and_the_log(
        tmp_path, monkeypatch, four_row_chunks):
    core, actor = fresh(tmp_path), FakeActor()
    actor.send(core, range(6))
    previous = core.checkpoint()
    actor.send(core, range(6, 12))
    core.acks()

    def crash(tensors, path):
        raise OSError('killed mid-save')

    monkeypatch.setattr(buffer_store, 'save_file', crash)
    with pytest.raises(OSError, match='killed mid-save'):
        core.checkpoint()
    resumed = new_core(tmp_path)
    assert resumed.latest_checkpoint() == previous
    assert resumed.resume() == 6
    assert resumed.online.state_equal(core.online)
    assert resumed.offline.state_equal(core.offline)


def test_a_damaged_chunk_stops_resume_with_a_clear_error(tmp_path):
    core = fresh(tmp_path)
    FakeActor().send(core, range(3))
    latest = core.checkpoint()
    store = os.path.join(tmp_path, BUFFERS_DIR, 'online')
    [name] = os.listdir(store)
    with open(os.path.join(store, name), 'r+b') as stream:   # flip the last data byte
        stream.seek(-1, os.SEEK_END)
        last = stream.read(1)[0]
        stream.seek(-1, os.SEEK_END)
        stream.write(bytes([last ^ 0xFF]))
    with pytest.raises(LearnerError, match=f'cannot resume from {latest}: .*{name}: checksum'):
        new_core(tmp_path).resume()
