"""
``hilserl classifier``: train and test the reward classifier on recorded datasets.

Labels come from the recorded rewards: an observation is a success frame when the reward
of its step is 1 (the final observation takes the last step's reward). Every episode is
one unit of the train / validation split.
"""

import argparse
import os
from typing import Dict, List, Optional, Sequence

from hilserl.commands import CommandError

SUCCESS_REWARD = 1.0
# The classifier's backbones (hilserl_learning.reward_classifier.BACKBONES), spelled out so
# that `--help` works before torch is imported.
BACKBONE_CHOICES = ('small_cnn', 'resnet10', 'resnet18', 'resnet34', 'hilserl_resnet10')
DESCRIPTION = """\
Train a success classifier on camera frames of recorded episodes (frames whose step was
rewarded 1 are successes), or measure a trained one on other recordings."""
TRAIN_EPILOG = """\
files written to --out:
  classifier.safetensors, classifier.json   the model (weights; config, threshold)
  report.json                               validation accuracy, precision, recall,
                                            ROC curve and AUC, suggested threshold
  roc.png                                   the validation ROC curve
The model's threshold is the suggested one (maximal Youden's J on validation)."""


def register(subparsers) -> None:
    """Add ``classifier train`` and ``classifier test`` to the ``hilserl`` command."""
    parser = subparsers.add_parser('classifier', help='train or test the reward classifier',
                                   description=DESCRIPTION)
    actions = parser.add_subparsers(dest='classifier_action', required=True, metavar='ACTION')
    train = actions.add_parser(
        'train', help='train a classifier on recorded datasets', description=DESCRIPTION,
        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_dataset_arguments(train)
    train.add_argument('--out', required=True, metavar='DIR',
                       help='directory for the model, report.json and roc.png')
    train.add_argument('--cameras', type=_camera_list, metavar='NAME,NAME',
                       help='cameras to use, comma-separated (default: all of the dataset)')
    train.add_argument('--epochs', type=_positive(int), default=30,
                       help='most epochs; training stops earlier when the validation loss '
                            'stops falling (default 30)')
    train.add_argument('--patience', type=_positive(int), default=6,
                       help='epochs without a better validation loss before stopping '
                            '(default 6)')
    train.add_argument('--batch-size', type=_positive(int), default=32)
    train.add_argument('--learning-rate', type=_positive(float), default=1e-3)
    train.add_argument('--validation-fraction', type=_fraction, default=0.2,
                       help='fraction of the episodes held out for validation (default 0.2)')
    train.add_argument('--backbone', choices=BACKBONE_CHOICES, default='small_cnn',
                       help='small_cnn: trained from scratch; a ResNet: frozen, pretrained, '
                            'needs --backbone-weights (default small_cnn)')
    train.add_argument('--backbone-weights', metavar='CARD',
                       help='encoder card of the frozen ResNet (from `hilserl encoder '
                            'import`); its architecture must be --backbone')
    train.add_argument('--pooling', choices=('spatial_softmax', 'mean'),
                       default='spatial_softmax', help='per-camera pooling of the features')
    train.add_argument('--seed', type=int, default=0)
    train.add_argument('--overwrite', action='store_true',
                       help='replace a classifier already in --out')
    train.set_defaults(run=run_train)
    test = actions.add_parser(
        'test', help='report accuracy, precision, recall and ROC of a classifier on datasets',
        description='Score every frame of the datasets with a trained classifier and print '
                    'the report at its threshold.')
    test.add_argument('model', metavar='MODEL', help='classifier directory (from train)')
    _add_dataset_arguments(test)
    test.add_argument('--out', metavar='DIR', help='also write report.json and roc.png here')
    test.set_defaults(run=run_test)


def _add_dataset_arguments(parser) -> None:
    parser.add_argument('datasets', nargs='+', metavar='DATASET',
                        help='dataset directories or single episode bags')
    parser.add_argument('--image-kind', choices=('processed', 'raw'),
                        help='which recorded frames to use (default: processed when present)')
    parser.add_argument('--threads', type=_positive(int),
                        help='torch threads (default: every core)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'not a number: {text!r}') from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f'must be positive, got {text}')
        return value
    parse.__name__ = kind.__name__
    return parse


def _fraction(text: str) -> float:
    value = _positive(float)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f'must be below 1, got {text}')
    return value


def _camera_list(text: str) -> List[str]:
    names = [name.strip() for name in text.split(',') if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError('give at least one camera name')
    return names


def load_labelled_frames(paths: Sequence[str], image_kind: Optional[str],
                         cameras: Optional[Sequence[str]], progress: bool = True):
    """
    Read datasets; return (frames per camera, labels, episode ids, cameras, image size).

    Frames are uint8 [N, H, W, 3] per camera over all observations of all episodes; the
    label of observation t is ``reward[t] == 1`` (the final one takes the last reward);
    episode ids number the episodes in reading order.
    """
    import numpy as np
    from tqdm import tqdm

    from hilserl.dataset.reader import DatasetError, episode_paths, read_episode

    try:
        bags = episode_paths(paths)
        episodes = [read_episode(bag, image_kind) for bag in tqdm(
            bags, desc='reading', unit='episode', disable=not progress)]
    except DatasetError as error:
        raise CommandError(str(error)) from error
    cameras = list(cameras) if cameras else list(episodes[0].camera_names)
    if not cameras:
        raise CommandError(f'{episodes[0].path} has no camera frames')
    frames: Dict[str, List] = {camera: [] for camera in cameras}
    labels, episode_ids, size = [], [], None
    for number, episode in enumerate(episodes):
        missing = [camera for camera in cameras if camera not in episode.images]
        if missing:
            raise CommandError(f'classifier expects cameras {cameras}, {episode.path} has '
                               f'{list(episode.camera_names)}')
        for camera in cameras:
            shape = episode.images[camera].shape[1:3]
            if size is None:
                size = shape
            if shape != size:
                raise CommandError(f"{episode.path}: camera '{camera}' frames are "
                                   f'{shape[0]}x{shape[1]}, earlier frames {size[0]}x'
                                   f'{size[1]}; all frames need one size')
            frames[camera].append(episode.images[camera])
        success = episode.rewards >= SUCCESS_REWARD - 1e-6
        labels.append(np.r_[success, success[-1:]])
        episode_ids.append(np.full(episode.length + 1, number))
    stacked = {camera: np.concatenate(chunks) for camera, chunks in frames.items()}
    return (stacked, np.concatenate(labels).astype(np.int64), np.concatenate(episode_ids),
            cameras, tuple(int(v) for v in size))


def _configure_threads(options) -> None:
    import torch
    if options.threads:
        torch.set_num_threads(options.threads)


def run_train(options) -> int:
    """Train a classifier on the datasets and write model and report to ``--out``."""
    from hilserl_learning.classifier_training import TrainingConfig
    from hilserl_learning.reward_classifier import METADATA_FILE

    if os.path.exists(os.path.join(options.out, METADATA_FILE)) and not options.overwrite:
        raise CommandError(f'{options.out} holds a classifier already; choose another --out '
                           'or pass --overwrite')
    if options.backbone != 'small_cnn' and not options.backbone_weights:
        raise CommandError(f'--backbone {options.backbone} needs --backbone-weights CARD '
                           '(convert pretrained weights with `hilserl encoder import`)')
    if options.backbone_weights and not os.path.isfile(options.backbone_weights):
        raise CommandError(f'--backbone-weights {options.backbone_weights}: no such file')
    _configure_threads(options)
    progress = not options.no_progress
    train_and_save(options.datasets, options.out, options.image_kind, options.cameras,
                   dict(backbone=options.backbone, pooling=options.pooling,
                        frozen_weights_path=options.backbone_weights),
                   TrainingConfig(epochs=options.epochs, patience=options.patience,
                                  batch_size=options.batch_size,
                                  learning_rate=options.learning_rate, seed=options.seed,
                                  progress=progress,
                                  validation_fraction=options.validation_fraction))
    return 0


def train_and_save(datasets: Sequence[str], out: str, image_kind: Optional[str],
                   cameras: Optional[Sequence[str]], model_settings: Dict[str, object],
                   training):
    """
    Train a classifier on the datasets' frames; save model, report.json and roc.png to ``out``.

    ``model_settings`` are ClassifierConfig fields besides the cameras and image size
    (taken from the data); ``training`` a TrainingConfig. Prints what it read and the
    validation report; returns the TrainingResult. Bad data is a CommandError.
    """
    from hilserl_learning.classifier_training import format_report, train_classifier, write_report
    from hilserl_learning.reward_classifier import (ClassifierConfig, ClassifierError,
                                                    save_classifier)

    frames, labels, episode_ids, cameras, size = load_labelled_frames(
        datasets, image_kind, cameras, training.progress)
    print(f'{len(labels)} frames from {int(episode_ids.max()) + 1} episodes, '
          f'{int(labels.sum())} successes, cameras {cameras}, {size[0]}x{size[1]}', flush=True)
    try:
        model_config = ClassifierConfig(camera_names=tuple(cameras), image_size=size,
                                        **model_settings)
        result = train_classifier(frames, labels, episode_ids, model_config, training)
    except ClassifierError as error:
        raise CommandError(str(error)) from error
    result.report['history'] = result.history
    result.report['validation_episodes'] = result.validation_episodes
    save_classifier(result.model, out, extra={
        'datasets': [os.path.abspath(path) for path in datasets],
        'image_kind': image_kind, 'frames': int(len(labels))})
    report_path, plot_path = write_report(result.report, out,
                                          title='reward classifier (validation)')
    print(format_report(result.report))
    print(f'model: {out} (threshold {result.model.threshold:.3f}); report: '
          f'{report_path}; ROC plot: {plot_path}', flush=True)
    return result


def run_test(options) -> int:
    """Score the datasets' frames with a trained classifier and print the report."""
    from hilserl_learning.classifier_training import (binary_report, format_report,
                                                      predict_scores, write_report)
    from hilserl_learning.reward_classifier import (ClassifierError, load_classifier,
                                                    stack_camera_frames)

    _configure_threads(options)
    frames, labels, _, cameras, size = load_labelled_frames(
        options.datasets, options.image_kind, None, not options.no_progress)
    try:
        model = load_classifier(options.model, cameras=cameras, image_size=size)
        pixels, _ = stack_camera_frames(frames, model.config)
    except ClassifierError as error:
        raise CommandError(str(error)) from error
    report = binary_report(labels, predict_scores(model, pixels), model.threshold)
    print(format_report(report))
    if options.out:
        report_path, plot_path = write_report(report, options.out,
                                              title=f'reward classifier on {len(labels)} frames')
        print(f'report: {report_path}; ROC plot: {plot_path}')
    return 0
