"""
A trained reward classifier's backbone as a frozen encoder card.

The classifier (``reward_classifier``) learns to see the task's outcome; its image network
can serve the policy as a frozen encoder trained on the user's own frames.

* ``small_cnn`` backbone: ``SmallCnnEncoder``, the classifier's four convolutions with its
  pooling. ``feature_map`` is the last convolution's output [B, C4, H/8, W/8];
  ``forward`` is the classifier's pooling of it: with spatial softmax the expected image
  position (x, y) of each channel's activation, softmax(a / T) over the map with the
  classifier's learnt temperature T, [B, 2 C4]; with mean pooling the channel means
  [B, C4]. ``feature_dim`` says which (64 for the default channels, spatial softmax). The
  card's architecture is ``small_cnn`` with ``architecture_config`` {channels, pooling,
  image_size}: the spatial softmax's grid is made for the classifier's image size.
* a frozen ResNet backbone: it is never trained with the classifier (only pooling and
  head learn), so the card holds that ResNet unchanged, and ``forward`` is its global
  average as for any ResNet card; ``source.unchanged_resnet`` says so.
"""

import os
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from torch import nn, Tensor

from .frozen_encoders import (build_encoder, CheckpointError, file_sha256, FrozenEncoder,
                              SMALL_CNN, write_card)
from .reward_classifier import (classifier_directory, ClassifierError, load_classifier,
                                POOLINGS, RewardClassifier, SmallConvBackbone, SpatialSoftmax,
                                WEIGHTS_FILE)

# The small CNN's input scaling x / 255 - 0.5 as a card's per-channel normalisation.
SMALL_CNN_MEAN = (0.5, 0.5, 0.5)
SMALL_CNN_STD = (1.0, 1.0, 1.0)


class SmallCnnEncoder(FrozenEncoder):
    """The reward classifier's small CNN and pooling, frozen; see the module docstring."""

    architecture = SMALL_CNN

    def __init__(self, channels: Sequence[int] = (16, 32, 32, 32),
                 pooling: str = 'spatial_softmax',
                 image_size: Tuple[int, int] = (128, 128)) -> None:
        """Build the layers for ``image_size`` (height, width) frames, untrained, frozen."""
        super().__init__(SMALL_CNN_MEAN, SMALL_CNN_STD)
        if pooling not in POOLINGS:
            raise ClassifierError(f'pooling must be one of {POOLINGS}, not {pooling!r}')
        self.backbone = SmallConvBackbone(3, channels)
        self.image_size = tuple(int(v) for v in image_size)
        with torch.no_grad():
            height, width = self.backbone(torch.zeros(1, 3, *self.image_size)).shape[2:]
        self.pool: Optional[nn.Module] = (SpatialSoftmax(height, width)
                                          if pooling == 'spatial_softmax' else None)
        self.feature_dim = int(channels[-1]) * (2 if self.pool is not None else 1)
        self.architecture_config = {'channels': [int(c) for c in channels],
                                    'pooling': pooling, 'image_size': list(self.image_size)}
        self._freeze(None)

    @torch.no_grad()
    def feature_map(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to the last convolution's [B, C4, H/8, W/8]."""
        return self.module_feature_map(images)

    def module_feature_map(self, images: Tensor) -> Tensor:
        """Compute ``feature_map`` differentiably (the classifier's own scaling inside)."""
        return self.backbone(images)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to the classifier's pooled features [B, feature_dim]."""
        if tuple(images.shape[-2:]) != self.image_size:
            raise ValueError(f'this small_cnn encoder takes {self.image_size[0]}x'
                             f'{self.image_size[1]} images (its classifier\'s), got '
                             f'{images.shape[-2]}x{images.shape[-1]}')
        features = self.feature_map(images)
        if self.pool is None:
            return features.mean(dim=(2, 3))
        return self.pool(features)


def encoder_from_card(card: Dict[str, Any], source: str) -> SmallCnnEncoder:
    """Build the (unfilled) small_cnn encoder a card describes; CheckpointError if it cannot."""
    settings = card.get('architecture_config')
    try:
        return SmallCnnEncoder(settings['channels'], settings['pooling'],
                               tuple(settings['image_size']))
    except (TypeError, KeyError, ValueError, ClassifierError) as error:
        raise CheckpointError(f'{source}: bad architecture_config for small_cnn '
                              f'({settings!r}): {error}') from None


def classifier_backbone(model: RewardClassifier) -> FrozenEncoder:
    """Return a frozen encoder computing ``model``'s per-camera features (a copy)."""
    config = model.config
    if config.backbone != SMALL_CNN:
        resnet = model.backbone.resnet
        encoder = build_encoder(resnet.architecture, mean=resnet.image_mean,
                                std=resnet.image_std)
        encoder.load_state_dict(resnet.state_dict())
        return encoder
    encoder = SmallCnnEncoder(config.channels, config.pooling, config.image_size)
    encoder.backbone.load_state_dict(model.backbone.state_dict())
    if encoder.pool is not None:
        encoder.pool.load_state_dict(model.pool.state_dict())
    return encoder


def export_classifier_encoder(classifier_dir: str, out_path: str,
                              overwrite: bool = False) -> Dict[str, Any]:
    """
    Write the backbone of the classifier saved in ``classifier_dir`` as a card; return it.

    Raises ``ClassifierError`` (a bad classifier) or ``CheckpointError`` (a bad card
    name, an existing card without ``overwrite``), each with a one-line message.
    """
    model = load_classifier(classifier_dir)
    config = model.config
    if config.image_size[0] != config.image_size[1]:
        raise ClassifierError(f'{classifier_dir}: the classifier takes '
                              f'{config.image_size[0]}x{config.image_size[1]} images; an '
                              'encoder card is for square images')
    weights = os.path.join(classifier_directory(classifier_dir), WEIGHTS_FILE)
    source = {'kind': 'reward_classifier', 'path': os.path.abspath(classifier_dir),
              'sha256': file_sha256(weights), 'backbone': config.backbone,
              'pooling': config.pooling, 'cameras': list(config.camera_names),
              'unchanged_resnet': config.backbone != SMALL_CNN}
    return write_card(classifier_backbone(model), out_path, config.image_size[0], source,
                      overwrite)
