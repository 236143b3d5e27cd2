"""
Frozen ResNet image encoders: uint8 camera images to a 512-channel feature map.

Architectures (``ARCHITECTURES``), all frozen (no gradients, always in eval mode):

* ``resnet10``, ``resnet18``, ``resnet34``: torchvision's ResNet layout (``conv1``, ``bn1``,
  ``layer1.0.conv1`` ..., ``layer2.0.downsample.0``) with BatchNorm, one, two or the
  (3, 4, 6, 3) basic blocks per stage; a 7x7/2 stem with padding 3 and a 3x3/2 max-pool with
  padding 1. The forward pass folds every BatchNorm into its convolution (channels-last).
* ``hilserl_resnet10``: the ResNet-10 of HIL-SERL's JAX code (``serl_launcher/vision/
  resnet_v1.py``, ``resnetv1-10``), published for PyTorch as ``helper2424/resnet10``: GroupNorm
  with 4 groups (eps 1e-5) instead of BatchNorm, the same 7x7/2 stem with padding 3 on each
  side, then JAX 'SAME' padding for the max-pool and every block convolution (asymmetric,
  the extra row and column at the bottom and right, where the stride is 2).

Every encoder normalises inside: x = (pixels / 255 - mean) / std per channel (ImageNet's
statistics unless told otherwise). ``feature_map`` returns [B, 512, h, w] (4x4 for 128x128
input), ``forward`` its global average [B, 512].
"""

import hashlib
import itertools
import math
from typing import List, Optional, Sequence, Tuple

from safetensors.torch import load_file
import torch
from torch import nn, Tensor
import torch.nn.functional as F

from .serialization import load_module_tensors

FROZEN_FEATURE_DIM = 512
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
STAGE_CHANNELS = (64, 128, 256, FROZEN_FEATURE_DIM)
TORCHVISION_DEPTHS = {'resnet10': (1, 1, 1, 1), 'resnet18': (2, 2, 2, 2),
                      'resnet34': (3, 4, 6, 3)}
ARCHITECTURES = (*TORCHVISION_DEPTHS, 'hilserl_resnet10')


