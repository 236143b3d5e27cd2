"""
Append-only storage of replay-buffer snapshots: a save writes only the rows changed since.

Chunks
------
A buffer's rows are cut into *chunks* of ``chunk_rows`` consecutive rows (about
``CHUNK_BYTES`` each). They live in a *store* directory that successive snapshots share, one
safetensors file per chunk and version: ``chunk-CCCCCC-GGGGGGGG.safetensors`` holds every
field of chunk C's filled rows as save number (*generation*) G wrote them. The buffer marks a
chunk *dirty* whenever it writes one of its rows; a save to the same store writes only the
dirty chunks, under the next generation, and keeps naming the files of the others. A save to
another store (or the first one) writes every chunk.

A snapshot directory holds ``replay.json`` (the buffer's shape, counters, sampler state, the
store's path relative to the snapshot, and the chunk index: per chunk its file, row count and
CRC-32 over its tensors' bytes) and ``valid_rows.safetensors`` (the sampleable rows in
sampling order). The JSON is written last, atomically (temporary file, rename).

Crash safety
------------
New chunk files never replace a file a committed snapshot names: the generation in the name
is new. Until the new snapshot's JSON is in place, the previous snapshot names only intact
files and stays loadable. :meth:`ChunkTable.prune` deletes the files no snapshot of the
current generation names; call it only once the new snapshot is committed (``save`` does so
itself when the store is the snapshot directory). A torn or altered chunk fails its CRC on
load with a :class:`CheckpointError` naming the file. The chunk files a save writes, and
then the store directory (their names), are fsynced before the snapshot's JSON is renamed
into place: a power cut after that rename cannot leave it naming chunks that are missing or
not on disk. The snapshot's own small files (JSON, valid rows) are flushed with the rest of
the checkpoint directory by whoever renames it into place (the learner's RunFiles).
"""

import os
import re
from typing import Any, Dict, List, Optional, Set, Tuple
import zlib

import numpy as np
from safetensors.torch import save_file
import torch
from torch import Tensor

from .serialization import (check_format_version, check_tensor_shapes, CheckpointError,
                            FORMAT_VERSION, fsync_directory, fsync_file, load_tensors,
                            read_json,
                            save_tensors, write_json)

CHUNK_BYTES = 16 * 2 ** 20
SNAPSHOT_FILE = 'replay.json'
VALID_ROWS_FILE = 'valid_rows.safetensors'
LEGACY_TENSORS_FILE = 'replay.safetensors'   # the single-file snapshots of earlier versions
CHUNK_NAME = re.compile(r'chunk-\d{6,}-\d{8,}\.safetensors')


