#!/usr/bin/env python3
"""
Time the learner's final checkpoint (LearnerCore.checkpoint) with full buffers.

    scripts/in_env python bench/final_save.py state 1000000     # the default (make bench)
    scripts/in_env python bench/final_save.py features 100000   # 2 cameras, frozen encoder
    scripts/in_env python bench/final_save.py pixels 100000     # 2 cameras 128x128, cnn

The online buffer holds the given number of transitions (episodes of 100 steps), the
demonstration buffer 1,000 (``--demo-steps``). A first checkpoint writes both buffers whole
(``first_full_save_s``; a real run never pays this at once: it checkpoints from its first
transition on, every ``checkpoint_every_updates``). Then ``--new-steps`` more steps arrive
(300 by default: 30 s at 10 Hz; the online ring is full, so they overwrite its oldest rows;
steps 40-59 of each 100 are interventions and go to the demonstration buffer too) and the
checkpoint timed is the next one, as a run's final checkpoint follows an earlier one: it
writes only the buffer chunks those steps touched. Prints ``learner_final_save_s`` and the
megabytes it wrote. Under ``ros2 launch`` a node has ``sigterm_timeout`` (5 s by default)
after its SIGINT before it gets SIGTERM.
"""

import argparse
import os
import shutil
import tempfile
import time

from hilserl_learning import add_transition, AgentConfig
import numpy as np

from hilserl.learner.core import LearnerCore, LearnerSettings
from hilserl.ros.transition_messages import transition_from_bytes

STATE_DIM = 20
CAMERAS = ['front', 'wrist']
IMAGE_SIZE = 128
EPISODE_LENGTH = 100
INTERVENED = range(40, 60)   # steps of each episode the bench's human takes over


def fill(buffer, steps: int, rng: np.random.Generator, demos=None) -> None:
    """
    Add ``steps`` steps of random data, a few observation arrays reused (speed).

    With ``demos``, the intervened steps go there too, as the learner routes them.
    """
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
        values = dict(observation=observation(step), action=action, reward=0.0,
                      next_observation=observation(step + 1), terminated=False,
                      truncated=last)
        if demos is None:
            buffer.add(**values)
        else:
            add_transition(buffer, demos, intervention=step % EPISODE_LENGTH in INTERVENED,
                           **values)


def written_since(path: str, since_ns: int) -> int:
    """Return the bytes of the files under ``path`` last written at ``since_ns`` or later."""
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            status = os.stat(os.path.join(root, name))
            total += status.st_size if status.st_mtime_ns >= since_ns else 0
    return total


def main() -> None:
    """Fill a learner's buffers, checkpoint, add new steps, time the next checkpoint."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('kind', nargs='?', default='state',
                        choices=('state', 'features', 'pixels'),
                        help='what a transition holds (default: state, as `make bench` runs it)')
    parser.add_argument('transitions', nargs='?', type=int, default=1_000_000,
                        help='transitions in the online buffer (default 1,000,000)')
    parser.add_argument('--demo-steps', type=int, default=1000,
                        help='steps in the demonstration buffer (default 1000)')
    parser.add_argument('--new-steps', type=int, default=300,
                        help='steps between the two checkpoints (default 300: 30 s at 10 Hz)')
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
            offline_capacity=args.demo_steps * 2)
        core = LearnerCore(settings, transition_from_bytes)
        core.start_fresh()
        # What the first transition (or the demonstrations) would build.
        core._build(STATE_DIM, [f's{i}' for i in range(STATE_DIM)], cameras,
                    (IMAGE_SIZE, IMAGE_SIZE))
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        fill(core.online, args.transitions, rng)
        fill(core.offline, args.demo_steps, rng)
        print(f'filled in {time.perf_counter() - started:.1f} s', flush=True)
        started = time.perf_counter()
        core.checkpoint()
        full_seconds = time.perf_counter() - started
        full_bytes = written_since(run_dir, 0)
        fill(core.online, args.new_steps, rng, demos=core.offline)
        since_ns = time.time_ns()
        started, cpu_started = time.perf_counter(), time.process_time()
        core.checkpoint()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        core.close()
        print(f'kind: {args.kind}')
        print(f'online_transitions: {len(core.online)}')
        print(f'demo_transitions: {len(core.offline)}')
        print(f'first_full_save_s: {full_seconds:.2f} ({full_bytes / 1e6:.1f} MB)')
        interventions = sum(step % EPISODE_LENGTH in INTERVENED for step in range(args.new_steps))
        print(f'new_steps_since_last_checkpoint: {args.new_steps} ({args.new_steps / 10:g} s '
              f'at 10 Hz), {interventions} of them interventions')
        print(f'final_save_written_mb: {written_since(run_dir, since_ns) / 1e6:.1f}')
        print(f'learner_final_save_s: {seconds:.2f} (CPU time {cpu_seconds:.2f} s; load '
              f'average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)')
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
