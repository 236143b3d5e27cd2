"""
What the replay buffers cache of each camera frame when a frozen encoder sees the images.

A frozen encoder never changes, so each frame is encoded once, when it is stored, and the
buffers keep the result (float16) instead of the pixels. What is kept follows the agent's
configuration:

* ``image_pooling`` 'encoder': the encoder's pooled features, F = ``feature_dim`` (512 for
  a ResNet: 1 KiB a camera in float16; 64 for a small_cnn card with spatial softmax);
* ``image_pooling`` 'spatial_embedding': the whole feature map [C, h, w], flattened
  (F = C h w: 512 x 4 x 4 = 8192 for a ResNet at 128x128, 32 x 16 x 16 = 8192 for a
  small_cnn card, 16 KiB a camera in float16), pooled by the policy's learned spatial
  embeddings (``encoders.SpatialEmbedding``);
* with ``feature_augmentation_copies`` K > 0, the features of K copies of the frame, each
  shifted by up to ``drq_pad`` pixels (``encoders.random_shift``: replicate padding, a random
  crop back), beside the unshifted ones: [K + 1, N, F] per stored frame, K + 1 times the
  memory and the encoding. The buffer hands out one of them at random per sampled
  observation (``ReplayBuffer(feature_copies=K + 1)``); acting always uses the unshifted one.
"""

from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn, Tensor

from .encoders import random_shift


def frozen_map_shape(encoder: nn.Module, image_size: int) -> Tuple[int, int, int]:
    """Return the (C, h, w) of ``encoder.feature_map`` for square frames of ``image_size``."""
    device = next(iter(encoder.buffers()), torch.zeros(0)).device
    probe = torch.zeros(1, 3, image_size, image_size, dtype=torch.uint8, device=device)
    with torch.no_grad():
        return tuple(int(v) for v in encoder.feature_map(probe).shape[1:])


def buffer_feature_layout(agent: Any) -> Dict[str, Any]:
    """Return the ``feature_shape`` and ``feature_copies`` of ``ReplayBuffer`` for ``agent``."""
    if agent.frozen_encoder is None:
        return {'feature_shape': None, 'feature_copies': 1}
    config = agent.config
    return {'feature_shape': (config.num_cameras, agent.cached_feature_dim),
            'feature_copies': config.feature_augmentation_copies + 1}


@torch.no_grad()
def features_to_cache(agent: Any, pixels: Any, features: Optional[Any] = None) -> Tensor:
    """
    Return what the buffers store of uint8 frames [..., N, 3, H, W].

    Without augmentation copies that is ``agent.encode_frames(pixels)`` [..., N, F] (or
    ``features``, when the caller has them already: the actor's, checked by the learner).
    With K copies it is [..., K + 1, N, F]: index 0 the unshifted features, then those of K
    independently shifted copies of every frame.
    """
    pixels = torch.as_tensor(pixels)
    unshifted = (agent.encode_frames(pixels) if features is None
                 else torch.as_tensor(features, dtype=torch.float32, device=agent.device))
    copies = agent.config.feature_augmentation_copies
    if copies == 0:
        return unshifted
    lead = len(pixels.shape) - 4   # dimensions before the cameras'
    frames = pixels.reshape(-1, *pixels.shape[-3:])
    # One copy at a time: the encoder's activations stay the size of one unshifted pass.
    shifted = [agent.encode_frames(random_shift(frames, agent.config.drq_pad))
               .view(unshifted.shape) for _ in range(copies)]
    return torch.stack([unshifted, *shifted], dim=lead)


def acting_observation(observation: Dict[str, Any]) -> Dict[str, Any]:
    """Return one stored observation as the policy acts on it: the unshifted features only."""
    features = observation.get('features')
    if features is None or len(features.shape) == 2:   # [N, F]: no copies
        return observation
    return {**observation, 'features': features[0]}