def rows_per_chunk(row_bytes: int, target_bytes: Optional[int] = None) -> int:
    """Return how many rows of `row_bytes` bytes make a chunk of about `target_bytes`."""
    return max(1, (target_bytes or CHUNK_BYTES) // max(1, row_bytes))


def tensors_crc32(tensors: Dict[str, Tensor]) -> int:
    """Return the CRC-32 of the tensors' raw bytes, in the order of their sorted names."""
    crc = 0
    for name in sorted(tensors):
        data = tensors[name].contiguous().reshape(-1).view(torch.uint8).numpy()
        crc = zlib.crc32(data, crc)
    return crc


class ChunkTable:
    """Which chunk file holds each chunk of a buffer's rows, and which chunks changed since."""

    def __init__(self, chunk_rows: int) -> None:
        """Start with no chunk saved: the first save writes them all."""
        if chunk_rows < 1:
            raise ValueError('chunk_rows must be at least 1')
        self.chunk_rows = chunk_rows
        self.store: Optional[str] = None    # real path of the store `entries` live in
        self.generation = 0
        self.entries: List[Dict[str, Any]] = []   # per chunk: file, rows, crc32
        self.dirty: Set[int] = set()

    def mark(self, row: int) -> None:
        """Note that `row` was written: its chunk goes into the next save."""
        self.dirty.add(row // self.chunk_rows)

    def save(self, store: str, tensors: Dict[str, Tensor], num_rows: int) -> Dict[str, Any]:
        """
        Write the dirty chunks of rows ``[0, num_rows)`` to `store`; return the chunk index.

        Every chunk is written if `store` is not the one the last save wrote to. The
        written files and then the store directory are fsynced before this returns. The
        table changes only once every file is written: after an error, the next save writes
        the same chunks again.
        """
        os.makedirs(store, exist_ok=True)
        same_store = os.path.realpath(store) == self.store
        generation = self.generation + 1
        entries = list(self.entries) if same_store else []
        written = []
        for chunk in range(-(-num_rows // self.chunk_rows)):
            start = chunk * self.chunk_rows
            rows = min(num_rows, start + self.chunk_rows) - start
            if (chunk < len(entries) and chunk not in self.dirty
                    and entries[chunk]['rows'] == rows):
                continue
            part = {name: value[start:start + rows] for name, value in tensors.items()}
            name = f'chunk-{chunk:06d}-{generation:08d}.safetensors'
            save_file(part, os.path.join(store, name))
            written.append(os.path.join(store, name))
            entry = {'file': name, 'rows': rows, 'crc32': tensors_crc32(part)}
            if chunk < len(entries):
                entries[chunk] = entry
            else:
                entries.append(entry)
        # All written first, then synced: the kernel writes them back together.
        for path in written:
            fsync_file(path)
        if written:
            fsync_directory(store)
        self.store, self.generation, self.entries = os.path.realpath(store), generation, entries
        self.dirty.clear()
        return self.index()

    def index(self) -> Dict[str, Any]:
        """Return the JSON-able description of the saved chunks."""
        return {'chunk_rows': self.chunk_rows, 'generation': self.generation,
                'chunks': [dict(entry) for entry in self.entries]}

    def prune(self) -> List[str]:
        """Delete the store's chunk files the table does not name; return their names."""
        if self.store is None or not os.path.isdir(self.store):
            return []
        named = {entry['file'] for entry in self.entries}
        removed = [name for name in sorted(os.listdir(self.store))
                   if CHUNK_NAME.fullmatch(name) and name not in named]
        for name in removed:
            os.remove(os.path.join(self.store, name))
        return removed

    @classmethod
    def load(cls, index: Dict[str, Any], store: str, storage: Dict[str, Tensor],
             num_rows: int) -> 'ChunkTable':
        """Read every chunk `index` names into `storage`, checking shapes and CRCs."""
        table = cls(int(index['chunk_rows']))
        entries = index['chunks']
        if len(entries) != -(-num_rows // table.chunk_rows):
            raise CheckpointError(f'{store}: {len(entries)} chunks of {table.chunk_rows} rows '
                                  f'cannot hold {num_rows} rows')
        for chunk, entry in enumerate(entries):
            start = chunk * table.chunk_rows
            rows = min(num_rows, start + table.chunk_rows) - start
            path = os.path.join(store, entry['file'])
            tensors = load_tensors(path)
            check_tensor_shapes(_shaped(storage, rows), tensors, path)
            if tensors_crc32(tensors) != entry['crc32']:
                raise CheckpointError(f'{path}: checksum mismatch, the chunk file was altered '
                                      'or cut short')
            for name, value in tensors.items():
                storage[name][start:start + rows] = value
        table.store = os.path.realpath(store)
        table.generation = int(index['generation'])
        table.entries = [dict(entry) for entry in entries]
        return table


def _shaped(storage: Dict[str, Tensor], rows: int) -> Dict[str, Tensor]:
    """Return shape-and-dtype stand-ins for `rows` rows of every stored field."""
    return {name: torch.empty((rows, *value.shape[1:]), dtype=value.dtype, device='meta')
            for name, value in storage.items()}


def write_snapshot(directory: str, store: Optional[str], storage: Dict[str, Tensor],
                   num_rows: int, valid_rows: np.ndarray, table: ChunkTable,
                   meta: Dict[str, Any]) -> None:
    """
    Write a buffer snapshot: dirty chunks to `store`, then the valid rows, then the JSON.

    `store` None keeps the chunks in `directory` itself; the snapshot is then committed by
    its own JSON, and the chunk files it no longer names are deleted at once.
    """
    os.makedirs(directory, exist_ok=True)
    store = directory if store is None else store
    index = table.save(store, storage, num_rows)
    save_tensors(os.path.join(directory, VALID_ROWS_FILE),
                 {'valid_rows': torch.from_numpy(np.array(valid_rows, dtype=np.int64))})
    write_json(os.path.join(directory, SNAPSHOT_FILE), {
        **meta, 'kind': 'replay_buffer', 'format_version': FORMAT_VERSION,
        'store': os.path.relpath(store, directory), 'chunk_index': index})
    if os.path.realpath(store) == os.path.realpath(directory):
        table.prune()


def read_snapshot_meta(directory: str) -> Dict[str, Any]:
    """Return the validated JSON of the snapshot in `directory`."""
    source = os.path.join(directory, SNAPSHOT_FILE)
    meta = read_json(source)
    check_format_version(meta, 'replay_buffer', source)
    return meta


def read_snapshot_rows(directory: str, meta: Dict[str, Any], storage: Dict[str, Tensor],
                       num_rows: int, num_valid: int,
                       table: ChunkTable) -> Tuple[ChunkTable, np.ndarray]:
    """
    Fill `storage` from the snapshot; return its chunk table and the valid rows.

    A single-file snapshot of an earlier version loads too; `table` (empty) is then
    returned, so that the next save writes every chunk.
    """
    valid = {'valid_rows': torch.empty((num_valid,), dtype=torch.int64, device='meta')}
    if 'chunk_index' in meta:
        store = os.path.normpath(os.path.join(directory, meta['store']))
        table = ChunkTable.load(meta['chunk_index'], store, storage, num_rows)
        source = os.path.join(directory, VALID_ROWS_FILE)
        tensors = load_tensors(source)
    else:
        source = os.path.join(directory, LEGACY_TENSORS_FILE)
        tensors = load_tensors(source)
        valid.update(_shaped(storage, num_rows))
    check_tensor_shapes(valid, tensors, source)
    for name, value in storage.items():
        if name in tensors:
            value[:num_rows] = tensors[name]
    return table, tensors['valid_rows'].numpy()
