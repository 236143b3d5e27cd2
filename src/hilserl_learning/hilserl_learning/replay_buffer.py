"""
Frame-once replay buffer with explicit episode boundaries, and RLPD-style mixing.

Storage layout
--------------
A fixed-capacity ring of *rows*. Every row holds one observation (state, uint8 images and/or
cached encoder features); a row that is also a step holds the action taken from that
observation plus reward and flags. The next observation of the step in row i is the
observation in row i + 1 (mod capacity), so every frame is stored exactly once. An episode
(or any contiguous *segment* of one) of T steps takes T + 1 rows: its last row holds the final
observation and is never sampled as a step itself. Hence

* a time-limit truncation (terminated = 0) bootstraps from that episode's own final frame,
* a termination (terminated = 1) does not bootstrap at all, and
* no step ever reads the next episode's first frame: that frame lives in a later row.

A row is *sampleable* only while its successor row holds its own next observation; rows are
invalidated the moment the ring claims them for overwriting. Sampleable rows are kept in a
dense index array (swap-remove), so add and uniform sampling are both O(1).

Threads
-------
One thread may add while another samples. ``add`` holds the lock for the whole (small) write.
``sample`` draws row indices under the lock and gathers the tensors *outside* it, then
re-takes the lock and checks the monotone write counter: if any row the batch read (a step
row or its successor) was claimed or written meanwhile, the batch is discarded and re-drawn
and gathered entirely under the lock. That case needs the writer to lap the sampled rows
within one gather, so in practice the lock is held only for index bookkeeping.

Persistence
-----------
``save`` writes the rows in chunks to a store that successive snapshots share, only those
written since the previous save (``buffer_store``); ``load`` reads a snapshot back exactly.
"""

import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .batch import Batch
from .buffer_store import (ChunkTable, read_snapshot_meta, read_snapshot_rows, rows_per_chunk,
                           write_snapshot)
from .serialization import CheckpointError

ArrayDict = Dict[str, Any]
STEP_FIELDS = ('action', 'reward', 'terminated', 'truncated', 'intervention',
               'gripper_toggled', 'episode_id')
# Bookkeeping a snapshot holds, saved from and restored to the attributes '_' + name.
COUNTERS = ('rows_written', 'num_valid', 'num_steps_added', 'open_row', 'open_episode',
            'next_episode_id')


