"""
Image encoders and the observation encoder shared by actor and critics.

Observations are dicts of tensors:

* ``state``: float [B, state_dim] proprioception (already normalised by the agent),
* ``pixels``: uint8 [B, N, C, H, W] camera images (end-to-end CNN, or input of the frozen net),
* ``features``: float [B, N, 512] cached frozen-encoder features, one row per camera.

The observation encoder maps every camera through the same image network (shared weights),
projects each camera's features to a small bottleneck (Linear, LayerNorm, tanh) and
concatenates them with the state: [B, state_dim + N * bottleneck].
"""

import hashlib
import itertools
import math
from typing import Dict, List, Optional, Sequence, Tuple

from safetensors.torch import load_file
import torch
from torch import nn, Tensor
import torch.nn.functional as F

from .config import AgentConfig
from .serialization import load_module_tensors

FROZEN_FEATURE_DIM = 512
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def random_shift(images: Tensor, pad: int) -> Tensor:
    """
    Shift each image independently by up to +-pad pixels (DrQ augmentation), batched.

    Equivalent to replicate-padding by `pad` and cropping back at a random offset per sample:
    out[b, :, i, j] = img[b, :, clamp(i + dy_b), clamp(j + dx_b)], dy, dx ~ U{-pad..pad}.
    Works on [B, C, H, W] of any dtype (uint8 is cheapest) with one gather, no Python loop.
    """
    b, c, h, w = images.shape
    shifts = torch.randint(-pad, pad + 1, (b, 2), device=images.device)
    rows = (torch.arange(h, device=images.device) + shifts[:, :1]).clamp_(0, h - 1)  # [B, H]
    cols = (torch.arange(w, device=images.device) + shifts[:, 1:]).clamp_(0, w - 1)  # [B, W]
    flat_index = (rows.unsqueeze(2) * w + cols.unsqueeze(1)).view(b, 1, h * w)
    return images.reshape(b, c, h * w).gather(2, flat_index.expand(b, c, h * w)).view(b, c, h, w)


class SmallCNN(nn.Module):
    """Three-layer conv net trained end to end from uint8 images; output is flattened."""

    def __init__(self, channels: Sequence[int], in_channels: int, image_size: int) -> None:
        """Build conv 8x8/4, 4x4/2, 3x3/1 with ReLUs and record the flattened output size."""
        super().__init__()
        c1, c2, c3 = channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c1, 8, stride=4), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2), nn.ReLU(),
            nn.Conv2d(c2, c3, 3, stride=1), nn.ReLU(),
            nn.Flatten())
        with torch.no_grad():
            dummy = torch.zeros(1, in_channels, image_size, image_size)
            self.output_dim = self.net(dummy).shape[1]

    def forward(self, images: Tensor) -> Tensor:
        """Map uint8 [B, C, H, W] to features [B, output_dim]."""
        return self.net(images.to(torch.float32) / 255.0 - 0.5)


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


