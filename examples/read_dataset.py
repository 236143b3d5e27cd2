"""
Read a recorded dataset: its episodes, their steps, rewards and camera frames.

Opens a dataset directory (episode_NNNN bags, as record mode writes them) or single
episode bags with hilserl.dataset.reader, which needs no ROS graph, and prints one line
per episode (steps, reward, how it ended, interventions, events), the frame shape of
each camera, and with --steps the first steps of each episode.

    python examples/read_dataset.py ~/hilserl_data/pick_lift --steps 3
"""

import argparse
import sys

import numpy as np

from hilserl.dataset.reader import DatasetError, read_dataset, summarize


def show_episode(episode, steps: int) -> None:
    """Print an episode's summary line, its frames' shapes and its first ``steps`` steps."""
    ending = ('terminated' if episode.terminated[-1] else
              'truncated' if episode.truncated[-1] else 'open')
    print(f'episode {episode.index:04d}: {episode.length} steps, reward '
          f'{episode.rewards.sum():g}, {"success" if episode.success else "no success"}, '
          f'{ending}, {int(episode.interventions.sum())} intervention steps')
    print('  events: ' + ', '.join(f'{name}@{step}' for step, name in episode.events))
    for camera in episode.camera_names:
        frames = episode.images[camera]
        print(f'  {camera}: {len(frames)} {episode.image_kind} frames of '
              f"{'x'.join(map(str, frames.shape[1:]))} {frames.dtype} (one per step + the last)")
    with np.printoptions(precision=3, suppress=True):
        for step in range(min(steps, episode.length)):
            print(f'  step {step}: state {episode.states[step]} action '
                  f'{episode.actions[step]} reward {episode.rewards[step]:g}')


def main(argv=None) -> int:
    """Run the example; 0 when the dataset was read, 1 (with the reason) otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('paths', nargs='+', metavar='PATH',
                        help='a dataset directory or an episode bag')
    parser.add_argument('--steps', type=int, default=0,
                        help='also print the first STEPS steps of each episode')
    parser.add_argument('--raw', action='store_true',
                        help="read the cameras' image_raw frames, not image_processed")
    options = parser.parse_args(argv)
    try:
        episodes = read_dataset(options.paths, image_kind='raw' if options.raw else None)
    except DatasetError as error:
        print(f'read_dataset: {error}', file=sys.stderr)
        return 1
    print(f'state: {", ".join(episodes[0].state_names)}')
    for episode in episodes:
        show_episode(episode, options.steps)
    totals = summarize(episodes)
    print(f"{totals['episodes']} episodes, {totals['steps']} steps, {totals['successes']} "
          f"successes, {totals['interventions']} intervention steps")
    return 0


if __name__ == '__main__':
    sys.exit(main())
