"""
Self-supervised pretraining of a frozen-encoder architecture on recorded camera frames.

Objective ``denoising_autoencoder``: the encoder's pooled feature vector, the very vector
the policy will see, must carry enough of the picture to redraw it, from a jittered copy.
For a frame x (uint8, 3 x H x W, any camera) in a batch:

    s  = shift(x)           the frame shifted by up to +-p pixels (edges replicated),
                            DrQ's augmentation; the target is shifted the same way
    x~ = clip(g * ((s - m) * c + m) + 255 b, 0, 255)
                            colour jitter of the input only: contrast c ~ U[1 - a, 1 + a]
                            about the frame's mean m, brightness b ~ U[-beta, beta] and a
                            gain g_k ~ U[1 - gamma, 1 + gamma] per colour channel
    z  = mean_ij f(x~)[:, i, j]
                            the encoder's forward: its feature map averaged over positions
    y^ = D(z)               a decoder: linear to 128 x 4 x 4, then upsampling 3x3
                            convolutions with ReLU to r x r RGB (r = target_size)
    y  = avgpool(s / 255)   the shifted, unjittered frame, area-downsampled to r x r
    L  = sum_k w_k (y^_k - y_k)^2 / sum_k w_k,   w = 1 + lambda * |y - y_mean_camera|
                            over the batch's pixels and channels; y_mean_camera is the
                            mean target of that camera over the data, so pixels where a
                            frame differs from the usual picture (the arm, the cube, things
                            moved) weigh up to 1 + lambda times more than a static
                            background that the decoder could draw without looking

Keeping the target's geometry (same shift) but not its colours asks the features to say
where things are and to ignore lighting. Encoder and decoder train together with AdamW;
BatchNorm layers use the batch's statistics while training. Afterwards the BatchNorm
running statistics are recomputed over every (unaugmented) frame at the encoder's input
size, as the frozen encoder will see them, and the encoder is frozen (eval mode, no
gradients). Training stops after ``minutes`` of wall-clock time or ``max_epochs`` epochs,
whichever comes first (at least one batch).
"""

from dataclasses import dataclass, field
import math
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn, Tensor
import torch.nn.functional as F
from tqdm import tqdm

from .encoders import random_shift
from .resnets import ARCHITECTURES, build_encoder, FrozenEncoder

OBJECTIVE = 'denoising_autoencoder'


@dataclass
class PretrainingConfig:
    """Settings of ``pretrain_encoder``."""

    architecture: str = 'resnet10'
    seed: int = 0
    minutes: float = 10.0
    max_epochs: Optional[int] = None
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    image_size: int = 128         # frames are resized to this square size (the card's)
    target_size: int = 32         # side r of the redrawn picture
    shift_pad: int = 4            # p
    contrast: float = 0.3         # a
    brightness: float = 0.15      # beta
    channel_gain: float = 0.15    # gamma
    change_weight: float = 4.0    # lambda
    progress: bool = True

    def __post_init__(self) -> None:
        """Reject settings that cannot train."""
        problems = []
        if self.architecture not in ARCHITECTURES:
            problems.append(f'architecture must be one of {", ".join(ARCHITECTURES)}, '
                            f'not {self.architecture!r}')
        if not self.minutes > 0 or (self.max_epochs is not None and self.max_epochs < 1):
            problems.append('minutes must be positive and max_epochs at least 1')
        if self.batch_size < 2:
            problems.append('batch_size must be at least 2 (BatchNorm needs a batch)')
        if self.image_size < 32 or self.target_size < 4 or self.target_size % 4:
            problems.append('image_size must be >= 32 and target_size a multiple of 4')
        if min(self.shift_pad, self.contrast, self.brightness, self.channel_gain,
               self.change_weight) < 0 or max(self.contrast, self.channel_gain) >= 1:
            problems.append('augmentation strengths must be >= 0 (contrast, gain below 1)')
        if problems:
            raise ValueError('invalid pretraining config: ' + '; '.join(problems))


