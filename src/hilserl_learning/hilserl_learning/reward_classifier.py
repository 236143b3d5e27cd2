"""
Reward classifier: success probability of a task from 1..N camera frames.

Every camera goes through one shared backbone (weights shared across cameras), its feature
map is pooled per camera (spatial softmax: the expected image position of each channel's
activation, or the channel mean), the cameras' pooled features are concatenated in
``camera_names`` order and a small head maps them to one logit; ``sigmoid(logit)`` is the
success probability, and ``probability >= threshold`` is a success.

Backbones:

* ``small_cnn``: four 3x3/5x5 convolutions trained from scratch, sized for 128x128 uint8
  frames on a CPU (about 15 M multiply-adds per camera at 128x128);
* ``resnet10``, ``resnet18``, ``resnet34``, ``hilserl_resnet10``: a frozen pretrained ResNet
  of ``resnets`` (weights from an encoder card, see ``frozen_encoders``; never trained, only
  pooling and head learn). Its weights are saved with the model.

A saved classifier is a directory with ``classifier.safetensors`` (every tensor) and
``classifier.json`` (kind, format version, config, decision threshold, caller extras).
``load_classifier`` checks both against the code and against what the caller can feed it
(camera names, image size) and raises ``ClassifierError`` with a one-line reason.
"""

import dataclasses
from dataclasses import dataclass, field
import os
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn, Tensor

from .frozen_encoders import ARCHITECTURES, build_encoder, load_encoder
from .serialization import (check_format_version, check_tensor_shapes, CheckpointError,
                            FORMAT_VERSION, load_tensors, read_json, save_tensors, write_json)

BACKBONES = ('small_cnn',) + ARCHITECTURES
POOLINGS = ('spatial_softmax', 'mean')
WEIGHTS_FILE = 'classifier.safetensors'
METADATA_FILE = 'classifier.json'
KIND = 'reward_classifier'


class ClassifierError(CheckpointError):
    """A classifier config, file or input that cannot be used; the message is one line."""


@dataclass
class ClassifierConfig:
    """
    Architecture of a reward classifier.

    Images are uint8 RGB, ``image_size`` is (height, width) and the same for every camera.
    """

    camera_names: Tuple[str, ...] = ('front',)
    image_size: Tuple[int, int] = (128, 128)
    image_channels: int = 3
    backbone: str = 'small_cnn'
    # Output channels of the small CNN's four convolutions.
    channels: Tuple[int, int, int, int] = (16, 32, 32, 32)
    pooling: str = 'spatial_softmax'
    hidden_dim: int = 64
    dropout: float = 0.1
    # Encoder card of a frozen ResNet backbone (from `hilserl encoder import`; read once
    # when the model is built, then saved inside the classifier file).
    frozen_weights_path: Optional[str] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Normalise sequences to tuples and reject invalid settings."""
        self.camera_names = tuple(str(name) for name in self.camera_names)
        self.image_size = tuple(int(value) for value in self.image_size)
        self.channels = tuple(int(value) for value in self.channels)
        problems = []
        if not self.camera_names:
            problems.append('at least one camera is needed')
        if len(set(self.camera_names)) != len(self.camera_names):
            problems.append(f'camera names repeat: {list(self.camera_names)}')
        if len(self.image_size) != 2 or min(self.image_size) < 16:
            problems.append(f'image_size must be (height, width), each >= 16, '
                            f'got {self.image_size}')
        if self.backbone not in BACKBONES:
            problems.append(f'backbone must be one of {BACKBONES}, not {self.backbone!r}')
        if self.pooling not in POOLINGS:
            problems.append(f'pooling must be one of {POOLINGS}, not {self.pooling!r}')
        if self.backbone in ARCHITECTURES and self.image_channels != 3:
            problems.append(f'the {self.backbone} backbone needs 3 image channels')
        if len(self.channels) != 4 or min(self.channels) < 1:
            problems.append(f'channels needs 4 positive values, got {self.channels}')
        if self.hidden_dim < 1 or not 0.0 <= self.dropout < 1.0:
            problems.append('hidden_dim must be >= 1 and dropout in [0, 1)')
        if problems:
            raise ClassifierError('invalid classifier config: ' + '; '.join(problems))

    def to_dict(self) -> Dict[str, Any]:
        """Return the config as JSON-able values (the weights path is not saved)."""
        values = dataclasses.asdict(self)
        values.pop('frozen_weights_path')
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> 'ClassifierConfig':
        """Build a config from `to_dict` output, rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ClassifierError(f'unknown classifier config keys {unknown}')
        return cls(**values)


