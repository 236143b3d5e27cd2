"""
Import torchvision's Python half beside a CPU torch that cannot load its compiled operators.

LeRobot 0.4.4 imports torchvision (its dataset and policy modules do). The only
torchvision release for the workspace's torch 2.13 on the package index is a CUDA build:
its ``_C`` library needs libtorch_cuda, so torchvision skips it, then registers fake
kernels for ``torchvision::nms`` and ``torchvision::qnms``, which do not exist without the
library, and its import fails. Declaring those two operator schemas (no kernels) lets the
import pass. Neither LeRobot's dataset class nor its SAC update calls a torchvision
operator; calling one would raise, never compute something else. Where the compiled
library does load, it is loaded and nothing is declared.

Used by bench/peers.py and :mod:`hilserl.dataset.lerobot_convert`, both run with the
LeRobot venv's python (scripts/peers_venv.sh); it imports only torch.
"""

import glob
import importlib.util
import os

OPERATORS = ('nms', 'qnms')
SCHEMA = '(Tensor dets, Tensor scores, float iou_threshold) -> Tensor'


def allow_torchvision_without_ops() -> None:
    """Make ``import torchvision`` work; call it before LeRobot is imported."""
    import torch
    spec = importlib.util.find_spec('torchvision')
    if spec is None or spec.origin is None:
        return
    libraries = glob.glob(os.path.join(os.path.dirname(spec.origin), '_C*.so'))
    try:
        torch.ops.load_library(libraries[0])
        return  # the real operators
    except (IndexError, OSError):
        pass
    for name in OPERATORS:
        if not _declared(name):
            torch.library.define(f'torchvision::{name}', SCHEMA)


def _declared(name: str) -> bool:
    """Return whether ``torchvision::<name>`` exists already (a second call declares nothing)."""
    import torch
    return hasattr(torch.ops.torchvision, name)