@dataclass
class PretrainingResult:
    """The frozen encoder and what its training did."""

    encoder: FrozenEncoder
    frames: int
    steps: int
    epochs: float                 # passes over the frames (fractional at the time limit)
    seconds: float
    initial_loss: float           # mean loss of the first 10 % of steps
    final_loss: float             # mean loss of the last 10 % of steps
    history: List[Dict[str, float]] = field(default_factory=list)   # per epoch

    def source(self, config: PretrainingConfig, **where) -> Dict[str, object]:
        """Return the card's ``source`` entry: objective, data and training figures."""
        return {'kind': 'self_supervised', 'objective': OBJECTIVE, **where,
                'frames': self.frames, 'epochs': round(self.epochs, 2), 'steps': self.steps,
                'seconds': round(self.seconds, 1), 'seed': config.seed,
                'image_size': config.image_size, 'target_size': config.target_size,
                'initial_loss': round(self.initial_loss, 6),
                'final_loss': round(self.final_loss, 6)}


class Decoder(nn.Module):
    """Pooled features [B, F] -> [B, 3, r, r]: linear to 128 x 4 x 4, upsampling convs."""

    def __init__(self, feature_dim: int, target_size: int) -> None:
        """Build log2(r / 4) upsampling stages (nearest x2, 3x3 conv, ReLU) and an RGB conv."""
        super().__init__()
        self.target_size = target_size
        self.project = nn.Linear(feature_dim, 128 * 16)
        stages, channels = [], 128
        for _ in range(max(0, math.ceil(math.log2(target_size / 4)))):
            out = max(16, channels // 2)
            stages += [nn.Upsample(scale_factor=2, mode='nearest'),
                       nn.Conv2d(channels, out, 3, padding=1), nn.ReLU(inplace=True)]
            channels = out
        self.stages = nn.Sequential(*stages)
        self.rgb = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, features: Tensor) -> Tensor:
        """Redraw the picture from the features."""
        x = F.relu(self.project(features)).view(-1, 128, 4, 4)
        x = self.rgb(self.stages(x))
        if x.shape[-1] != self.target_size:
            x = F.interpolate(x, size=(self.target_size,) * 2, mode='bilinear',
                              align_corners=False)
        return x


def resize_frames(frames: np.ndarray, size: int) -> Tensor:
    """Return uint8 [N, H, W, 3] frames as uint8 [N, 3, size, size] (area-resized if needed)."""
    pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    if tuple(pixels.shape[-2:]) == (size, size):
        return pixels.contiguous()
    chunks = [F.interpolate(pixels[i:i + 256].float(), size=(size, size), mode='area',
                            antialias=False).round_().clamp_(0, 255).to(torch.uint8)
              for i in range(0, len(pixels), 256)]
    return torch.cat(chunks)


def jitter(pixels: Tensor, config: PretrainingConfig, generator: torch.Generator) -> Tensor:
    """Colour-jitter float [B, 3, H, W] pixels (0..255); see the module docstring."""
    b = pixels.shape[0]
    draws = torch.rand(b, 5, 1, 1, generator=generator) * 2.0 - 1.0
    contrast = 1.0 + config.contrast * draws[:, :1]
    brightness = 255.0 * config.brightness * draws[:, 1:2]
    gain = 1.0 + config.channel_gain * draws[:, 2:5]
    mean = pixels.mean(dim=(1, 2, 3), keepdim=True)
    return (gain * ((pixels - mean) * contrast + mean) + brightness).clamp_(0.0, 255.0)


def targets_of(pixels: Tensor, size: int) -> Tensor:
    """Area-downsample uint8/float [B, 3, H, W] pixels to float [B, 3, size, size] in [0, 1]."""
    return F.adaptive_avg_pool2d(pixels.float() / 255.0, size)


