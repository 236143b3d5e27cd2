#!/usr/bin/env python3
"""
Where the milliseconds of one learner update go, on this machine's CPU; ``key: value`` lines.

The update of bench/learner.py's state benchmark (2 critics 256x256, grasp critic, actor,
temperature; batch 256) run under torch's profiler. Each aten operator's own time
("self CPU") is put in one group:
  matmul       mm, addmm, bmm, baddbmm (forward and backward products)
  layer_norm   LayerNorm forward and backward
  optimizer    the fused Adam steps, gradient clipping, Polyak averaging
  elementwise  everything else torch runs (activations, losses, sampling, copies, ...)
and ``python_and_dispatch`` is the rest of the wall time: Python, autograd bookkeeping and
operator dispatch between kernels. ``matmul_at_peak_ms`` is what the products would take at
bench/learner.py's matmul peak, the floor no implementation of the same update goes below
without doing less arithmetic.
"""

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from learner import fill, matmul_peak_gflops, STATE_DIM, update_gflop  # noqa: E402
from hilserl_learning.agent import SACAgent  # noqa: E402
from hilserl_learning.config import AgentConfig  # noqa: E402
from hilserl_learning.replay_buffer import ReplayBuffer, sample_mixed  # noqa: E402
from hilserl_learning.runtime import configure_torch  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.profiler import profile, ProfilerActivity  # noqa: E402

GROUPS = {
    'matmul': ('aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm'),
    'layer_norm': ('aten::native_layer_norm', 'aten::native_layer_norm_backward'),
    'optimizer': ('aten::_fused_adam_', 'aten::_foreach_norm', 'aten::_foreach_mul_',
                  'aten::lerp_', 'aten::_foreach_lerp_', 'aten::linalg_vector_norm'),
}


def group_of(name: str) -> str:
    """Return the group of an aten operator's name."""
    for group, names in GROUPS.items():
        if name in names:
            return group
    return 'elementwise'


def main() -> None:
    """Profile the updates and print the breakdown per update."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='torch intra-op threads (default: all cores)')
    parser.add_argument('--updates', type=int, default=100,
                        help='profiled updates (default 100, after 30 of warm-up)')
    parser.add_argument('--batch-size', type=int, default=256)
    args = parser.parse_args()
    setup = configure_torch(args.threads)
    print(f'torch: {torch.__version__}, {setup}; load average {os.getloadavg()[0]:.1f}',
          flush=True)
    torch.manual_seed(0)
    config = AgentConfig(state_dim=STATE_DIM, action_dim=3, hidden_dims=(256, 256),
                         critic_ensemble_size=2)
    agent = SACAgent(config)
    rng = np.random.default_rng(0)
    online, offline = (ReplayBuffer(50_000, STATE_DIM, config.full_action_dim, seed=s)
                       for s in (1, 2))
    fill(online, 5_000, 100, rng)
    fill(offline, 2_000, 100, rng)
    batches = [sample_mixed(online, offline, args.batch_size) for _ in range(args.updates)]
    start = time.perf_counter()
    for _ in range(10):
        sample_mixed(online, offline, args.batch_size)
    sampling_ms = (time.perf_counter() - start) * 100
    for batch in batches[:30]:
        agent.update(lambda batch=batch: batch)
    gflop = update_gflop(agent, lambda: batches[0])
    peak = matmul_peak_gflops()

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        start = time.perf_counter()
        for batch in batches:
            agent.update(lambda batch=batch: batch)
        wall_ms = (time.perf_counter() - start) * 1000 / args.updates
    totals, elementwise = collections.Counter(), collections.Counter()
    for event in profiler.key_averages():
        if event.key.startswith('aten::'):
            milliseconds = event.self_cpu_time_total / 1000 / args.updates
            totals[group_of(event.key)] += milliseconds
            if group_of(event.key) == 'elementwise':
                elementwise[event.key[len('aten::'):]] += milliseconds
    print(f'update_wall_ms: {wall_ms:.2f}  (profiled; the profiler adds a little)')
    for group in ('matmul', 'layer_norm', 'optimizer', 'elementwise'):
        print(f'{group}_ms: {totals[group]:.2f}')
    print('elementwise_top: ' + ', '.join(f'{name} {ms:.2f}'
                                          for name, ms in elementwise.most_common(6)))
    print(f'python_and_dispatch_ms: {max(0.0, wall_ms - sum(totals.values())):.2f}')
    print(f'sampling_ms: {sampling_ms:.2f}  (mixed batch from two buffers, not in update_wall_ms)')
    print(f'matmul_peak_gflops: {peak:.1f}')
    print(f'matmul_at_peak_ms: {gflop / peak * 1000:.2f}  '
          f'({gflop:.3f} GFLOP per update)')


if __name__ == '__main__':
    main()
