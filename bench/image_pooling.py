#!/usr/bin/env python3
"""
Pooling of cached frozen features and shifted copies, on the image-learning test's task.

The task is ``test_image_learning``'s (hilserl_learning's unit tests): 2-D reaching where
the target is only in a rendered camera frame, learnt by SAC on the frozen resnet10's
cached features (seeded random weights). Each configuration trains from scratch once per
seed (the same seeds for all) until the deterministic policy reaches 80% of 64 held-out
targets, evaluated every 250 updates, or --max-updates. Configurations:

  average          agent.image_pooling encoder: the frozen encoder's global average
  spatial          agent.image_pooling spatial_embedding: the cached map, learned
                   spatial embeddings (HIL-SERL)
  average_copies   average, with agent.feature_augmentation_copies --copies
  spatial_copies   spatial, with the copies

Keys (``key: value``):
  image_size, copies, seeds, max_updates
  updates_to_80pct_<configuration>           median over seeds (a seed that never got
                                             there counts as infinite: '>MAX')
  updates_to_80pct_<configuration>_per_seed  each seed's figure
  final_success_<configuration>_per_seed     each seed's last evaluation
  cpu_min_<configuration>                    CPU minutes of its runs together
  wall_clock_min                             the whole benchmark

Run inside the workspace: `scripts/in_env python bench/image_pooling.py [--jobs 2]`.
"""

import argparse
import concurrent.futures
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'src', 'hilserl_learning', 'test'))

from hilserl_learning import configure_torch  # noqa: E402
import numpy as np  # noqa: E402
from test_image_learning import learn_image_reach  # noqa: E402

CONFIGURATIONS = ('average', 'spatial', 'average_copies', 'spatial_copies')
EVALUATE_EVERY = 250


def agent_settings(name: str, copies: int) -> dict:
    """Return the AgentConfig overrides of one configuration."""
    settings = {'image_pooling': 'spatial_embedding' if name.startswith('spatial')
                else 'encoder'}
    if name.endswith('_copies'):
        settings['feature_augmentation_copies'] = copies
    return settings


def run(job):
    """Train one configuration and seed in a worker (one torch thread); return its figures."""
    name, seed, args = job
    configure_torch(1)
    started = time.process_time()
    curve = learn_image_reach(seed=seed, image_size=args.image_size,
                              max_updates=args.max_updates,
                              **agent_settings(name, args.copies))
    reached = next((EVALUATE_EVERY * (i + 1) for i, rate in enumerate(curve) if rate >= 0.8),
                   None)
    return name, seed, reached, curve[-1] if curve else 0.0, time.process_time() - started


def parse(argv):
    """Return the command line's settings."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--seeds', type=int, default=3, help='how many seeds (default: 3)')
    parser.add_argument('--first-seed', type=int, default=0,
                        help='seeds first..first+N-1 (default: 0; seed 0 is the test\'s run)')
    parser.add_argument('--image-size', type=int, default=64,
                        help='camera frames (default 64, as the test: a 2x2 resnet10 map; '
                             '128 gives 4x4, the suite\'s cameras)')
    parser.add_argument('--copies', type=int, default=4,
                        help='feature_augmentation_copies of the *_copies configurations')
    parser.add_argument('--max-updates', type=int, default=3000)
    parser.add_argument('--configurations', nargs='+', choices=CONFIGURATIONS,
                        default=list(CONFIGURATIONS), metavar='NAME',
                        help='of ' + ', '.join(CONFIGURATIONS) + ' (default: all)')
    parser.add_argument('--jobs', type=int, default=1, help='runs at the same time')
    args = parser.parse_args(argv)
    if min(args.seeds, args.copies, args.max_updates, args.jobs, args.image_size) < 1:
        parser.error('--seeds, --copies, --max-updates, --jobs and --image-size must be >= 1')
    if args.first_seed < 0:
        parser.error('--first-seed must be >= 0')
    return args


def main(argv=None) -> int:
    """Run every configuration and seed; print the figures."""
    args = parse(argv)
    started = time.monotonic()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(name, seed, args) for seed in seeds for name in args.configurations]
    results = {}
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        for name, seed, reached, final, cpu in pool.map(run, jobs):
            results[name, seed] = (reached, final, cpu)
            print(f'# {name} seed {seed}: {reached or "not reached"} updates, final '
                  f'{final:.2f}, {cpu / 60:.1f} CPU min', file=sys.stderr, flush=True)
    print(f'image_size: {args.image_size}')
    print(f'copies: {args.copies}')
    print(f'seeds: {args.first_seed}..{seeds[-1]}')
    print(f'max_updates: {args.max_updates}')
    for name in args.configurations:
        runs = [results[name, seed] for seed in seeds]
        median = float(np.median([np.inf if r is None else r for r, _, _ in runs]))
        shown = f'>{args.max_updates}' if np.isinf(median) else f'{median:g}'
        print(f'updates_to_80pct_{name}: {shown}')
        print(f'updates_to_80pct_{name}_per_seed: ' + ', '.join(
            f'>{args.max_updates}' if r is None else str(r) for r, _, _ in runs))
        print(f'final_success_{name}_per_seed: ' + ', '.join(f'{f:.2f}' for _, f, _ in runs))
        print(f'cpu_min_{name}: {sum(c for _, _, c in runs) / 60:.1f}')
    print(f'wall_clock_min: {(time.monotonic() - started) / 60:.1f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