@torch.no_grad()
def recalibrate_batch_norm(encoder: FrozenEncoder, pixels: Tensor, batch_size: int) -> None:
    """Recompute every BatchNorm's running mean and variance over ``pixels`` (uint8)."""
    norms = [m for m in encoder.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None        # a cumulative average over every batch
        norm.train()
    for start in range(0, len(pixels), batch_size):
        encoder.module_feature_map(pixels[start:start + batch_size])
    for norm in norms:
        norm.momentum = 0.1
        norm.eval()


def pretrain_encoder(frames: Sequence[np.ndarray], config: Optional[PretrainingConfig] = None,
                     on_epoch: Optional[Callable[[Dict[str, float]], None]] = None
                     ) -> PretrainingResult:
    """
    Pretrain ``config.architecture`` on ``frames``; return the frozen encoder and figures.

    ``frames``: one uint8 [N, H, W, 3] array per camera (the loss weights of
    ``change_weight`` come from each camera's own mean picture). Seeded by ``config.seed``
    (the encoder's initial weights are ``build_encoder(architecture, seed)``'s).
    """
    config = config or PretrainingConfig()
    if not frames or any(np.asarray(f).ndim != 4 or np.asarray(f).shape[-1] != 3
                         or np.asarray(f).dtype != np.uint8 for f in frames):
        raise ValueError('frames must be uint8 arrays [N, H, W, 3], one per camera')
    pixel_sets = [resize_frames(np.asarray(f), config.image_size) for f in frames]
    counts = [len(p) for p in pixel_sets]
    if sum(counts) < 2:
        raise ValueError(f'need at least 2 frames to pretrain on, got {sum(counts)}')
    pixels = torch.cat(pixel_sets)
    camera_of = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    mean_targets = torch.stack([targets_of(p, config.target_size).mean(0) for p in pixel_sets])
    encoder = build_encoder(config.architecture, seed=config.seed)
    # The decoder's initialisation and random_shift draw from torch's global generator:
    # seeded here, and restored afterwards.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        result = _train(encoder, pixels, camera_of, mean_targets, config, on_epoch)
    recalibrate_batch_norm(encoder, pixels, 2 * config.batch_size)
    encoder.requires_grad_(False)
    encoder.eval()
    return result


def _train(encoder: FrozenEncoder, pixels: Tensor, camera_of: Tensor, mean_targets: Tensor,
           config: PretrainingConfig,
           on_epoch: Optional[Callable[[Dict[str, float]], None]]) -> PretrainingResult:
    """Run the training loop of ``pretrain_encoder`` (encoder left in training mode)."""
    generator = torch.Generator().manual_seed(config.seed)
    decoder = Decoder(encoder.feature_dim, config.target_size)
    encoder.requires_grad_(True)
    parameters = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    for module in encoder.modules():    # FrozenEncoder.train() would keep eval mode
        module.training = True
    batch_size = min(config.batch_size, len(pixels))
    batches_per_epoch = len(pixels) // batch_size
    budget = config.minutes * 60.0
    losses, history, steps = [], [], 0
    start = time.monotonic()
    bar = tqdm(total=int(round(budget)), desc='pretraining', unit='s',
               disable=not config.progress,
               bar_format='{desc}: {percentage:3.0f}%|{bar}| {n}/{total} s {postfix}')
    try:
        epoch = 0
        while config.max_epochs is None or epoch < config.max_epochs:
            order = torch.randperm(len(pixels), generator=generator)
            epoch_losses = []
            for index in range(batches_per_epoch):
                batch = order[index * batch_size:(index + 1) * batch_size]
                shifted = (random_shift(pixels[batch], config.shift_pad)
                           if config.shift_pad else pixels[batch])
                target = targets_of(shifted, config.target_size)
                weight = 1.0 + config.change_weight * (
                    target - mean_targets[camera_of[batch]]).abs()
                noisy = jitter(shifted.float(), config, generator)
                redrawn = decoder(encoder.module_feature_map(noisy).mean(dim=(2, 3)))
                loss = (weight * (redrawn - target) ** 2).sum() / weight.sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                steps += 1
                epoch_losses.append(loss.item())
                elapsed = time.monotonic() - start
                bar.update(min(int(elapsed), bar.total) - bar.n)
                bar.set_postfix_str(f'epoch {epoch + 1}, loss {loss.item():.4f}')
                if elapsed >= budget:
                    break
            losses += epoch_losses
            fraction = len(epoch_losses) / batches_per_epoch
            history.append({'epoch': epoch + fraction, 'loss': float(np.mean(epoch_losses)),
                            'seconds': time.monotonic() - start})
            if on_epoch is not None:
                on_epoch(history[-1])
            epoch += 1
            if time.monotonic() - start >= budget:
                break
    finally:
        bar.close()
    tenth = max(1, len(losses) // 10)
    return PretrainingResult(
        encoder, frames=len(pixels), steps=steps, epochs=history[-1]['epoch'],
        seconds=time.monotonic() - start, initial_loss=float(np.mean(losses[:tenth])),
        final_loss=float(np.mean(losses[-tenth:])), history=history)
