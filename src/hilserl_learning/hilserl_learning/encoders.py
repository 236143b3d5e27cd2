"""
Image encoders and the observation encoder shared by actor and critics.

Observations are dicts of tensors:

* ``state``: float [B, state_dim] proprioception (already normalised by the agent),
* ``pixels``: uint8 [B, N, C, H, W] camera images (end-to-end CNN, or input of the frozen net),
* ``features``: float [B, N, F] cached frozen-encoder features, one row per camera (F is the
  frozen encoder's ``feature_dim``, 512 for the ResNets; with ``image_pooling``
  'spatial_embedding' the flattened feature map, C * h * w).

The observation encoder maps every camera through the same image network (shared weights),
with 'spatial_embedding' pools each map with learned spatial embeddings (``SpatialEmbedding``),
projects each camera's features to a small bottleneck (Linear, LayerNorm, tanh) and
concatenates them with the state: [B, state_dim + N * bottleneck].
"""

import math
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn, Tensor

from .config import AgentConfig
# The frozen encoders live in resnets; these names stay importable from here.
from .resnets import (FROZEN_FEATURE_DIM, FrozenResNet10,  # noqa: F401
                      IMAGENET_MEAN, IMAGENET_STD)


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


class SpatialEmbedding(nn.Module):
    """
    Learned spatial embeddings (HIL-SERL's pooling of a frozen feature map).

    Each channel c of a map x [B, C, h, w] has E learned kernels k[c, :, e] over the h * w
    positions; the pooled features are y[b, c, e] = sum_p x[b, c, p] k[c, p, e], flattened to
    [B, C * E]. Unlike a global average it keeps *where* a channel fires.
    """

    def __init__(self, channels: int, height: int, width: int, num_embeddings: int) -> None:
        """Draw the kernels from N(0, 1 / (h w)): each embedding starts at the map's scale."""
        super().__init__()
        self.map_shape = (channels, height, width)
        self.kernel = nn.Parameter(torch.randn(channels, height * width, num_embeddings)
                                   / math.sqrt(height * width))
        self.output_dim = channels * num_embeddings

    def forward(self, feature_maps: Tensor) -> Tensor:
        """Map [B, C, h, w] (or its flattening [B, C * h * w]) to [B, C * E]."""
        channels, height, width = self.map_shape
        flat = feature_maps.reshape(-1, channels, height * width)
        return torch.einsum('bcp,cpe->bce', flat, self.kernel).flatten(1)


class ObservationEncoder(nn.Module):
    """Trainable encoder: state + shared per-camera image features -> one feature vector."""

    def __init__(self, config: AgentConfig, frozen_feature_dim: int = FROZEN_FEATURE_DIM,
                 frozen_map_shape: Optional[Tuple[int, int, int]] = None) -> None:
        """
        Build the image network (if any) and the projection of each camera's features.

        ``frozen_map_shape`` (C, h, w) is the frozen encoder's feature map at the image
        size, needed with ``image_pooling`` 'spatial_embedding'.
        """
        super().__init__()
        self.num_cameras = config.num_cameras
        self.mode = config.image_encoder if config.num_cameras > 0 else 'none'
        self.cnn: Optional[SmallCNN] = None
        self.pool: Optional[SpatialEmbedding] = None
        self.output_dim = config.state_dim
        if self.mode == 'none':
            return
        if self.mode == 'cnn':
            self.cnn = SmallCNN(config.cnn_channels, config.image_channels, config.image_size)
            image_dim = self.cnn.output_dim
        elif config.image_pooling == 'spatial_embedding':
            if frozen_map_shape is None:
                raise ValueError("image_pooling 'spatial_embedding' needs the frozen encoder's "
                                 'feature map shape')
            self.pool = SpatialEmbedding(*frozen_map_shape, config.spatial_embeddings)
            image_dim = self.pool.output_dim
        else:
            image_dim = frozen_feature_dim
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
            if self.pool is not None:
                per_camera = self.pool(per_camera)
        per_camera = self.project(per_camera).view(state.shape[0], -1)
        return torch.cat([state, per_camera.float()], dim=-1)   # float32 under autocast too