class ReplayBuffer:
    """Fixed-capacity ring of frames and steps; see the module docstring for the layout."""

    def __init__(self, capacity: int, state_dim: int, action_dim: int,
                 image_shape: Optional[Sequence[int]] = None,
                 feature_shape: Optional[Sequence[int]] = None,
                 feature_dtype: torch.dtype = torch.float16, seed: int = 0,
                 chunk_rows: Optional[int] = None, feature_copies: int = 1) -> None:
        """
        Allocate storage for `capacity` rows (pixels and features: memory taken as rows fill).

        image_shape is (N, C, H, W) for N uint8 cameras; feature_shape is (N, F) for cached
        per-frame encoder features stored in `feature_dtype`. Either, both or neither.
        feature_copies k > 1: each frame has k feature versions [k, N, F] (``feature_cache``);
        a sampled observation reads one, drawn uniformly.
        chunk_rows: rows per saved chunk (default: about buffer_store.CHUNK_BYTES of rows).
        """
        if capacity < 2:
            raise ValueError('capacity must be at least 2')
        self.capacity = capacity
        self.state_dim = state_dim
        self.action_dim = action_dim
        self.image_shape = tuple(image_shape) if image_shape else None
        self.feature_shape = tuple(feature_shape) if feature_shape else None
        self.feature_dtype = feature_dtype
        self.feature_copies = int(feature_copies)
        self._storage = {key: (torch.empty if key in ('pixels', 'features') else torch.zeros)(
            shape, dtype=dtype) for key, (shape, dtype) in self._layout().items()}
        self.observation_keys = tuple(k for k in ('state', 'pixels', 'features')
                                      if k in self._storage)
        self._valid_rows = np.zeros(capacity, dtype=np.int64)  # dense list of sampleable rows
        self._valid_slot = np.full(capacity, -1, dtype=np.int64)  # row -> position in that list
        self._num_valid = 0
        self._rows_written = 0  # monotone; the ring's head row is _rows_written % capacity
        self._num_steps_added = 0
        self._open_row: Optional[int] = None  # row holding the open segment's latest frame
        self._open_episode: Optional[int] = None
        self._next_episode_id = 0
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self.num_locked_regathers = 0
        # Rows written since the last save, by chunk: a save writes only those (buffer_store).
        self._chunks = ChunkTable(chunk_rows or rows_per_chunk(
            sum(value[0].numel() * value.element_size() for value in self._storage.values())))

    def _layout(self) -> Dict[str, Tuple[Tuple[int, ...], torch.dtype]]:
        """Return the shape and dtype of every stored field."""
        c = self.capacity
        layout = {'state': ((c, self.state_dim), torch.float32)}
        if self.image_shape:
            layout['pixels'] = ((c, *self.image_shape), torch.uint8)
        if self.feature_shape:
            copies = (self.feature_copies,) if self.feature_copies > 1 else ()
            layout['features'] = ((c, *copies, *self.feature_shape), self.feature_dtype)
        layout.update({
            'action': ((c, self.action_dim), torch.float32),
            'reward': ((c,), torch.float32),
            'terminated': ((c,), torch.bool),
            'truncated': ((c,), torch.bool),
            'intervention': ((c,), torch.bool),
            'gripper_toggled': ((c,), torch.bool),
            'episode_id': ((c,), torch.int64),
        })
        return layout

    # --- sizes -------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Return the number of sampleable steps."""
        return self._num_valid

    @property
    def num_rows(self) -> int:
        """Return the number of rows holding data (steps plus final frames)."""
        return min(self._rows_written, self.capacity)

    @property
    def num_steps_added(self) -> int:
        """Return the number of steps ever added (including overwritten ones)."""
        return self._num_steps_added

    @property
    def nbytes(self) -> int:
        """Return the bytes of all storage, including index bookkeeping."""
        return (sum(t.numel() * t.element_size() for t in self._storage.values())
                + self._valid_rows.nbytes + self._valid_slot.nbytes)

    def states(self) -> Tensor:
        """Return a copy of every stored state (e.g. to fit the normaliser on demonstrations)."""
        with self._lock:
            return self._storage['state'][:self.num_rows].clone()

    # --- adding ------------------------------------------------------------------------------
    def add(self, observation: ArrayDict, action: Any, reward: float, next_observation: ArrayDict,
            terminated: bool, truncated: bool = False, intervention: bool = False,
            gripper_toggled: bool = False, episode_id: Optional[int] = None) -> None:
        """
        Add one step (s, a, r, s').

        If the step continues the open segment (same episode, previous step did not end it),
        `observation` is the frame already stored as the previous step's next observation and
        is not stored again. terminated or truncated ends the segment; a different episode_id
        or `close_segment` starts a new one.
        """
        frame = self._to_frame(observation)  # conversions happen outside the lock
        next_frame = self._to_frame(next_observation)
        step = {'action': torch.as_tensor(np.asarray(action, dtype=np.float32)),
                'reward': float(reward), 'terminated': bool(terminated),
                'truncated': bool(truncated), 'intervention': bool(intervention),
                'gripper_toggled': bool(gripper_toggled)}
        with self._lock:
            continuing = self._open_row is not None and (
                episode_id is None or episode_id == self._open_episode)
            if continuing:
                row = self._open_row
            else:
                if episode_id is None:
                    episode_id = self._next_episode_id
                self._next_episode_id = max(self._next_episode_id, episode_id + 1)
                row = self._claim_row()
                self._write_frame(row, frame, episode_id)
            episode_id = self._open_episode if continuing else episode_id
            next_row = self._claim_row()
            self._write_frame(next_row, next_frame, episode_id)
            for key, value in step.items():
                self._storage[key][row] = value
            self._chunks.mark(row)
            self._mark_valid(row)
            self._num_steps_added += 1
            ended = step['terminated'] or step['truncated']
            self._open_row = None if ended else next_row
            self._open_episode = None if ended else episode_id

    def close_segment(self) -> None:
        """End the open segment: the next `add` stores its observation as a new first frame."""
        with self._lock:
            self._open_row = None
            self._open_episode = None

    def _to_frame(self, observation: ArrayDict) -> Dict[str, Tensor]:
        """Convert one observation's arrays to tensors of the stored dtypes."""
        missing = [k for k in self.observation_keys if k not in observation]
        if missing:
            raise KeyError(f'observation lacks {missing}')
        frame = {}
        for key in self.observation_keys:
            value = torch.as_tensor(np.asarray(observation[key]), dtype=self._storage[key].dtype)
            if value.shape != self._storage[key].shape[1:]:
                raise ValueError(f'observation {key!r} has shape {tuple(value.shape)}, '
                                 f'expected {tuple(self._storage[key].shape[1:])}')
            frame[key] = value
        return frame

    def _claim_row(self) -> int:
        """Take the ring's head row for new data, making it (and its old step) unsampleable."""
        row = self._rows_written % self.capacity
        self._mark_invalid(row)
        self._rows_written += 1
        return row

    def _write_frame(self, row: int, frame: Dict[str, Tensor], episode_id: int) -> None:
        """Store an observation in `row` (it carries no step until one is written there)."""
        for key, value in frame.items():
            self._storage[key][row] = value
        self._storage['episode_id'][row] = episode_id
        self._chunks.mark(row)

    def _mark_valid(self, row: int) -> None:
        """Append `row` to the dense list of sampleable rows."""
        self._valid_slot[row] = self._num_valid
        self._valid_rows[self._num_valid] = row
        self._num_valid += 1

    def _mark_invalid(self, row: int) -> None:
        """Remove `row` from the sampleable list (swap with the last entry), if present."""
        slot = self._valid_slot[row]
        if slot < 0:
            return
        last_row = self._valid_rows[self._num_valid - 1]
        self._valid_rows[slot] = last_row
        self._valid_slot[last_row] = slot
        self._valid_slot[row] = -1
        self._num_valid -= 1

    # --- sampling ----------------------------------------------------------------------------
    def sample(self, batch_size: int) -> Batch:
        """Return `batch_size` steps drawn uniformly (with replacement) from sampleable rows."""
        with self._lock:
            rows = self._draw_rows(batch_size)
            k = self.feature_copies if self.feature_shape else 1
            copies = None if k == 1 else torch.from_numpy(
                self._rng.integers(k, size=(2, batch_size)))
            written_before = self._rows_written
        batch = self._gather(rows, copies)
        with self._lock:
            if not self._touched_since(rows, written_before):
                return batch
            self.num_locked_regathers += 1
            return self._gather(self._draw_rows(batch_size), copies)

    def _draw_rows(self, batch_size: int) -> np.ndarray:
        """Draw row indices uniformly from the sampleable list (caller holds the lock)."""
        if self._num_valid == 0:
            raise ValueError('cannot sample from a replay buffer with no complete step')
        return self._valid_rows[self._rng.integers(self._num_valid, size=batch_size)]

    def _touched_since(self, rows: np.ndarray, written_before: int) -> bool:
        """
        Say whether a row of the batch (step or successor) may have changed since the draw.

        Writes since then touched the rows claimed in between, plus the step fields of the row
        that was the ring's newest at draw time: (written_before - 1 + k) % capacity for
        k = 0 .. (rows_written - written_before).
        """
        num_claimed = self._rows_written - written_before
        if num_claimed == 0:
            return False
        span = num_claimed + 1
        if span >= self.capacity:
            return True
        start = written_before - 1
        read = np.concatenate([rows, (rows + 1) % self.capacity])
        return bool(np.any((read - start) % self.capacity < span))

    def _gather(self, rows: np.ndarray, copies: Optional[Tensor] = None) -> Batch:
        """Copy the steps in `rows` and their successor frames into a Batch (copies: [2, B])."""
        index = torch.from_numpy(rows)
        next_index = (index + 1) % self.capacity
        storage = self._storage

        def frames(at: Tensor, copy: Optional[Tensor]) -> Dict[str, Tensor]:
            out = {key: storage[key].index_select(0, at) if key != 'features' or copy is None
                   else storage[key][at, copy] for key in self.observation_keys}
            if 'features' in out:
                out['features'] = out['features'].to(torch.float32)
            return out

        return Batch(
            observations=frames(index, None if copies is None else copies[0]),
            actions=storage['action'].index_select(0, index),
            rewards=storage['reward'].index_select(0, index),
            next_observations=frames(next_index, None if copies is None else copies[1]),
            terminated=storage['terminated'].index_select(0, index).to(torch.float32),
            truncated=storage['truncated'].index_select(0, index),
            interventions=storage['intervention'].index_select(0, index),
            gripper_toggled=storage['gripper_toggled'].index_select(0, index),
            indices=index)

    # --- persistence -------------------------------------------------------------------------
    def save(self, directory: str, store: Optional[str] = None) -> None:
        """
        Write a snapshot to `directory`: replay.json, valid_rows.safetensors, row chunks.

        The row chunks go to `store` (default: `directory` itself). Saving again to the same
        store writes only the chunks whose rows were written since (buffer_store): snapshots
        in other directories may share one store, and each stays loadable until
        :meth:`prune_store` runs after a newer one is committed. Holds the lock while
        writing, so a concurrent `add` waits until the snapshot is done.
        """
        with self._lock:
            write_snapshot(directory, store, self._storage, self.num_rows,
                           self._valid_rows[:self._num_valid], self._chunks, {
                               'capacity': self.capacity, 'state_dim': self.state_dim,
                               'action_dim': self.action_dim, 'image_shape': self.image_shape,
                               'feature_shape': self.feature_shape,
                               'feature_dtype': str(self.feature_dtype).replace('torch.', ''),
                               'feature_copies': self.feature_copies,
                               'rng_state': self._rng.bit_generator.state,
                               **{name: getattr(self, '_' + name) for name in COUNTERS}})

    def prune_store(self) -> List[str]:
        """Delete the store's chunk files the last save no longer names; return their names."""
        with self._lock:
            return self._chunks.prune()

    @classmethod
    def load(cls, directory: str) -> 'ReplayBuffer':
        """Restore a buffer written by `save`; raise CheckpointError if it does not fit."""
        meta = read_snapshot_meta(directory)
        try:
            buffer = cls(meta['capacity'], meta['state_dim'], meta['action_dim'],
                         meta['image_shape'], meta['feature_shape'],
                         getattr(torch, meta['feature_dtype']),
                         feature_copies=meta.get('feature_copies', 1))
            rows = min(meta['rows_written'], buffer.capacity)
            num_valid = meta['num_valid']
            buffer._chunks, valid_rows = read_snapshot_rows(
                directory, meta, buffer._storage, rows, num_valid, buffer._chunks)
            buffer._valid_rows[:num_valid] = valid_rows
            buffer._valid_slot[valid_rows] = np.arange(num_valid)
            for name in COUNTERS:
                setattr(buffer, '_' + name, meta[name])
            buffer._rng.bit_generator.state = meta['rng_state']
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise CheckpointError(f'{directory}: malformed snapshot ({error!r})') from error
        return buffer

    def state_equal(self, other: 'ReplayBuffer') -> bool:
        """Say whether two buffers hold identical data, bookkeeping and sampling order."""
        same_meta = (self.capacity, self._rows_written, self._num_valid, self._open_row,
                     self._open_episode, self._num_steps_added) == (
            other.capacity, other._rows_written, other._num_valid, other._open_row,
            other._open_episode, other._num_steps_added)
        rows = self.num_rows
        return (same_meta and self._storage.keys() == other._storage.keys()
                and all(torch.equal(v[:rows], other._storage[k][:rows])
                        for k, v in self._storage.items())
                and np.array_equal(self._valid_rows[:self._num_valid],
                                   other._valid_rows[:other._num_valid])
                and self._rng.bit_generator.state == other._rng.bit_generator.state)


def add_transition(online: ReplayBuffer, offline: ReplayBuffer, *, intervention: bool,
                   **step: Any) -> None:
    """
    Route one step to the online buffer, and also to the demonstration buffer if intervened.

    This is HIL-SERL's rule for human interventions; both copies keep the intervention flag.
    A non-intervention step closes the demonstration buffer's open segment, so the next
    intervention starts a fresh segment there instead of chaining onto an unrelated frame.
    """
    online.add(intervention=intervention, **step)
    if intervention:
        offline.add(intervention=True, **step)
    else:
        offline.close_segment()


def sample_mixed(online: ReplayBuffer, offline: ReplayBuffer, batch_size: int) -> Batch:
    """
    Return a batch drawn half from the online and half from the offline buffer (RLPD).

    If one buffer has no complete step yet, the whole batch comes from the other.
    """
    parts: List[Tuple[ReplayBuffer, int]]
    if len(online) == 0:
        parts = [(offline, batch_size)]
    elif len(offline) == 0:
        parts = [(online, batch_size)]
    else:
        parts = [(online, batch_size - batch_size // 2), (offline, batch_size // 2)]
    return Batch.concatenate([buffer.sample(n) for buffer, n in parts])
