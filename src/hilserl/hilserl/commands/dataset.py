"""``hilserl dataset``: inspect recorded datasets and export them as one safetensors file."""

import argparse
import json
import os
from typing import List

import numpy as np

from hilserl.commands import CommandError

EXPORT_FORMAT = 'hilserl-dataset-export/1'
EXPORT_DESCRIPTION = """\
Write every record of the episodes, aligned, to one safetensors file: one row per step
and one more per episode for its final observation (final_observation true, action
zeros, reward 0, flags false), so a truncated episode can bootstrap. Arrays: states
[N,S], actions [N,A], rewards, terminated, truncated, interventions, final_observation
[N], episode_index and step_index [N], and images_<camera> [N,H,W,3] uint8 RGB. A JSON
sidecar (the output name with .json) lists the state and camera names and, per
episode, its path, first row, steps, success and events."""


def register(subparsers) -> None:
    """Add the ``dataset`` command and its ``info`` and ``export`` actions."""
    parser = subparsers.add_parser(
        'dataset', help='inspect and export recorded datasets',
        description='Inspect recorded datasets (one MCAP bag per episode) and export them. '
                    'PATH is a dataset directory (episode_NNNN bags) or one episode bag.')
    actions = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    info = actions.add_parser(
        'info', help='print each episode and the totals',
        description='Check the episodes and print one line per episode (steps, success, '
                    'intervention steps, cameras, events), then the totals.')
    export = actions.add_parser(
        'export', help='write the aligned samples to one safetensors file',
        description=EXPORT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    for action in (info, export):
        action.add_argument('paths', nargs='+', metavar='PATH',
                            help='dataset directories or episode bag directories')
        action.add_argument('--image-kind', choices=('processed', 'raw'),
                            help='which frames to use (default: processed when recorded)')
    info.add_argument('--json', action='store_true', help='print the totals as JSON')
    info.set_defaults(run=run_info)
    export.add_argument('--out', required=True, metavar='FILE',
                        help='the .safetensors file to write')
    export.set_defaults(run=run_export)


def _read(paths, image_kind, load_images):
    """Yield each episode with a progress bar; bad input becomes a CommandError."""
    from tqdm import tqdm
    from hilserl.dataset.reader import DatasetError, episode_paths, read_episode
    try:
        bags = episode_paths(paths)
        for bag in tqdm(bags, desc='reading', unit='episode', disable=None, leave=False):
            yield read_episode(bag, image_kind, load_images)
    except DatasetError as error:
        raise CommandError(str(error)) from None


def _describe_cameras(episode) -> str:
    if not episode.camera_names:
        return 'no cameras'
    shapes = ', '.join(f'{camera} {shape[1]}x{shape[0]}'
                       for camera, shape in episode.image_shapes.items())
    return f'{shapes} ({episode.image_kind})'


def run_info(options) -> int:
    """Print the episodes and the totals."""
    from hilserl.dataset.reader import summarize
    episodes = []
    for episode in _read(options.paths, options.image_kind, load_images=False):
        episodes.append(episode)
        events = ' '.join(f'{name}@{step}' for step, name in episode.events) or '-'
        if not options.json:
            print(f'{os.path.basename(os.path.normpath(episode.path))}: index {episode.index}, '
                  f"{episode.length} steps, success {'yes' if episode.success else 'no'}, "
                  f'{int(episode.interventions.sum())} intervention steps, '
                  f'{_describe_cameras(episode)}, events {events}')
    summary = summarize(episodes)
    if options.json:
        print(json.dumps(summary, indent=2))
        return 0
    lengths = summary['lengths']
    print(f"episodes: {summary['episodes']}, steps: {summary['steps']} (length min "
          f"{lengths['min']}, mean {lengths['mean']:.1f}, max {lengths['max']})")
    print(f"successes: {summary['successes']}, intervention steps: "
          f"{summary['interventions']} (in {summary['episodes_with_interventions']} episodes)")
    shapes = ', '.join(f"{camera} {'x'.join(map(str, shape))}"
                       for camera, shape in summary['image_shapes'].items())
    print(f"cameras: {shapes or 'none'}; state: {', '.join(episodes[0].state_names)}")
    return 0


def _check_compatible(first, episode) -> None:
    """Refuse episodes whose arrays cannot share one file with the first one."""
    for what, mine, theirs in (
            ('state names', episode.state_names, first.state_names),
            ('action size', episode.actions.shape[1], first.actions.shape[1]),
            ('cameras', episode.camera_names, first.camera_names),
            ('image shapes', episode.image_shapes, first.image_shapes)):
        if mine != theirs:
            raise CommandError(f'{episode.path}: {what} {mine} differ from {theirs} of '
                               f'{first.path}; export them separately')


def run_export(options) -> int:
    """Write the safetensors file and its JSON sidecar."""
    from safetensors.numpy import save_file
    if not options.out.endswith('.safetensors'):
        raise CommandError(f'--out {options.out}: the file name must end with .safetensors')
    directory = os.path.dirname(os.path.abspath(options.out))
    if not os.path.isdir(directory):
        raise CommandError(f'cannot write {options.out}: {directory} is not a directory')
    sidecar = options.out[:-len('.safetensors')] + '.json'
    columns = {name: [] for name in ('states', 'actions', 'rewards', 'terminated', 'truncated',
                                     'interventions', 'final_observation', 'episode_index',
                                     'step_index')}
    images: dict = {}
    episodes: List[dict] = []
    first = None
    rows = 0
    for episode in _read(options.paths, options.image_kind, load_images=True):
        first = first or episode
        _check_compatible(first, episode)
        steps = episode.length
        columns['states'].append(episode.states)
        columns['actions'].append(np.concatenate(
            [episode.actions, np.zeros((1, episode.actions.shape[1]), np.float32)]))
        for name, values in (('rewards', episode.rewards), ('terminated', episode.terminated),
                             ('truncated', episode.truncated),
                             ('interventions', episode.interventions)):
            columns[name].append(np.append(values, np.zeros(1, values.dtype)))
        columns['final_observation'].append(np.arange(steps + 1) == steps)
        columns['episode_index'].append(np.full(steps + 1, episode.index, np.int64))
        columns['step_index'].append(np.arange(steps + 1, dtype=np.int64))
        for camera, frames in episode.images.items():
            images.setdefault(f'images_{camera}', []).append(frames)
        episodes.append({'path': os.path.abspath(episode.path), 'index': episode.index,
                         'first_row': rows, 'steps': steps, 'success': episode.success,
                         'events': [[step, name] for step, name in episode.events]})
        rows += steps + 1
    arrays = {name: np.ascontiguousarray(np.concatenate(parts))
              for name, parts in {**columns, **images}.items()}
    save_file(arrays, options.out, metadata={'format': EXPORT_FORMAT,
                                             'sidecar': os.path.basename(sidecar)})
    with open(sidecar, 'w', encoding='utf-8') as stream:
        json.dump({'format': EXPORT_FORMAT, 'rows': rows, 'state_names': first.state_names,
                   'camera_names': first.camera_names, 'image_kind': first.image_kind,
                   'arrays': {name: [str(a.dtype), list(a.shape)] for name, a in arrays.items()},
                   'episodes': episodes}, stream, indent=2)
    print(f'wrote {options.out} ({rows} rows from {len(episodes)} episodes) and {sidecar}')
    return 0