def same_padding(size: int, kernel: int, stride: int) -> Tuple[int, int]:
    """
    Return JAX/TensorFlow 'SAME' padding (before, after) of one spatial dimension.

    The output has ceil(size / stride) positions; the total padding is
    max((out - 1) * stride + kernel - size, 0), of which before = total // 2 and the
    rest (one more, when the total is odd) goes after.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_same(x: Tensor, weight: Tensor, stride: int) -> Tensor:
    """Bias-free convolution with 'SAME' padding (F.pad first where it is asymmetric)."""
    kernel_h, kernel_w = weight.shape[-2:]
    top, bottom = same_padding(x.shape[-2], kernel_h, stride)
    left, right = same_padding(x.shape[-1], kernel_w, stride)
    if top == bottom and left == right:
        return F.conv2d(x, weight, None, stride, (top, left))
    return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, None, stride)


def max_pool_same(x: Tensor, kernel: int, stride: int) -> Tensor:
    """Max-pool with 'SAME' padding; padded positions are -inf (never the maximum)."""
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    return F.max_pool2d(F.pad(x, (left, right, top, bottom), value=-math.inf), kernel, stride)


class FrozenEncoder(nn.Module):
    """
    Base of the frozen encoders: normalisation, freezing, pooling and the fingerprint.

    Subclasses build their layers, call ``_freeze(seed)`` and define ``feature_map``.
    """

    architecture = ''

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        """Record the per-channel normalisation (statistics of pixels scaled to [0, 1])."""
        super().__init__()
        self.feature_dim = FROZEN_FEATURE_DIM
        self.image_mean, self.image_std = tuple(mean), tuple(std)
        self._custom_normalisation = (tuple(mean), tuple(std)) != (IMAGENET_MEAN, IMAGENET_STD)
        self.register_buffer('pixel_mean', torch.tensor(mean).view(1, 3, 1, 1) * 255,
                             persistent=False)
        self.register_buffer('pixel_std', torch.tensor(std).view(1, 3, 1, 1) * 255,
                             persistent=False)
        self._fingerprint: Optional[Tuple[tuple, str]] = None

    def _freeze(self, seed: Optional[int]) -> None:
        """
        Freeze the network; with ``seed`` first redraw every convolution kernel.

        The seeded weights come from a generator of their own: the actor and the learner
        build their encoders apart, in other processes and while other threads draw from
        torch's global generator, and must still get the same network.
        """
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
            for conv in (m for m in self.modules() if isinstance(m, nn.Conv2d)):
                # nn.Conv2d's own initialisation, drawn from the private generator
                nn.init.kaiming_uniform_(conv.weight, a=math.sqrt(5), generator=generator)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> 'FrozenEncoder':
        """Stay in eval mode whatever is asked (normalisation statistics are frozen)."""
        return super().train(False)

    def load_weights(self, path: str) -> None:
        """Load weights in this module's names from a safetensors file, checking them."""
        load_module_tensors(self, load_file(path), source=path)

    def normalise(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to normalised float32 images."""
        return (images.to(torch.float32) - self.pixel_mean) / self.pixel_std

    def feature_map(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to the last stage's [B, 512, h, w] map."""
        raise NotImplementedError

    def module_feature_map(self, images: Tensor) -> Tensor:
        """
        Map [B, 3, H, W] pixels (0..255) to ``feature_map``'s map through the modules.

        Differentiable, and each normalisation layer follows its own mode (BatchNorm in
        training mode uses the batch's statistics): the path for pretraining the weights
        (``encoder_pretraining``). In eval mode it computes what ``feature_map`` does.
        """
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to globally averaged features [B, 512]."""
        return self.feature_map(images).mean(dim=(2, 3))

    def fingerprint(self) -> str:
        """
        Return a short hash of the weights (hex): equal fingerprints, equal features.

        Features computed by one process (the actor, to act) are reused by another (the
        learner, to fill its buffers) only when their encoders' fingerprints match. The
        normalisation enters the hash only when it is not ImageNet's, so that the
        fingerprints of the ImageNet-normalised ResNet-10 stay what they were.
        """
        key = self._weights_key()
        if self._fingerprint is None or self._fingerprint[0] != key:
            digest = hashlib.sha256()
            for name, tensor in sorted(self.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            if self._custom_normalisation:
                for tensor in (self.pixel_mean, self.pixel_std):
                    digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            self._fingerprint = (key, digest.hexdigest()[:16])
        return self._fingerprint[1]

    def _weights_key(self) -> tuple:
        # Tensor._version counts in-place writes (load_state_dict, load_weights); data_ptr
        # changes when the module moves to another device. BatchNorm's num_batches_tracked
        # is left out: it does not change the function, and loading any part of an agent
        # (a policy blob, strict=False) rewrites it, which would refold and rehash the
        # encoder in the actor's first tick after every policy swap (~50 ms).
        return tuple((t.data_ptr(), t._version)
                     for name, t in itertools.chain(self.named_parameters(),
                                                    self.named_buffers())
                     if not name.endswith('num_batches_tracked'))


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs with BatchNorm and a residual connection)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        """Build the block; a 1x1 conv projects the shortcut when the shape changes."""
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: Optional[nn.Module] = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class TorchvisionResNet(FrozenEncoder):
    """
    ResNet-10/18/34 in torchvision's layout and parameter names, BatchNorm in eval mode.

    Pretrained weights are converted once into a local safetensors file (see
    ``frozen_encoders``); nothing is ever downloaded.
    """

    def __init__(self, architecture: str, seed: Optional[int] = None,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        """Build ``architecture`` (a key of TORCHVISION_DEPTHS) with random weights, frozen."""
        super().__init__(mean, std)
        self.architecture = architecture
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_channels = 64
        for stage, (depth, channels) in enumerate(
                zip(TORCHVISION_DEPTHS[architecture], STAGE_CHANNELS)):
            blocks = [BasicBlock(in_channels if index == 0 else channels, channels,
                                 2 if stage > 0 and index == 0 else 1)
                      for index in range(depth)]
            self.add_module(f'layer{stage + 1}', nn.Sequential(*blocks))
            in_channels = channels
        self._freeze(seed)
        # Convolutions with their BatchNorm folded in, rebuilt when any weight changes; a
        # plain attribute, so neither state_dict() nor the parameters blob carry it.
        self._folded: Optional[Tuple[tuple, List[Optional[FoldedConv]]]] = None

    @torch.no_grad()
    def feature_map(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to [B, 512, H/32, W/32] (channels-last memory)."""
        # Folded convolutions in channels-last layout compute the same function ~30% faster
        # on a CPU (no BatchNorm passes, a fast max-pool): the actor runs this every step.
        stem, *blocks = self._folded_convs()
        x = self.normalise(images).contiguous(memory_format=torch.channels_last)
        x = self.maxpool(F.relu(stem(x)))
        for conv1, conv2, downsample in zip(blocks[0::3], blocks[1::3], blocks[2::3]):
            shortcut = x if downsample is None else downsample(x)
            x = F.relu(conv2(F.relu(conv1(x))) + shortcut)
        return x

    def module_feature_map(self, images: Tensor) -> Tensor:
        """Compute ``feature_map`` through the modules (BatchNorm unfolded, differentiable)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.normalise(images)))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def _folded_convs(self) -> List[Optional['FoldedConv']]:
        """Return stem, then (conv1, conv2, downsample) per block, folded from the modules."""
        key = self._weights_key()
        if self._folded is None or self._folded[0] != key:
            convs: List[Optional[FoldedConv]] = [FoldedConv(self.conv1, self.bn1)]
            for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
                for block in layer:
                    convs += [FoldedConv(block.conv1, block.bn1),
                              FoldedConv(block.conv2, block.bn2),
                              None if block.downsample is None else FoldedConv(
                                  block.downsample[0], block.downsample[1])]
            self._folded = (key, convs)
        return self._folded[1]


class FrozenResNet10(TorchvisionResNet):
    """ResNet-10 (one basic block per stage), torchvision names: the default frozen encoder."""

    def __init__(self, seed: Optional[int] = None, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        """Build the network with random weights (drawn from ``seed`` if given), frozen."""
        super().__init__('resnet10', seed, mean, std)


class FoldedConv:
    """
    A bias-free convolution followed by an eval-mode BatchNorm, as one convolution.

    BN(conv(x)) = conv(x) * s + (beta - mean * s) with s = gamma / sqrt(var + eps), so
    the kernel scales by s per output channel and the shift becomes the bias.
    """

    def __init__(self, conv: nn.Conv2d, norm: nn.BatchNorm2d) -> None:
        """Fold ``norm`` into a copy of ``conv``'s kernel (channels-last)."""
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        self.weight = (conv.weight * scale.view(-1, 1, 1, 1)).contiguous(
            memory_format=torch.channels_last)
        self.bias = norm.bias - norm.running_mean * scale
        self.stride, self.padding = conv.stride, conv.padding

    def __call__(self, x: Tensor) -> Tensor:
        """Apply the folded convolution."""
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class GroupNormBlock(nn.Module):
    """HIL-SERL's basic block: 'SAME' convs, GroupNorm(4), projection when channels change."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        """Build the block (kernels only: the padding depends on the input size)."""
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, bias=False)
        self.gn1 = nn.GroupNorm(4, out_channels, eps=1e-5)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, bias=False)
        self.gn2 = nn.GroupNorm(4, out_channels, eps=1e-5)
        self.downsample: Optional[nn.Sequential] = None
        if in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.GroupNorm(4, out_channels, eps=1e-5))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block: relu(gn2(conv2(relu(gn1(conv1(x))))) + shortcut(x))."""
        out = F.relu(self.gn1(conv_same(x, self.conv1.weight, self.stride)))
        out = self.gn2(conv_same(out, self.conv2.weight, 1))
        shortcut = x
        if self.downsample is not None:
            shortcut = self.downsample[1](conv_same(x, self.downsample[0].weight, self.stride))
        return F.relu(out + shortcut)


class HilSerlResNet10(FrozenEncoder):
    """
    HIL-SERL's ResNet-10 (GroupNorm, JAX 'SAME' padding), torchvision-style names.

    Names: ``conv1``, ``gn1`` (stem), ``layer{1..4}.0.{conv1,gn1,conv2,gn2}``, and
    ``layer{2..4}.0.downsample.{0,1}`` for the projection shortcut.
    """

    architecture = 'hilserl_resnet10'

    def __init__(self, seed: Optional[int] = None, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        """Build the network with random weights (drawn from ``seed`` if given), frozen."""
        super().__init__(mean, std)
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)   # explicit (3, 3) padding in JAX
        self.gn1 = nn.GroupNorm(4, 64, eps=1e-5)
        in_channels = 64
        for stage, channels in enumerate(STAGE_CHANNELS):
            block = GroupNormBlock(in_channels, channels, 2 if stage > 0 else 1)
            self.add_module(f'layer{stage + 1}', nn.Sequential(block))
            in_channels = channels
        self._freeze(seed)
        # Kernels in channels-last memory like the activations: otherwise every convolution
        # reorders its kernel first (~2x slower here). Loading weights keeps the layout.
        self.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def feature_map(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to [B, 512, ceil(H/32), ceil(W/32)] (channels-last memory)."""
        return self.module_feature_map(images)

    def module_feature_map(self, images: Tensor) -> Tensor:
        """Compute ``feature_map`` differentiably (GroupNorm has no mode to follow)."""
        x = self.normalise(images).contiguous(memory_format=torch.channels_last)
        x = max_pool_same(F.relu(self.gn1(self.conv1(x))), 3, 2)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def build_encoder(architecture: str, seed: Optional[int] = None,
                  mean: Sequence[float] = IMAGENET_MEAN,
                  std: Sequence[float] = IMAGENET_STD) -> FrozenEncoder:
    """Build a frozen encoder with random weights (seeded if ``seed`` is given)."""
    if architecture == 'hilserl_resnet10':
        return HilSerlResNet10(seed, mean, std)
    if architecture == 'resnet10':
        return FrozenResNet10(seed, mean, std)
    if architecture in TORCHVISION_DEPTHS:
        return TorchvisionResNet(architecture, seed, mean, std)
    raise ValueError(f'unknown encoder architecture {architecture!r} '
                     f'(known: {", ".join(ARCHITECTURES)})')