class SpatialSoftmax(nn.Module):
    """
    Per channel, the expected (x, y) image position under softmax(activation / temperature).

    [B, C, H, W] -> [B, 2C] in [-1, 1]; the temperature is learnt. Keeps where things are,
    which is what tells a lifted cube from one on the table.
    """

    def __init__(self, height: int, width: int) -> None:
        """Precompute the pixel coordinate grid of an H x W map."""
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1.0, 1.0, height),
                                torch.linspace(-1.0, 1.0, width), indexing='ij')
        self.register_buffer('grid', torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1),
                             persistent=False)
        self.log_temperature = nn.Parameter(torch.zeros(()))

    def forward(self, features: Tensor) -> Tensor:
        """Return the expected keypoint coordinates, [B, 2C]."""
        b, c = features.shape[:2]
        attention = torch.softmax(features.reshape(b, c, -1) / self.log_temperature.exp(), -1)
        return (attention @ self.grid).reshape(b, 2 * c)


class SmallConvBackbone(nn.Module):
    """Four convolutions (5x5/2, 3x3/2, 3x3/2, 3x3/1) with ReLUs: uint8 -> [B, C4, H/8, W/8]."""

    def __init__(self, in_channels: int, channels: Sequence[int]) -> None:
        """Build the layers."""
        super().__init__()
        c1, c2, c3, c4 = channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, stride=2, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c2, c3, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, stride=1, padding=1))

    def forward(self, images: Tensor) -> Tensor:
        """Map uint8 [B, C, H, W] to a feature map."""
        return self.net(images.to(torch.float32) * (1.0 / 255.0) - 0.5)


class ResNetBackbone(nn.Module):
    """A frozen ResNet of ``resnets`` up to its last stage (no global pooling)."""

    def __init__(self, architecture: str, card_path: Optional[str]) -> None:
        """Build the network from an encoder card, or (a saved classifier's) unfilled."""
        super().__init__()
        if card_path:
            try:
                self.resnet = load_encoder(card_path)[0]
            except (OSError, CheckpointError) as error:
                raise ClassifierError(f'cannot load backbone weights: {error}') from error
            if self.resnet.architecture != architecture:
                raise ClassifierError(f'{card_path} holds a {self.resnet.architecture} '
                                      f'encoder, the backbone is {architecture}')
        else:
            self.resnet = build_encoder(architecture)

    def forward(self, images: Tensor) -> Tensor:
        """Map uint8 [B, 3, H, W] to the [B, 512, h, w] map of the last stage."""
        with torch.no_grad():
            return self.resnet.feature_map(images)


class RewardClassifier(nn.Module):
    """Success classifier over the cameras of ``config``; see the module docstring."""

    def __init__(self, config: ClassifierConfig, threshold: float = 0.5) -> None:
        """Build backbone, pooling and head; `threshold` is the decision threshold."""
        super().__init__()
        self.config = config
        self.threshold = float(threshold)
        if config.backbone in ARCHITECTURES:
            self.backbone: nn.Module = ResNetBackbone(config.backbone,
                                                      config.frozen_weights_path)
        else:
            self.backbone = SmallConvBackbone(config.image_channels, config.channels)
        with torch.no_grad():
            probe = torch.zeros(1, config.image_channels, *config.image_size, dtype=torch.uint8)
            channels, height, width = self.backbone(probe).shape[1:]
        if config.pooling == 'spatial_softmax':
            self.pool: nn.Module = SpatialSoftmax(height, width)
            per_camera = 2 * channels
        else:
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            per_camera = channels
        self.head = nn.Sequential(
            nn.Linear(per_camera * len(config.camera_names), config.hidden_dim),
            nn.LayerNorm(config.hidden_dim), nn.ReLU(inplace=True),
            nn.Dropout(config.dropout), nn.Linear(config.hidden_dim, 1))

    @property
    def camera_names(self) -> Tuple[str, ...]:
        """Return the cameras the classifier reads, in input order."""
        return self.config.camera_names

    def forward(self, pixels: Tensor) -> Tensor:
        """Map uint8 [B, N, C, H, W] (cameras in ``camera_names`` order) to logits [B]."""
        b, n = pixels.shape[:2]
        features = self.pool(self.backbone(pixels.flatten(0, 1)))  # one pass for all cameras
        return self.head(features.reshape(b, -1)).squeeze(-1)

    def trainable_parameters(self):
        """Return the parameters that training updates (a frozen backbone excluded)."""
        return [p for p in self.parameters() if p.requires_grad]

    @torch.inference_mode()
    def predict_proba(self, frames: Mapping[str, np.ndarray]) -> np.ndarray:
        """
        Return success probabilities for frames given per camera.

        `frames` maps each of ``camera_names`` (others are ignored) to uint8 [H, W, C] (one
        frame) or [B, H, W, C]; the result is a float array of shape [] or [B].
        """
        pixels, single = stack_camera_frames(frames, self.config)
        was_training = self.training
        self.eval()
        try:
            probabilities = torch.sigmoid(self(pixels)).numpy()
        finally:
            self.train(was_training)
        return probabilities[0] if single else probabilities

    def predict(self, frames: Mapping[str, np.ndarray]) -> np.ndarray:
        """Return success decisions (probability >= threshold) for `frames`."""
        return self.predict_proba(frames) >= self.threshold