class FrozenResNet10(nn.Module):
    """
    ResNet-10 (one basic block per stage) used as a frozen feature extractor.

    Parameter names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1`` ...),
    so pretrained weights can be converted once into a local safetensors file and loaded with
    ``load_weights``; nothing is ever downloaded. Input uint8 [B, 3, H, W], output
    globally average-pooled features [B, 512]. Always in eval mode, never trained.
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        """
        Build the network with random weights and freeze it.

        With ``seed`` the weights come from a generator of their own: the actor and the
        learner build their encoders apart, in other processes and while other threads
        draw from torch's global generator, and must still get the same network.
        """
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(64, 64, 1))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2))
        self.layer4 = nn.Sequential(BasicBlock(256, FROZEN_FEATURE_DIM, 2))
        self.register_buffer('pixel_mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255,
                             persistent=False)
        self.register_buffer('pixel_std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255,
                             persistent=False)
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
            for conv in (m for m in self.modules() if isinstance(m, nn.Conv2d)):
                # nn.Conv2d's own initialisation, drawn from the private generator
                nn.init.kaiming_uniform_(conv.weight, a=math.sqrt(5), generator=generator)
        self.requires_grad_(False)
        self.eval()
        # Convolutions with their BatchNorm folded in, rebuilt when any weight changes; a
        # plain attribute, so neither state_dict() nor the parameters blob carry it.
        self._folded: Optional[Tuple[tuple, List[FoldedConv]]] = None
        self._fingerprint: Optional[Tuple[tuple, str]] = None

    def train(self, mode: bool = True) -> 'FrozenResNet10':
        """Stay in eval mode whatever is asked (BatchNorm statistics are frozen)."""
        return super().train(False)

    def load_weights(self, path: str) -> None:
        """Load weights from a local safetensors file, checking names and shapes."""
        load_module_tensors(self, load_file(path), source=path)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to pooled features [B, 512] (the modules' function)."""
        # Folded convolutions in channels-last layout compute the same function ~30% faster
        # on a CPU (no BatchNorm passes, a fast max-pool): the actor runs this every step.
        stem, *blocks = self._folded_convs()
        x = (images.to(torch.float32) - self.pixel_mean) / self.pixel_std
        x = self.maxpool(F.relu(stem(x.contiguous(memory_format=torch.channels_last))))
        for conv1, conv2, downsample in zip(blocks[0::3], blocks[1::3], blocks[2::3]):
            shortcut = x if downsample is None else downsample(x)
            x = F.relu(conv2(F.relu(conv1(x))) + shortcut)
        return x.mean(dim=(2, 3))

    def fingerprint(self) -> str:
        """
        Return a short hash of the weights (hex): equal fingerprints, equal features.

        Features computed by one process (the actor, to act) are reused by another (the
        learner, to fill its buffers) only when their encoders' fingerprints match.
        """
        key = self._weights_key()
        if self._fingerprint is None or self._fingerprint[0] != key:
            digest = hashlib.sha256()
            for name, tensor in sorted(self.state_dict().items()):
                digest.update(name.encode())
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

    def _folded_convs(self) -> List[Optional['FoldedConv']]:
        """Return stem, then (conv1, conv2, downsample) per block, folded from the modules."""
        key = self._weights_key()
        if self._folded is None or self._folded[0] != key:
            convs = [FoldedConv(self.conv1, self.bn1)]
            for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
                for block in layer:
                    convs += [FoldedConv(block.conv1, block.bn1),
                              FoldedConv(block.conv2, block.bn2),
                              None if block.downsample is None else FoldedConv(
                                  block.downsample[0], block.downsample[1])]
            self._folded = (key, convs)
        return self._folded[1]


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


class ObservationEncoder(nn.Module):
    """Trainable encoder: state + shared per-camera image features -> one feature vector."""

    def __init__(self, config: AgentConfig) -> None:
        """Build the image network (if any) and the per-camera projection."""
        super().__init__()
        self.num_cameras = config.num_cameras
        self.mode = config.image_encoder if config.num_cameras > 0 else 'none'
        self.cnn: Optional[SmallCNN] = None
        self.output_dim = config.state_dim
        if self.mode == 'none':
            return
        if self.mode == 'cnn':
            self.cnn = SmallCNN(config.cnn_channels, config.image_channels, config.image_size)
            image_dim = self.cnn.output_dim
        else:
            image_dim = FROZEN_FEATURE_DIM
        self.project = nn.Sequential(nn.Linear(image_dim, config.image_bottleneck_dim),
                                     nn.LayerNorm(config.image_bottleneck_dim), nn.Tanh())
        self.output_dim += config.num_cameras * config.image_bottleneck_dim

    def forward(self, observations: Dict[str, Tensor]) -> Tensor:
        """Return [B, output_dim] features for a batch of (normalised) observations."""
        state = observations['state']
        if self.mode == 'none':
            return state
        if self.mode == 'cnn':
            pixels = observations['pixels']
            per_camera = self.cnn(pixels.flatten(0, 1))  # every camera through the same CNN
        else:
            per_camera = observations['features'].flatten(0, 1).to(torch.float32)
        per_camera = self.project(per_camera).view(state.shape[0], -1)
        return torch.cat([state, per_camera], dim=-1)
