"""
The ``hilserl dataset export`` file: every record of the episodes, aligned, in one safetensors.

One row per step and one more per episode for its final observation (final_observation
true, action zeros, reward 0, flags false), so a truncated episode can bootstrap. Arrays:
states [N,S], actions [N,A], rewards, terminated, truncated, interventions,
final_observation [N], episode_index and step_index [N], and images_<camera> [N,H,W,3]
uint8 RGB. A JSON sidecar (the file name with .json) lists the state and camera names and,
per episode, its path, first row, steps, success and events.

Only numpy and safetensors are imported: the LeRobot converter
(:mod:`hilserl.dataset.lerobot_convert`), run in another venv, reads and writes it too.
Episodes are anything with the attributes of :class:`hilserl.dataset.reader.Episode`.
"""

import json
import os
from types import SimpleNamespace
from typing import Iterable, List, Tuple

import numpy as np

EXPORT_FORMAT = 'hilserl-dataset-export/1'
FLAG_COLUMNS = ('rewards', 'terminated', 'truncated', 'interventions')


class ExportFileError(Exception):
    """An export file that cannot be read or episodes that cannot share one; one line."""


def sidecar_path(path: str) -> str:
    """Return the JSON sidecar's path of an export file."""
    return path[:-len('.safetensors')] + '.json'


def _check_compatible(first, episode) -> None:
    """Refuse episodes whose arrays cannot share one file with the first one."""
    for what, mine, theirs in (
            ('state names', list(episode.state_names), list(first.state_names)),
            ('action size', episode.actions.shape[1], first.actions.shape[1]),
            ('cameras', list(episode.camera_names), list(first.camera_names)),
            ('image shapes', {c: f.shape[1:] for c, f in episode.images.items()},
             {c: f.shape[1:] for c, f in first.images.items()})):
        if mine != theirs:
            raise ExportFileError(f'{episode.path}: {what} {mine} differ from {theirs} of '
                                  f'{first.path}; export them separately')


def write_export(path: str, episodes: Iterable, extra_sidecar=None) -> Tuple[int, int]:
    """Write the episodes to ``path`` and its sidecar; return ``(rows, episodes)``."""
    from safetensors.numpy import save_file
    columns = {name: [] for name in ('states', 'actions', *FLAG_COLUMNS, 'final_observation',
                                     'episode_index', 'step_index')}
    images: dict = {}
    listed: List[dict] = []
    first = None
    rows = 0
    for episode in episodes:
        first = first or episode
        _check_compatible(first, episode)
        steps = len(episode.actions)
        columns['states'].append(np.asarray(episode.states, np.float32))
        columns['actions'].append(np.concatenate(
            [episode.actions, np.zeros((1, episode.actions.shape[1]), np.float32)]))
        for name in FLAG_COLUMNS:
            values = getattr(episode, name)
            columns[name].append(np.append(values, np.zeros(1, values.dtype)))
        columns['final_observation'].append(np.arange(steps + 1) == steps)
        columns['episode_index'].append(np.full(steps + 1, episode.index, np.int64))
        columns['step_index'].append(np.arange(steps + 1, dtype=np.int64))
        for camera, frames in episode.images.items():
            images.setdefault(f'images_{camera}', []).append(frames)
        listed.append({'path': os.path.abspath(episode.path), 'index': episode.index,
                       'first_row': rows, 'steps': steps,
                       'success': bool(np.any(episode.rewards > 0)),
                       'events': [[step, name] for step, name in episode.events]})
        rows += steps + 1
    if first is None:
        raise ExportFileError('no episodes to export')
    arrays = {name: np.ascontiguousarray(np.concatenate(parts))
              for name, parts in {**columns, **images}.items()}
    save_file(arrays, path, metadata={'format': EXPORT_FORMAT,
                                      'sidecar': os.path.basename(sidecar_path(path))})
    with open(sidecar_path(path), 'w', encoding='utf-8') as stream:
        json.dump({'format': EXPORT_FORMAT, 'rows': rows,
                   'state_names': list(first.state_names),
                   'camera_names': list(first.camera_names), 'image_kind': first.image_kind,
                   'arrays': {name: [str(a.dtype), list(a.shape)] for name, a in arrays.items()},
                   'episodes': listed, **(extra_sidecar or {})}, stream, indent=2)
    return rows, len(listed)


def read_export(path: str):
    """Return ``(arrays, sidecar)`` of an export file; a bad one is an ExportFileError."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file
    try:
        arrays = load_file(path)
        with open(sidecar_path(path), encoding='utf-8') as stream:
            sidecar = json.load(stream)
    except (OSError, ValueError, SafetensorError) as error:
        raise ExportFileError(f'cannot read {path} and its sidecar: {error}') from None
    if not isinstance(sidecar, dict) or sidecar.get('format') != EXPORT_FORMAT:
        raise ExportFileError(f'{sidecar_path(path)} is not a {EXPORT_FORMAT} sidecar')
    return arrays, sidecar


def episodes_of(arrays: dict, sidecar: dict) -> List[SimpleNamespace]:
    """Return the episodes of an export file, with the attributes of ``Episode``."""
    episodes = []
    for listed in sidecar['episodes']:
        start, steps = int(listed['first_row']), int(listed['steps'])
        observed, acted = slice(start, start + steps + 1), slice(start, start + steps)
        episodes.append(SimpleNamespace(
            path=listed['path'], index=int(listed['index']),
            camera_names=list(sidecar['camera_names']), image_kind=sidecar['image_kind'],
            state_names=list(sidecar['state_names']), states=arrays['states'][observed],
            images={camera: arrays[f'images_{camera}'][observed]
                    for camera in sidecar['camera_names']},
            actions=arrays['actions'][acted],
            **{name: arrays[name][acted] for name in FLAG_COLUMNS},
            events=[(int(step), str(name)) for step, name in listed.get('events', [])]))
    return episodes
