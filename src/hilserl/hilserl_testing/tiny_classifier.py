"""
A tiny reward classifier that tells bright frame sets (success) from dark ones.

Tests of the nodes that run a classifier need a saved model at the stream's cameras and
size; what it learned is easy to check from outside: a bright grey frame is a success.
"""

from typing import Dict, Sequence

import numpy as np

DARK, BRIGHT = 40, 215   # grey levels; BRIGHT frame sets are successes


def grey_frames(level: int, count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``count`` noisy ``size`` x ``size`` RGB frames around grey ``level``."""
    noise = rng.integers(-25, 26, size=(count, size, size, 3))
    return np.clip(level + noise, 0, 255).astype(np.uint8)


def train_tiny_classifier(cameras: Sequence[str], size: int, samples: int = 64,
                          epochs: int = 150, seed: int = 0):
    """Return a RewardClassifier trained on ``samples`` bright or dark frame sets."""
    import torch
    from hilserl_learning.reward_classifier import ClassifierConfig, RewardClassifier
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    config = ClassifierConfig(camera_names=tuple(cameras), image_size=(size, size),
                              channels=(4, 4, 4, 4), pooling='mean', hidden_dim=8,
                              dropout=0.0)
    model = RewardClassifier(config, threshold=0.5)
    levels = rng.choice([DARK, BRIGHT], size=samples)
    pixels = torch.from_numpy(np.stack([grey_frames(level, len(cameras), size, rng)
                                        for level in levels]))
    pixels = pixels.permute(0, 1, 4, 2, 3)  # [B, N, C, H, W]
    labels = torch.from_numpy((levels > 128).astype(np.float32))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(epochs):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(pixels), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model


def probabilities(model, level: int, count: int, size: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Return the model's success probability for ``count`` frame sets at ``level``."""
    frames: Dict[str, np.ndarray] = {name: grey_frames(level, count, size, rng)
                                     for name in model.config.camera_names}
    return model.predict_proba(frames)
