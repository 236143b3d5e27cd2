#!/usr/bin/env python3
"""
Benchmark the hilserl learner on this machine's CPU; print ``key: value`` lines.

Keys (targets on a 2-core CPU in brackets):
  sac_state_updates_per_s          2 critics 256x256, batch 256, state only       [>= 300]
  sac_image_cached_updates_per_s   2 cameras 128x128, cached frozen features      [>= 150]
  sac_image_e2e_updates_per_s      2 cameras 128x128, end-to-end CNN with DrQ     [record]
  replay_bytes_per_transition      2 cameras 128x128 uint8 + state                [<= 100000]
  classifier_infer_ms_p50          reward classifier, 2 cameras 128x128, batch 1  [<= 5]
Next to each update rate, what bounds it on this CPU:
  *_gflop_per_update               floating-point work of one update (torch's FLOP counter)
  *_updates_per_s_ceiling          matmul_peak_gflops / gflop_per_update: the rate if every
                                   FLOP ran as fast as one large matrix product (no
                                   elementwise work, no Python) - no implementation beats it
  *_fraction_of_peak               rate x gflop_per_update / the peak of the precision used
  matmul_peak_gflops               fp32 [256 x 256] @ [256 x 256] on the benchmark's threads
  matmul_peak_gflops_bf16          the same product in bfloat16 (slower than fp32 where the
                                   CPU has neither AMX nor AVX-512 BF16)
With --precision bf16 (or auto on such a CPU) the updates run as agent.precision says:
matrix products in bfloat16, float32 weights, targets and losses.
Each rate is one learner update (critic + grasp critic + actor + temperature,
critic_updates_per_learner_step 1) on a batch mixed 50/50 from an online and a
demonstration buffer, sampling included; the reported value is the median over 1-second
windows (robust to other load on the machine).
The classifier figure is the median latency of one inference (torch.inference_mode, after
warm-up) of the default reward classifier (small CNN, spatial softmax).
"""

import argparse
import os
import statistics
import sys
import time

try:
    import hilserl_learning  # noqa: F401
except ImportError:  # plain checkout: use the package source next to this script
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src',
                                    'hilserl_learning'))

from hilserl_learning.agent import SACAgent  # noqa: E402
from hilserl_learning.config import AgentConfig, PRECISIONS  # noqa: E402
from hilserl_learning.replay_buffer import ReplayBuffer, sample_mixed  # noqa: E402
from hilserl_learning.reward_classifier import ClassifierConfig, RewardClassifier  # noqa: E402
from hilserl_learning.runtime import configure_torch, resolve_precision  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

STATE_DIM = 20
CAMERAS = 2
IMAGE = (3, 128, 128)


def fill(buffer: ReplayBuffer, steps: int, episode_length: int, rng: np.random.Generator,
         features_of=None) -> None:
    """Add `steps` random steps in episodes of `episode_length` (truncated at the end)."""
    def observation():
        obs = {'state': rng.normal(size=STATE_DIM).astype(np.float32)}
        if buffer.image_shape:
            obs['pixels'] = rng.integers(0, 256, buffer.image_shape, dtype=np.uint8)
        if buffer.feature_shape:
            obs['features'] = features_of()
        return obs

    current = observation()
    for step in range(steps):
        nxt = observation()
        last = step % episode_length == episode_length - 1
        buffer.add(current, rng.uniform(-1, 1, buffer.action_dim).astype(np.float32),
                   float(rng.random() < 0.05), nxt, terminated=False, truncated=last)
        current = observation() if last else nxt


def matmul_peak_gflops(size: int = 256, seconds: float = 1.0,
                       dtype: torch.dtype = torch.float32) -> float:
    """Return the GFLOP/s of repeated [size x size] @ [size x size] products in ``dtype``."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    for _ in range(20):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            a @ b
        count += 100
    return 2 * size ** 3 * count / (time.perf_counter() - start) / 1e9


def update_gflop(agent: SACAgent, sample) -> float:
    """Return the GFLOP of one learner update, as torch's FLOP counter counts them."""
    with FlopCounterMode(display=False) as counter:
        agent.update(sample)
    return counter.get_total_flops() / 1e9


def measure_updates(agent: SACAgent, online: ReplayBuffer, offline: ReplayBuffer,
                    batch_size: int, seconds: float, warmup: int) -> tuple:
    """Return the median updates/s over ~1 s windows (after warm-up) and GFLOP/update."""
    def sample():
        return sample_mixed(online, offline, batch_size)

    gflop = update_gflop(agent, sample)
    for _ in range(warmup):
        agent.update(sample)
    rates, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or not rates:
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < min(1.0, seconds):
            agent.update(sample)
            count += 1
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), gflop


def bench_state(args) -> tuple:
    """Return state-only SAC (+ grasp critic) updates per second and GFLOP per update."""
    config = AgentConfig(state_dim=STATE_DIM, action_dim=3, hidden_dims=(256, 256),
                         critic_ensemble_size=2, precision=args.precision)
    agent = SACAgent(config)
    rng = np.random.default_rng(0)
    online, offline = (ReplayBuffer(50_000, STATE_DIM, config.full_action_dim, seed=s)
                       for s in (1, 2))
    fill(online, 5_000, args.episode_length, rng)
    fill(offline, 2_000, args.episode_length, rng)
    return measure_updates(agent, online, offline, args.batch_size, args.seconds, 20)


