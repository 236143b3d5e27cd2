"""Process-wide settings for a CPU learner (threads, allocator) and the arithmetic it uses."""

import ctypes
import ctypes.util
import os
from typing import Optional

import torch

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3


def configure_torch(num_threads: Optional[int] = None, keep_freed_memory: bool = True) -> str:
    """
    Set torch's intra-op threads (default: every core) and tune the allocator; describe both.

    Call once at learner start-up, not in library code: both settings are process-wide.
    """
    torch.set_num_threads(num_threads or os.cpu_count() or 1)
    allocator = 'glibc malloc'
    if keep_freed_memory and keep_freed_memory_in_process():
        allocator += ' (freed memory kept)'
    return f'{torch.get_num_threads()} threads, {allocator}'


def keep_freed_memory_in_process() -> bool:
    """
    Stop glibc from returning freed blocks to the kernel (mmap / trim thresholds to 1 GiB).

    Why: torch on CPU allocates each activation with malloc. Blocks over glibc's adaptive
    mmap threshold (a few hundred kB, e.g. a [2, 256, 256] float tensor) are fresh mmaps,
    so every update page-faults hundreds of zeroed pages back in (measured: ~270 minor
    faults per state-only SAC update, ~0.01 with this). The price: the process's resident
    size stays at its high-water mark. Returns False where libc is not glibc.
    """
    libc_name = ctypes.util.find_library('c')
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name)
        one_gib = 1 << 30
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, one_gib)
                    and libc.mallopt(_M_TRIM_THRESHOLD, one_gib))
    except (OSError, AttributeError):
        return False


def native_bf16(device: torch.device) -> bool:
    """
    Say whether ``device`` computes bfloat16 matrix products natively.

    CPU: AMX tiles or AVX-512 BF16 (without them torch converts to float32 around every
    product, which is slower than float32 alone); CUDA: ``torch.cuda.is_bf16_supported``.
    """
    if device.type == 'cuda':
        return torch.cuda.is_bf16_supported()
    if device.type == 'cpu':
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    return False


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """Return the dtype of the matrix products: for fp32, bf16, or auto on ``device``."""
    if precision == 'auto':
        precision = 'bf16' if native_bf16(device) else 'fp32'
    return {'fp32': torch.float32, 'bf16': torch.bfloat16}[precision]
