"""
Training and evaluation of the reward classifier from labelled frames held in memory.

Inputs are NumPy arrays: per camera uint8 frames [N, H, W, 3], labels [N] (1 = success)
and the episode of every frame [N]. Frames of one episode are strongly correlated, so the
validation set is whole episodes, never a random subset of frames. Positives are usually
rare, so each class's loss is weighted by N / (2 N_class) (both classes count equally).
Training augments every camera independently (random shift, brightness and contrast
jitter), uses AdamW and stops early when the validation loss has not improved for
``patience`` epochs, keeping the best weights.

The report (``binary_report``) has accuracy, precision, recall at a threshold, the ROC
curve, its area and a suggested threshold: the one maximising Youden's J = TPR - FPR on
the given data (equivalently, balanced accuracy). ``write_report`` stores it as JSON with
a ROC plot (PNG) next to the model.
"""

import copy
from dataclasses import dataclass, field
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .encoders import random_shift
from .reward_classifier import (check_cameras, ClassifierConfig, ClassifierError,
                                RewardClassifier, stack_camera_frames)
from .serialization import write_json

REPORT_FILE = 'report.json'
ROC_PLOT_FILE = 'roc.png'


@dataclass
class TrainingConfig:
    """Hyperparameters of `train_classifier`."""

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    # Fraction of the episodes (not frames) held out for validation; at least one episode.
    validation_fraction: float = 0.2
    # Epochs without a lower validation loss before training stops.
    patience: int = 6
    # Random shift of up to +-shift_pad pixels (replicate padding), per camera and sample.
    shift_pad: int = 4
    # Brightness offset drawn from +-brightness (fraction of full scale) and contrast factor
    # from 1 +- contrast, per camera and sample.
    brightness: float = 0.1
    contrast: float = 0.2
    seed: int = 0
    progress: bool = True


@dataclass
class TrainingResult:
    """What `train_classifier` returns: the model (best epoch, threshold set) and records."""

    model: RewardClassifier
    report: Dict[str, Any]
    history: List[Dict[str, float]] = field(default_factory=list)
    train_episodes: List[int] = field(default_factory=list)
    validation_episodes: List[int] = field(default_factory=list)