def bench_image_cached(args) -> tuple:
    """Return cached-feature updates/s, GFLOP per update and ms to cache one frame."""
    config = AgentConfig(state_dim=STATE_DIM, action_dim=3, num_cameras=CAMERAS,
                         image_encoder='frozen', precision=args.precision)
    agent = SACAgent(config)
    frames = torch.randint(0, 256, (8, *IMAGE), dtype=torch.uint8)
    agent.encode_frames(frames[:2])
    start = time.perf_counter()
    cached = agent.encode_frames(frames)  # once per stored frame in real use
    encode_ms = (time.perf_counter() - start) * 1000 / len(frames)
    rng = np.random.default_rng(0)
    pool = cached.to(torch.float16).numpy()

    def features_of():
        return pool[rng.integers(len(pool), size=CAMERAS)]

    online, offline = (ReplayBuffer(20_000, STATE_DIM, config.full_action_dim,
                                    feature_shape=(CAMERAS, 512), seed=s) for s in (1, 2))
    fill(online, 3_000, args.episode_length, rng, features_of)
    fill(offline, 1_000, args.episode_length, rng, features_of)
    rate, gflop = measure_updates(agent, online, offline, args.batch_size, args.seconds, 10)
    return rate, gflop, encode_ms


def bench_image_e2e(args) -> float:
    """Return end-to-end CNN updates per second (DrQ shifts on both cameras)."""
    config = AgentConfig(state_dim=STATE_DIM, action_dim=3, num_cameras=CAMERAS,
                         image_encoder='cnn', precision=args.precision)
    agent = SACAgent(config)
    rng = np.random.default_rng(0)
    online, offline = (ReplayBuffer(600, STATE_DIM, config.full_action_dim,
                                    image_shape=(CAMERAS, *IMAGE), seed=s) for s in (1, 2))
    fill(online, 500, args.episode_length, rng)
    fill(offline, 500, args.episode_length, rng)
    return measure_updates(agent, online, offline, args.batch_size, args.seconds, 2)[0]


def bench_replay_bytes(args) -> float:
    """Return storage bytes per sampleable transition of a full 2-camera 128x128 buffer."""
    capacity = 2_000
    buffer = ReplayBuffer(capacity, STATE_DIM, 4, image_shape=(CAMERAS, *IMAGE))
    fill(buffer, capacity * 2, args.episode_length, np.random.default_rng(0))
    return buffer.nbytes / len(buffer)


def bench_classifier(args, calls: int = 300, warmup: int = 30) -> float:
    """Return the median milliseconds of one reward classifier inference (batch 1)."""
    model = RewardClassifier(ClassifierConfig(camera_names=('front', 'wrist'),
                                              image_size=IMAGE[1:])).eval()
    pixels = torch.randint(0, 256, (1, CAMERAS, *IMAGE), dtype=torch.uint8)
    timings = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(pixels)
        for _ in range(calls):
            start = time.perf_counter()
            model(pixels)
            timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def print_bound(name: str, rate: float, gflop: float, peak_gflops: float) -> None:
    """Print an update's GFLOP, the rate the matmul peak would allow and the share reached."""
    print(f'{name}_gflop_per_update: {gflop:.3f}', flush=True)
    print(f'{name}_updates_per_s_ceiling: {peak_gflops / gflop:.0f}', flush=True)
    print(f'{name}_fraction_of_peak: {rate * gflop / peak_gflops:.2f}', flush=True)


def main() -> None:
    """Parse options, run the selected benchmarks and print the results."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--seconds', type=float, default=5.0,
                        help='measuring time per update benchmark (default 5)')
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='torch intra-op threads (default: all cores)')
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--episode-length', type=int, default=100,
                        help='steps per episode when filling buffers (default 100)')
    parser.add_argument('--only', nargs='+',
                        choices=['state', 'image_cached', 'image_e2e', 'replay_bytes',
                                 'classifier'],
                        default=['state', 'image_cached', 'image_e2e', 'replay_bytes',
                                 'classifier'])
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help="the agent's precision setting (default fp32)")
    parser.add_argument('--no-allocator-tuning', action='store_true',
                        help='leave glibc malloc at its defaults')
    args = parser.parse_args()
    setup = configure_torch(args.threads, keep_freed_memory=not args.no_allocator_tuning)
    print(f'torch: {torch.__version__}, {setup}', flush=True)
    torch.manual_seed(0)
    dtype = resolve_precision(args.precision, torch.device('cpu'))
    print(f"precision: {args.precision} ({str(dtype).replace('torch.', '')} products)",
          flush=True)
    peak = None
    if {'state', 'image_cached'} & set(args.only):
        peaks = {torch.float32: matmul_peak_gflops(),
                 torch.bfloat16: matmul_peak_gflops(dtype=torch.bfloat16)}
        print(f'matmul_peak_gflops: {peaks[torch.float32]:.1f}', flush=True)
        print(f'matmul_peak_gflops_bf16: {peaks[torch.bfloat16]:.1f}', flush=True)
        peak = peaks[dtype]
    if 'state' in args.only:
        rate, gflop = bench_state(args)
        print(f'sac_state_updates_per_s: {rate:.1f}', flush=True)
        print_bound('sac_state', rate, gflop, peak)
    if 'image_cached' in args.only:
        rate, gflop, encode_ms = bench_image_cached(args)
        print(f'sac_image_cached_updates_per_s: {rate:.1f}', flush=True)
        print_bound('sac_image_cached', rate, gflop, peak)
        print(f'frozen_encoder_ms_per_frame: {encode_ms:.2f}', flush=True)
    if 'image_e2e' in args.only:
        print(f'sac_image_e2e_updates_per_s: {bench_image_e2e(args):.2f}', flush=True)
    if 'replay_bytes' in args.only:
        print(f'replay_bytes_per_transition: {bench_replay_bytes(args):.0f}', flush=True)
    if 'classifier' in args.only:
        print(f'classifier_infer_ms_p50: {bench_classifier(args):.2f}', flush=True)


if __name__ == '__main__':
    main()