def check_cameras(expected: Sequence[str], available: Iterable[str]) -> None:
    """Raise ClassifierError unless every camera of `expected` is in `available`."""
    available = list(available)
    if any(name not in available for name in expected):
        raise ClassifierError(f'classifier expects cameras {list(expected)}, '
                              f'the stream has {available}')


def stack_camera_frames(frames: Mapping[str, np.ndarray],
                        config: ClassifierConfig) -> Tuple[Tensor, bool]:
    """Return (uint8 [B, N, C, H, W] tensor, whether a single frame was given) from HWC frames."""
    check_cameras(config.camera_names, frames)
    arrays = [np.asarray(frames[name]) for name in config.camera_names]
    single = arrays[0].ndim == 3
    expected = (*config.image_size, config.image_channels)
    for name, array in zip(config.camera_names, arrays):
        shape = array.shape[-3:] if array.ndim in (3, 4) else array.shape
        if shape != expected or array.dtype != np.uint8 or array.ndim != arrays[0].ndim:
            raise ClassifierError(f'camera {name!r}: classifier expects uint8 frames of shape '
                                  f'{expected} (H, W, C), got {array.dtype} {array.shape}')
        if array.ndim == 4 and len(array) != len(arrays[0]):
            raise ClassifierError('every camera needs the same number of frames')
    stacked = np.stack([a[None] if single else a for a in arrays], axis=1)  # [B, N, H, W, C]
    return torch.from_numpy(stacked).permute(0, 1, 4, 2, 3), single


def save_classifier(model: RewardClassifier, directory: str,
                    extra: Optional[Dict[str, Any]] = None) -> None:
    """Save weights, config and threshold (plus JSON-able `extra`) into `directory`."""
    os.makedirs(directory, exist_ok=True)
    save_tensors(os.path.join(directory, WEIGHTS_FILE), model.state_dict())
    # JSON last: a classifier whose JSON exists has complete weights.
    write_json(os.path.join(directory, METADATA_FILE), {
        'kind': KIND, 'format_version': FORMAT_VERSION, 'config': model.config.to_dict(),
        'threshold': model.threshold, 'extra': extra or {}})


def classifier_directory(path: str) -> str:
    """Accept a classifier directory or either of its two files; return the directory."""
    if os.path.basename(path) in (WEIGHTS_FILE, METADATA_FILE):
        return os.path.dirname(path) or '.'
    return path


def load_classifier(path: str, cameras: Optional[Iterable[str]] = None,
                    image_size: Optional[Sequence[int]] = None,
                    device: str = 'cpu') -> RewardClassifier:
    """
    Load a saved classifier in eval mode, checking it against the caller's input.

    `cameras` are the camera names the caller can provide (every camera of the classifier
    must be among them); `image_size` is the caller's (height, width). Any mismatch, a
    missing or corrupt file or a tensor of the wrong shape raises ClassifierError.
    """
    directory = classifier_directory(path)
    metadata_path = os.path.join(directory, METADATA_FILE)
    if not os.path.isfile(metadata_path):
        raise ClassifierError(f'{directory}: not a reward classifier (no {METADATA_FILE})')
    try:
        metadata = read_json(metadata_path)
        check_format_version(metadata, KIND, metadata_path)
        config = ClassifierConfig.from_dict(metadata['config'])
        threshold = float(metadata.get('threshold', 0.5))
    except (CheckpointError, KeyError, TypeError, ValueError) as error:
        raise ClassifierError(f'{metadata_path}: {error}') from error
    if cameras is not None:
        check_cameras(config.camera_names, cameras)
    if image_size is not None and tuple(int(v) for v in image_size) != config.image_size:
        raise ClassifierError(f'classifier expects {config.image_size[0]}x'
                              f'{config.image_size[1]} images, the stream has '
                              f'{image_size[0]}x{image_size[1]}')
    model = RewardClassifier(config, threshold)
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    try:
        tensors = load_tensors(weights_path)
        check_tensor_shapes(model.state_dict(), tensors, weights_path)
    except CheckpointError as error:
        raise ClassifierError(str(error)) from error
    model.load_state_dict(tensors)
    return model.to(device).eval()