def split_by_episode(episode_ids: np.ndarray, labels: np.ndarray, validation_fraction: float,
                     seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """
    Return (train, validation) frame indices; every episode lies wholly on one side.

    At least one episode is held out and at least one kept. Among a few random draws of
    held-out episodes, the first whose validation and training sets both hold both classes
    wins (else the last draw), so the validation metrics are defined whenever possible.
    """
    episode_ids, labels = np.asarray(episode_ids), np.asarray(labels)
    episodes = np.unique(episode_ids)
    if len(episodes) < 2:
        raise ClassifierError(f'need frames from at least 2 episodes to validate on unseen '
                              f'episodes, got {len(episodes)}')
    count = min(len(episodes) - 1, max(1, int(round(validation_fraction * len(episodes)))))
    rng = np.random.default_rng(seed)
    for _ in range(32):
        held_out = rng.choice(episodes, size=count, replace=False)
        validation = np.isin(episode_ids, held_out)
        if (len(np.unique(labels[validation])) == 2
                and len(np.unique(labels[~validation])) == 2):
            break
    return np.flatnonzero(~validation), np.flatnonzero(validation)


def class_weights(labels: np.ndarray) -> Tuple[float, float]:
    """Return (negative, positive) loss weights N / (2 N_class); 1.0 for an absent class."""
    labels = np.asarray(labels).astype(bool)
    total, positives = len(labels), int(labels.sum())
    negatives = total - positives
    return (total / (2.0 * negatives) if negatives else 1.0,
            total / (2.0 * positives) if positives else 1.0)


def augment(pixels: torch.Tensor, config: TrainingConfig,
            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Shift and jitter uint8 [B, N, C, H, W] per camera; return uint8 of the same shape."""
    b, n, c, h, w = pixels.shape
    images = pixels.reshape(b * n, c, h, w)
    if config.shift_pad > 0:
        images = random_shift(images, config.shift_pad)
    images = images.to(torch.float32)
    if config.brightness > 0 or config.contrast > 0:
        factors = torch.rand(b * n, 2, 1, 1, generator=generator) * 2.0 - 1.0
        contrast = 1.0 + config.contrast * factors[:, :1]
        brightness = 255.0 * config.brightness * factors[:, 1:]
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        images = (images - mean) * contrast + mean + brightness
    return images.clamp_(0, 255).round_().to(torch.uint8).reshape(b, n, c, h, w)


def _weighted_loss(logits: torch.Tensor, targets: torch.Tensor,
                   weights: Tuple[float, float]) -> torch.Tensor:
    """Return the class-weighted binary cross-entropy (weighted mean over the batch)."""
    sample_weights = torch.where(targets > 0.5, weights[1], weights[0])
    losses = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    return (losses * sample_weights).sum() / sample_weights.sum()


@torch.inference_mode()
def predict_scores(model: RewardClassifier, pixels: torch.Tensor,
                   batch_size: int = 64) -> np.ndarray:
    """Return success probabilities for uint8 [B, N, C, H, W] pixels (eval mode, batched)."""
    was_training = model.training
    model.eval()
    scores = [torch.sigmoid(model(pixels[i:i + batch_size]))
              for i in range(0, len(pixels), batch_size)]
    model.train(was_training)
    return torch.cat(scores).numpy() if scores else np.zeros(0, np.float32)


def _check_inputs(frames: Mapping[str, np.ndarray], labels: np.ndarray,
                  episode_ids: np.ndarray, config: ClassifierConfig) -> None:
    """Raise ClassifierError unless frames, labels and episodes line up."""
    check_cameras(config.camera_names, frames)
    if len(labels) == 0:
        raise ClassifierError('no frames to train on')
    lengths = {name: len(frames[name]) for name in config.camera_names if name in frames}
    if any(length != len(labels) for length in lengths.values()) or len(episode_ids) != len(
            labels):
        raise ClassifierError(f'{len(labels)} labels, {len(episode_ids)} episode ids and '
                              f'frames per camera {lengths} must all be the same count')
    if not np.all(np.isin(labels, (0, 1))):
        raise ClassifierError('labels must be 0 or 1')
    if len(np.unique(labels)) < 2:
        raise ClassifierError(f'labels are all {int(labels[0])}: a classifier needs both '
                              f'successes and failures')


def train_classifier(frames: Mapping[str, np.ndarray], labels: Sequence[int],
                     episode_ids: Sequence[int], model_config: ClassifierConfig,
                     config: Optional[TrainingConfig] = None) -> TrainingResult:
    """
    Train a reward classifier; return it at its best validation epoch with its report.

    `frames` maps each of ``model_config.camera_names`` to uint8 [N, H, W, C]; `labels`
    are 0/1 and `episode_ids` name each frame's episode (the validation split unit). The
    model's threshold is set to the report's suggested threshold.
    """
    config = config or TrainingConfig()
    labels = np.asarray(labels).astype(np.int64)
    episode_ids = np.asarray(episode_ids)
    _check_inputs(frames, labels, episode_ids, model_config)
    pixels, _ = stack_camera_frames(frames, model_config)
    train_index, validation_index = split_by_episode(
        episode_ids, labels, config.validation_fraction, config.seed)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = RewardClassifier(model_config)
    optimizer = torch.optim.AdamW(model.trainable_parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    weights = class_weights(labels[train_index])
    targets = torch.from_numpy(labels).to(torch.float32)
    validation_pixels, validation_targets = pixels[validation_index], targets[validation_index]
    best_loss, best_state, since_best, history = float('inf'), None, 0, []
    epochs = tqdm(range(config.epochs), desc='classifier', unit='epoch',
                  disable=not config.progress)
    for epoch in epochs:
        model.train()
        order = torch.from_numpy(train_index)[torch.randperm(len(train_index),
                                                             generator=generator)]
        total, seen = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            if len(batch) < 2 and seen:  # a lone last sample adds only noise
                continue
            logits = model(augment(pixels[batch], config, generator))
            loss = _weighted_loss(logits, targets[batch], weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, seen = total + loss.item() * len(batch), seen + len(batch)
        scores = predict_scores(model, validation_pixels)
        validation_loss = _weighted_loss(torch.logit(torch.from_numpy(scores), eps=1e-6),
                                         validation_targets, weights).item()
        accuracy = float(np.mean((scores >= 0.5) == labels[validation_index]))
        history.append({'epoch': epoch + 1, 'train_loss': total / max(seen, 1),
                        'validation_loss': validation_loss, 'validation_accuracy': accuracy})
        epochs.set_postfix(loss=f'{total / max(seen, 1):.3f}', val_loss=f'{validation_loss:.3f}',
                           val_acc=f'{accuracy:.3f}')
        if validation_loss < best_loss - 1e-4:
            best_loss, best_state, since_best = validation_loss, copy.deepcopy(
                model.state_dict()), 0
        else:
            since_best += 1
            if since_best >= config.patience:
                break
    epochs.close()
    model.load_state_dict(best_state)
    model.eval()
    scores = predict_scores(model, validation_pixels)
    suggested = suggest_threshold(labels[validation_index], scores)
    model.threshold = suggested
    report = binary_report(labels[validation_index], scores, suggested)
    report.update(
        split='validation', best_epoch=int(np.argmin([h['validation_loss'] for h in history]))
        + 1, epochs_run=len(history), train_frames=int(len(train_index)),
        train_positives=int(labels[train_index].sum()), class_weights=list(weights))
    return TrainingResult(model, report, history,
                          sorted(np.unique(episode_ids[train_index]).tolist()),
                          sorted(np.unique(episode_ids[validation_index]).tolist()))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> Dict[str, List[float]]:
    """
    Return the ROC curve: false and true positive rates for each distinct threshold.

    Thresholds run from +inf (nothing positive) down through every distinct score; a frame
    is positive at threshold t when its score >= t. Rates are 0 for an absent class.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind='stable')
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    false_positives = (last_of_tie + 1) - true_positives
    positives, negatives = labels.sum(), (~labels).sum()
    tpr = np.r_[0.0, true_positives / positives if positives else true_positives * 0.0]
    fpr = np.r_[0.0, false_positives / negatives if negatives else false_positives * 0.0]
    return {'fpr': fpr.tolist(), 'tpr': tpr.tolist(),
            'thresholds': [float('inf')] + sorted_scores[last_of_tie].tolist()}


def suggest_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """
    Return the threshold maximising Youden's J = TPR - FPR (= 2 balanced accuracy - 1).

    Among the distinct scores, the best cut lies between the lowest score called positive
    and the next lower score; the midpoint is returned so that both classes keep a margin.
    Ties go to the higher threshold (fewer false successes). 0.5 without both classes.
    """
    labels = np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        return 0.5
    curve = roc_curve(labels, scores)
    j = np.asarray(curve['tpr']) - np.asarray(curve['fpr'])
    j[0] = -np.inf  # the +inf threshold calls nothing a success: never suggest it
    # The first (highest) threshold within rounding of the best J wins ties.
    best = int(np.flatnonzero(j >= j.max() - 1e-9)[0])
    thresholds = curve['thresholds']
    if best + 1 < len(thresholds):
        return float((thresholds[best] + thresholds[best + 1]) / 2.0)
    return float(thresholds[best])


def binary_report(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Dict[str, Any]:
    """Return counts, accuracy, precision, recall, AUC, ROC curve and thresholds as a dict."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = scores >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    tn = int(np.sum(~predicted & ~labels))
    curve = roc_curve(labels, scores)
    both = labels.any() and not labels.all()
    return {
        'frames': int(len(labels)), 'positives': int(labels.sum()), 'threshold': float(threshold),
        'accuracy': (tp + tn) / max(len(labels), 1),
        'accuracy_at_0.5': float(np.mean((scores >= 0.5) == labels)) if len(labels) else 0.0,
        'precision': tp / (tp + fp) if tp + fp else 0.0,
        'recall': tp / (tp + fn) if tp + fn else 0.0,
        'balanced_accuracy': 0.5 * (tp / max(tp + fn, 1) + tn / max(tn + fp, 1)),
        'confusion': {'true_positive': tp, 'false_positive': fp, 'false_negative': fn,
                      'true_negative': tn},
        'auc': float(np.trapezoid(curve['tpr'], curve['fpr'])) if both else None,
        'suggested_threshold': suggest_threshold(labels, scores),
        'roc': {**curve, 'thresholds': [t if np.isfinite(t) else None
                                        for t in curve['thresholds']]},
    }


def format_report(report: Mapping[str, Any]) -> str:
    """Return the headline figures of a report as a few human-readable lines."""
    auc = 'n/a' if report.get('auc') is None else f"{report['auc']:.3f}"
    lines = [
        f"frames: {report['frames']} ({report['positives']} successes)",
        f"threshold {report['threshold']:.3f}: accuracy {report['accuracy']:.3f}, "
        f"precision {report['precision']:.3f}, recall {report['recall']:.3f}, "
        f"balanced accuracy {report['balanced_accuracy']:.3f}",
        f"ROC AUC: {auc}, suggested threshold: {report['suggested_threshold']:.3f}",
    ]
    return '\n'.join(lines)


def write_report(report: Mapping[str, Any], directory: str,
                 title: str = 'reward classifier') -> Tuple[str, str]:
    """Write ``report.json`` and the ROC plot ``roc.png`` into `directory`; return both paths."""
    os.makedirs(directory, exist_ok=True)
    json_path = os.path.join(directory, REPORT_FILE)
    write_json(json_path, dict(report))
    png_path = os.path.join(directory, ROC_PLOT_FILE)
    plot_roc(report, png_path, title)
    return json_path, png_path


def plot_roc(report: Mapping[str, Any], path: str, title: str) -> None:
    """Draw the report's ROC curve with the chosen threshold's operating point as a PNG."""
    import matplotlib
    matplotlib.use('Agg')  # files only; never open a window
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.5, 4.5), dpi=100)
    axes = figure.add_subplot()
    axes.plot(report['roc']['fpr'], report['roc']['tpr'], drawstyle='steps-post',
              label='ROC' if report.get('auc') is None else f"ROC (AUC {report['auc']:.3f})")
    axes.plot([0, 1], [0, 1], linestyle=':', color='grey', label='chance')
    confusion = report['confusion']
    negatives = confusion['false_positive'] + confusion['true_negative']
    positives = confusion['true_positive'] + confusion['false_negative']
    axes.plot([confusion['false_positive'] / max(negatives, 1)],
              [confusion['true_positive'] / max(positives, 1)], 'o', color='red',
              label=f"threshold {report['threshold']:.2f}")
    axes.set(xlabel='false positive rate', ylabel='true positive rate', xlim=(0, 1),
             ylim=(0, 1.02), title=title)
    axes.legend(loc='lower right')
    figure.tight_layout()
    figure.savefig(path)
