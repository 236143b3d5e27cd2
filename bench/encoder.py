#!/usr/bin/env python3
"""
Frozen image encoders on this machine's CPU: one control step's cameras; `key: value` lines.

Keys (per architecture A of hilserl_learning.resnets.ARCHITECTURES or small_cnn, the reward
classifier's backbone that `hilserl demo --policy-inputs images` uses by default; T torch
threads):
  encoder_ms_per_frame_A_threadsT   ms to encode one control step: 2 cameras 128x128 uint8
                                    (a batch of 2) to pooled features, float32; median over
                                    --runs after warm-up
  encoder_ms_per_frame              the same for HIL-SERL's encoder (hilserl_resnet10) on
                                    the first thread count (1: the actor's default)
  encoder_bf16_supported            1 when oneDNN has native bf16 kernels (AVX512-BF16 / AMX)
  encoder_bf16_ms_per_frame_A_threadsT      the same under torch.autocast('cpu', bfloat16)
  encoder_bf16_max_rel_error_A      max |bf16 - fp32 feature| / max |fp32 feature|
The bf16 figures are measured with --bf16 on, or with auto (the default) where the CPU has
native bf16 support; elsewhere autocast only emulates bf16 and is slower than float32.
Weights are random (seeded): the speed does not depend on their values.

Run inside the workspace: `make bench` or `scripts/in_env python bench/encoder.py`.
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

import torch  # noqa: E402

from hilserl_learning.classifier_encoder import SmallCnnEncoder  # noqa: E402
from hilserl_learning.resnets import ARCHITECTURES, build_encoder  # noqa: E402

DEFAULT_ARCHITECTURE = 'hilserl_resnet10'
SMALL_CNN = 'small_cnn'


def encoder_for(architecture: str) -> torch.nn.Module:
    """Build ``architecture`` with seeded random weights (small_cnn: the classifier's default)."""
    if architecture == SMALL_CNN:
        torch.manual_seed(0)
        return SmallCnnEncoder().eval()
    return build_encoder(architecture, seed=0)


def median_ms(encoder, pixels, runs: int, bf16: bool) -> float:
    """Median milliseconds of one forward pass, after warm-up."""
    def once():
        with torch.inference_mode(), torch.autocast('cpu', torch.bfloat16, enabled=bf16):
            return encoder(pixels)

    for _ in range(3):
        once()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        once()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    """Measure every architecture at each thread count."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=50, help='timed runs per figure')
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2],
                        help='torch thread counts to measure (default 1 2)')
    parser.add_argument('--architectures', nargs='+', choices=(*ARCHITECTURES, SMALL_CNN),
                        default=[*ARCHITECTURES, SMALL_CNN])
    parser.add_argument('--bf16', choices=('auto', 'on', 'off'), default='auto',
                        help='also measure bf16 autocast (auto: where the CPU supports it)')
    options = parser.parse_args()
    supported = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    bf16 = options.bf16 == 'on' or (options.bf16 == 'auto' and supported)
    print(f'encoder_bf16_supported: {int(supported)}', flush=True)
    pixels = torch.randint(0, 256, (2, 3, 128, 128), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    default_ms = None
    for architecture in options.architectures:
        encoder = encoder_for(architecture)
        for threads in options.threads:
            torch.set_num_threads(threads)
            ms = median_ms(encoder, pixels, options.runs, False)
            print(f'encoder_ms_per_frame_{architecture}_threads{threads}: {ms:.2f}', flush=True)
            if architecture == DEFAULT_ARCHITECTURE and threads == options.threads[0]:
                default_ms = ms
            if bf16:
                ms = median_ms(encoder, pixels, options.runs, True)
                print(f'encoder_bf16_ms_per_frame_{architecture}_threads{threads}: {ms:.2f}',
                      flush=True)
        if bf16:
            with torch.inference_mode():
                exact = encoder(pixels)
                with torch.autocast('cpu', torch.bfloat16):
                    approximate = encoder(pixels).float()
            error = (approximate - exact).abs().max() / exact.abs().max()
            print(f'encoder_bf16_max_rel_error_{architecture}: {error.item():.4f}', flush=True)
    if default_ms is not None:
        print(f'encoder_ms_per_frame: {default_ms:.2f}')


if __name__ == '__main__':
    main()
