"""
A learner run's files: the transition log, checkpoints, and the buffers' shared row stores.

Run directory layout::

    transitions.wal                       (actor, sequence, Transition) since the checkpoint
    buffers/online/  buffers/offline/     row chunks of the buffers, shared by checkpoints
    checkpoints/checkpoint_NNNNNN/        the latest complete checkpoint
        agent/                            save_checkpoint: networks, optimizers, alpha
        online_buffer/  offline_buffer/   ReplayBuffer.save: counters, valid rows, chunk index
        pending.wal                       every actor's pending step (serialized Transitions)
        learner_state.json                tracker, actor streams, counters, data layout

A checkpoint is written to ``checkpoints/.tmp-NNNNNN``, flushed to the disk (fsync) and
renamed into place; only then is the log cleared. Each buffer writes to its store only the
chunks whose rows changed since the previous checkpoint, under new file names
(hilserl_learning.buffer_store), so a checkpoint costs what arrived since the last one, not
the size of the buffers, and the previous checkpoint stays whole until the rename. Only
after the rename are older checkpoints and the chunk files no checkpoint names any more
deleted.
"""

import os
import shutil
import struct
from typing import Any, Dict, Iterable, List, Optional, Tuple

from hilserl_learning import load_checkpoint, ReplayBuffer, SACAgent, save_checkpoint
from hilserl_learning.serialization import (check_format_version, fsync_directory, fsync_tree,
                                            read_json, write_json)

from hilserl.transport.transition_link import TransitionLog

WAL_FILE = 'transitions.wal'
CHECKPOINTS_DIR = 'checkpoints'
BUFFERS_DIR = 'buffers'
CHECKPOINT_PREFIX = 'checkpoint_'
STATE_FILE = 'learner_state.json'
PENDING_FILE = 'pending.wal'
BUFFER_NAMES = ('online', 'offline')
LOG_SEQUENCE = struct.Struct('<Q')  # log records are sequence number + serialized Transition


class RunFiles:
    """The log, checkpoints and buffer stores of the run in `run_dir`; not thread-safe."""

    def __init__(self, run_dir: str) -> None:
        """Use `run_dir` (created when the log is opened)."""
        self.run_dir = run_dir
        self.checkpoints = os.path.join(run_dir, CHECKPOINTS_DIR)
        self._log: Optional[TransitionLog] = None

    # --- the transition log ---------------------------------------------------------------
    def holds_run(self) -> bool:
        """Say whether the run directory has a checkpoint or logged transitions."""
        log = os.path.join(self.run_dir, WAL_FILE)
        return bool(self.latest()) or (os.path.exists(log) and os.path.getsize(log) > 0)

    def open_log(self) -> None:
        """Open the transition log (a torn last record is cut off)."""
        os.makedirs(self.run_dir, exist_ok=True)
        self._log = TransitionLog(os.path.join(self.run_dir, WAL_FILE))

    def log(self, actor_id: str, sequence: int, payload: bytes) -> None:
        """Append the transition `sequence` of `actor_id` (durable once flushed)."""
        self._log.append(actor_id, LOG_SEQUENCE.pack(sequence) + bytes(payload))

    def logged(self) -> List[Tuple[str, int, bytes]]:
        """Return the log's ``(actor, sequence, payload)`` records, oldest first."""
        return [(actor_id, *LOG_SEQUENCE.unpack_from(record), record[LOG_SEQUENCE.size:])
                for actor_id, record in self._log.replay()]

    def flush(self) -> None:
        """Push the logged records to the operating system, if the log is open."""
        if self._log is not None:
            self._log.flush()

    def close(self) -> None:
        """Close the log."""
        if self._log is not None:
            self._log.close()
            self._log = None

    # --- checkpoints ----------------------------------------------------------------------
    def latest(self) -> Optional[str]:
        """Return the newest complete checkpoint directory, or None."""
        if not os.path.isdir(self.checkpoints):
            return None
        names = sorted(n for n in os.listdir(self.checkpoints) if n.startswith(CHECKPOINT_PREFIX))
        return os.path.join(self.checkpoints, names[-1]) if names else None

    def write(self, index: int, agent: SACAgent, buffers: Tuple[ReplayBuffer, ReplayBuffer],
              pending: Iterable[Tuple[str, bytes]], state: Dict[str, Any]) -> str:
        """
        Write checkpoint number `index` atomically, then clear the log; return its path.

        `buffers` are the online and demonstration buffers; `pending` the (actor, payload)
        records of steps still waiting for their next observation; `state` the learner's
        JSON state. Older checkpoints and unnamed chunk files go once it is in place.
        """
        temporary = os.path.join(self.checkpoints, f'.tmp-{index:06d}')
        final = os.path.join(self.checkpoints, f'{CHECKPOINT_PREFIX}{index:06d}')
        shutil.rmtree(temporary, ignore_errors=True)
        save_checkpoint(agent, os.path.join(temporary, 'agent'))
        for name, buffer in zip(BUFFER_NAMES, buffers):
            buffer.save(os.path.join(temporary, f'{name}_buffer'),
                        store=os.path.join(self.run_dir, BUFFERS_DIR, name))
        pending_log = TransitionLog(os.path.join(temporary, PENDING_FILE))
        for actor_id, payload in pending:
            pending_log.append(actor_id, payload)
        pending_log.close()
        write_json(os.path.join(temporary, STATE_FILE), state)
        fsync_tree(temporary)   # on the disk before its name says it is complete
        os.rename(temporary, final)
        fsync_directory(self.checkpoints)
        if self._log is not None:
            self._log.clear()
        for name in os.listdir(self.checkpoints):
            if name != os.path.basename(final):
                shutil.rmtree(os.path.join(self.checkpoints, name), ignore_errors=True)
        for buffer in buffers:
            buffer.prune_store()
        return final

    @staticmethod
    def read(checkpoint: str, device: str) -> Tuple[
            SACAgent, ReplayBuffer, ReplayBuffer, Dict[str, Any], List[Tuple[str, bytes]]]:
        """
        Return the agent, online and demonstration buffers, state and pending records.

        Raises CheckpointError when any part is missing, damaged or of another version.
        """
        agent, _ = load_checkpoint(os.path.join(checkpoint, 'agent'), device=device)
        online, offline = (ReplayBuffer.load(os.path.join(checkpoint, f'{name}_buffer'))
                           for name in BUFFER_NAMES)
        state = read_json(os.path.join(checkpoint, STATE_FILE))
        check_format_version(state, 'learner_state', os.path.join(checkpoint, STATE_FILE))
        pending_log = TransitionLog(os.path.join(checkpoint, PENDING_FILE))
        pending = list(pending_log.replay())
        pending_log.close()
        return agent, online, offline, state, pending
