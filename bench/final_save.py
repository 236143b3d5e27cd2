#!/usr/bin/env python3
"""
Time the learner's final checkpoint (LearnerCore.checkpoint) with full buffers.

    scripts/in_env python bench/final_save.py state 1000000
    scripts/in_env python bench/final_save.py features 100000   # 2 cameras, frozen encoder
    scripts/in_env python bench/final_save.py pixels 100000     # 2 cameras 128x128, cnn

Prints ``learner_final_save_s: <seconds>`` and the size written. The online buffer holds
the given number of transitions (episodes of 100 steps), the demonstration buffer 1,000;
the checkpoint timed is the second one, as a run's final checkpoint always follows an
earlier one (it also deletes that one). Under ``ros2 launch`` a node has
``sigterm_timeout`` (5 s by default) after its SIGINT before it gets SIGTERM.
"""

import argparse
import os
import shutil
import tempfile
import time

from hilserl_learning import AgentConfig
import numpy as np

from hilserl.learner_core import LearnerCore, LearnerSettings

STATE_DIM = 20
CAMERAS = ['front', 'wrist']
IMAGE_SIZE = 128
EPISODE_LENGTH = 100
DEMO_STEPS = 1000


def fill(buffer, steps: int, rng: np.random.Generator) -> None:
    """Add ``steps`` steps of random data, a few observation arrays reused (speed)."""
    def observation(index):
        obs = {'state': states[index % len(states)]}
        if buffer.image_shape:
            obs['pixels'] = pixels[index % len(pixels)]
        if buffer.feature_shape:
            obs['features'] = features[index % len(features)]
        return obs

    states = rng.normal(size=(16, STATE_DIM)).astype(np.float32)
    pixels = (rng.integers(0, 256, (4, *buffer.image_shape), dtype=np.uint8)
              if buffer.image_shape else None)
    features = (rng.normal(size=(4, *buffer.feature_shape)).astype(np.float16)
                if buffer.feature_shape else None)
    action = np.zeros(buffer.action_dim, dtype=np.float32)
    for step in range(steps):
        last = step % EPISODE_LENGTH == EPISODE_LENGTH - 1
        buffer.add(observation(step), action, 0.0, observation(step + 1), terminated=False,
                   truncated=last)


def directory_bytes(path: str) -> int:
    """Return the size of every file under ``path``."""
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def main() -> None:
    """Fill a learner's buffers, checkpoint twice, print the second one's duration."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('kind', choices=('state', 'features', 'pixels'))
    parser.add_argument('transitions', type=int)
    parser.add_argument('--dir', default=None, help='where to write (default: a temp dir)')
    args = parser.parse_args()
    run_dir = tempfile.mkdtemp(prefix='final-save-', dir=args.dir)
    try:
        cameras = [] if args.kind == 'state' else CAMERAS
        encoder = 'cnn' if args.kind == 'pixels' else 'frozen'
        settings = LearnerSettings(
            run_dir=run_dir, camera_names=cameras,
            agent=AgentConfig(image_encoder=encoder, allow_random_encoder=True),
            online_capacity=args.transitions + args.transitions // EPISODE_LENGTH + 2,
            offline_capacity=DEMO_STEPS * 2)
        core = LearnerCore(settings)
        core.start_fresh()
        # What the first transition (or the demonstrations) would build.
        core._build(STATE_DIM, [f's{i}' for i in range(STATE_DIM)], cameras,
                    (IMAGE_SIZE, IMAGE_SIZE))
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        fill(core.online, args.transitions, rng)
        fill(core.offline, DEMO_STEPS, rng)
        print(f'filled in {time.perf_counter() - started:.1f} s', flush=True)
        core.checkpoint()
        started = time.perf_counter()
        path = core.checkpoint()
        seconds = time.perf_counter() - started
        core.close()
        print(f'kind: {args.kind}')
        print(f'online_transitions: {len(core.online)}')
        print(f'checkpoint_mb: {directory_bytes(path) / 1e6:.1f}')
        print(f'learner_final_save_s: {seconds:.2f}')
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
