"""
``hilserl encoder``: encoder cards for the frozen image encoder.

``import`` converts a pretrained file, ``pretrain`` trains one on recorded frames
(self-supervised), ``from-classifier`` takes a trained reward classifier's backbone,
``info`` checks and shows a card.
"""

import argparse
import os

from hilserl.commands import CommandError

DESCRIPTION = """\
Frozen image encoders come from pretrained files you bring (nothing is downloaded):
torchvision ResNet-18/34 state dicts (.pth, e.g. resnet18-f37072fd.pth), the ResNet-10 of
HIL-SERL / LeRobot (helper2424/resnet10's model.safetensors), or a ResNet-10 in torchvision's
names. `import` converts one into an encoder card (weights in this project's names plus a
JSON file with architecture, normalisation and checksum); `info` checks and shows a card.
Without a pretrained file, `pretrain` trains an encoder on the frames of your own recorded
episodes and `from-classifier` takes the image network of a trained reward classifier.
See docs/encoders.md."""
IMPORT_EPILOG = """\
Torch files are read only with torch.load(weights_only=True), which accepts tensors and
plain containers and refuses any other pickled object. A classifier head (fc.*) is dropped.
The layout is recognised from the key names, also under one prefix (module., model. ...)."""


def register(subparsers) -> None:
    """Add ``encoder import`` and ``encoder info`` to the ``hilserl`` command."""
    parser = subparsers.add_parser('encoder', help='import or show a pretrained frozen encoder',
                                   description=DESCRIPTION)
    actions = parser.add_subparsers(dest='encoder_action', required=True, metavar='ACTION')
    imported = actions.add_parser(
        'import', help='convert a pretrained file into an encoder card', description=DESCRIPTION,
        epilog=IMPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    imported.add_argument('path', metavar='PATH',
                          help='the pretrained file: .pth / .pt / .bin state dict or '
                               '.safetensors')
    imported.add_argument('--out', metavar='FILE.safetensors',
                          help='the card to write (its .json goes beside it; default: '
                               '<PATH stem>.encoder.safetensors in the current directory)')
    imported.add_argument('--layout', choices=('auto', 'torchvision', 'hilserl_resnet10'),
                          default='auto', help='which key layouts to try (default auto)')
    imported.add_argument('--prefix', metavar='PREFIX',
                          help="the encoder's key prefix inside a larger file, e.g. "
                               "'model.backbone.' (default: found from the keys)")
    imported.add_argument('--input-size', type=int, default=128, metavar='PIXELS',
                          help='the square image size the encoder is meant for (default 128)')
    imported.add_argument('--overwrite', action='store_true', help='replace an existing card')
    imported.set_defaults(run=run_import)
    _register_pretrain(actions)
    _register_from_classifier(actions)
    info = actions.add_parser('info', help='check an encoder card and print it',
                              description='Check an encoder card (checksum, tensor names and '
                                          'shapes) and print its metadata.')
    info.add_argument('card', metavar='CARD', help='the card: its .safetensors or .json file')
    info.set_defaults(run=run_info)


def default_out(path: str) -> str:
    """Return ``<stem>.encoder.safetensors`` in the current directory for a source file."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return f'{stem}.encoder.safetensors'


def run_import(options) -> int:
    """Convert the file and print what was written and how to use it."""
    from hilserl_learning.frozen_encoders import CheckpointError, import_encoder
    out = options.out or default_out(options.path)
    try:
        card = import_encoder(options.path, out, layout=options.layout,
                              input_size=options.input_size, prefix=options.prefix,
                              overwrite=options.overwrite)
    except CheckpointError as error:
        message = str(error).replace('(overwrite to replace it)', '(--overwrite replaces it)')
        raise CommandError(message) from None
    source = card['source']
    prefix = f" under '{source['prefix']}'" if source['prefix'] else ''
    dropped = f", dropped {', '.join(source['dropped'])}" if source['dropped'] else ''
    json_path = out[:-len('.safetensors')] + '.json'
    print(f"detected: {source['layout']}{prefix}{dropped}")
    print(f"architecture: {card['architecture']}")
    print(f"feature map: 512 x {card['feature_map_size'][0]} x {card['feature_map_size'][1]} "
          f"at {card['input_size']}x{card['input_size']} input")
    print(f"sha256: {card['sha256']}")
    print(f"fingerprint: {card['fingerprint']}")
    print(f'wrote {out} and {json_path}')
    print('use: hilserl_learning.frozen_encoders.load_encoder(path) returns the frozen encoder; '
          f'check it with `hilserl encoder info {out}`')
    return 0


def run_info(options) -> int:
    """Load the card (which checks it) and print its metadata."""
    from hilserl_learning.frozen_encoders import CheckpointError, load_encoder
    try:
        encoder, card = load_encoder(options.card)
    except CheckpointError as error:
        raise CommandError(str(error)) from None
    for key in ('architecture', 'feature_dim', 'input_size', 'feature_map_size', 'image_mean',
                'image_std', 'weights', 'sha256', 'fingerprint'):
        print(f'{key}: {card.get(key)}')
    for key, value in card.get('source', {}).items():
        print(f'source.{key}: {value}')
    parameters = sum(p.numel() for p in encoder.parameters())
    print(f'checked: sha256 and tensor shapes match; {parameters} parameters')
    return 0


PRETRAIN_DESCRIPTION = """\
Pretrain a frozen encoder on every camera frame of recorded episodes, without labels, and
write it as an encoder card: an offline default that has seen your scene. The objective is
a denoising autoencoder: from a colour-jittered, shifted frame, the encoder's pooled
feature vector (what the policy sees) must let a small decoder redraw the shifted frame at
32x32, pixels that differ from the camera's average picture weighing more. BatchNorm
statistics are then recomputed over the frames and the encoder is frozen."""
PRETRAIN_EPILOG = """\
The time limit (--minutes) includes nothing but training; reading the datasets and the
final BatchNorm pass come on top. On 2 CPU cores a resnet10 sees about 15 to 50 frames a
second at 128x128, so 10 minutes make a few passes over 20 episodes of 2 cameras.
Ctrl-C stops without writing anything. Use the card with `hilserl launch train
policy_inputs:=images frozen_encoder:=CARD` (see docs/encoders.md)."""


def _register_pretrain(actions) -> None:
    """Add ``encoder pretrain``."""
    from hilserl.commands.classifier import _camera_list, _positive
    pretrain = actions.add_parser(
        'pretrain', help='pretrain an encoder on recorded frames (self-supervised)',
        description=PRETRAIN_DESCRIPTION, epilog=PRETRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    pretrain.add_argument('datasets', nargs='+', metavar='DATASET',
                          help='dataset directories or single episode bags')
    pretrain.add_argument('--out', required=True, metavar='FILE.safetensors',
                          help='the card to write (its .json goes beside it)')
    pretrain.add_argument('--architecture', default='resnet10',
                          choices=('resnet10', 'resnet18', 'resnet34', 'hilserl_resnet10'),
                          help='the network to pretrain (default resnet10, the fastest)')
    pretrain.add_argument('--minutes', type=_positive(float), default=10.0,
                          help='training time limit (default 10)')
    pretrain.add_argument('--max-epochs', type=_positive(int),
                          help='also stop after this many passes over the frames')
    pretrain.add_argument('--image-size', type=_positive(int), default=128, metavar='PIXELS',
                          help='frames are resized to this square size, the size the card '
                               'is for (default 128, the processed frames\' size)')
    pretrain.add_argument('--batch-size', type=_positive(int), default=32)
    pretrain.add_argument('--seed', type=int, default=0,
                          help='seed of the initial weights and the augmentation (default 0)')
    pretrain.add_argument('--cameras', type=_camera_list, metavar='NAME,NAME',
                          help='cameras whose frames to use (default: all of the dataset)')
    pretrain.add_argument('--image-kind', choices=('processed', 'raw'),
                          help='which recorded frames to use (default: processed when present)')
    pretrain.add_argument('--threads', type=_positive(int),
                          help='torch threads (default: every core)')
    pretrain.add_argument('--no-progress', action='store_true', help='no progress bars')
    pretrain.add_argument('--overwrite', action='store_true', help='replace an existing card')
    pretrain.set_defaults(run=run_pretrain)


def _register_from_classifier(actions) -> None:
    """Add ``encoder from-classifier``."""
    command = actions.add_parser(
        'from-classifier', help="write a reward classifier's backbone as an encoder card",
        description="Write the image network of a trained reward classifier (`hilserl "
                    "classifier train`) as a frozen encoder card. A small_cnn backbone "
                    "becomes the 'small_cnn' architecture: its convolutions, and as features "
                    "the classifier's pooling (spatial softmax: 2 coordinates per channel, "
                    "64 features for the default channels). A frozen ResNet backbone is "
                    "never trained with the classifier: its card holds that ResNet unchanged.")
    command.add_argument('classifier', metavar='CLASSIFIER_DIR',
                         help='the classifier directory (classifier.safetensors + .json)')
    command.add_argument('--out', required=True, metavar='FILE.safetensors',
                         help='the card to write (its .json goes beside it)')
    command.add_argument('--overwrite', action='store_true', help='replace an existing card')
    command.set_defaults(run=run_from_classifier)


def _card_error(error) -> CommandError:
    """Return a CheckpointError's message as a CommandError, with the CLI's option names."""
    return CommandError(str(error).replace('(overwrite to replace it)',
                                           '(--overwrite replaces it)'))


def read_frames(paths, image_kind, cameras, progress: bool):
    """Read the datasets' frames: ({camera: uint8 [N, H, W, 3]}, episode count)."""
    import numpy as np
    from tqdm import tqdm

    from hilserl.dataset.reader import DatasetError, episode_paths, read_episode

    try:
        bags = episode_paths(paths)
        frames = {}
        for bag in tqdm(bags, desc='reading', unit='episode', disable=not progress):
            episode = read_episode(bag, image_kind)
            for camera in cameras or episode.camera_names:
                if camera not in episode.images:
                    raise CommandError(f'{bag} has no camera {camera!r} (it has '
                                       f'{list(episode.camera_names)})')
                chunks = frames.setdefault(camera, [])
                if chunks and chunks[0].shape[1:] != episode.images[camera].shape[1:]:
                    raise CommandError(f"{bag}: camera '{camera}' frames are "
                                       f'{episode.images[camera].shape[1:3]}, earlier ones '
                                       f'{chunks[0].shape[1:3]}; one size per camera')
                chunks.append(episode.images[camera])
    except DatasetError as error:
        raise CommandError(str(error)) from None
    if not frames:
        raise CommandError(f'{", ".join(paths)}: no camera frames')
    return {camera: np.concatenate(chunks) for camera, chunks in frames.items()}, len(bags)


def run_pretrain(options) -> int:
    """Pretrain an encoder on the datasets' frames and write its card."""
    from hilserl_learning.encoder_pretraining import pretrain_encoder, PretrainingConfig
    from hilserl_learning.frozen_encoders import check_card_path, CheckpointError, write_card
    import torch

    try:   # before the minutes of reading and training
        check_card_path(options.out, options.image_size, options.overwrite)
    except CheckpointError as error:
        raise _card_error(error) from None
    if options.threads:
        torch.set_num_threads(options.threads)
    frames, episodes = read_frames(options.datasets, options.image_kind, options.cameras,
                                   not options.no_progress)
    total = sum(len(f) for f in frames.values())
    sizes = ', '.join(f'{name} {f.shape[1]}x{f.shape[2]}' for name, f in frames.items())
    print(f'{total} frames from {episodes} episodes ({sizes}); pretraining '
          f'{options.architecture} at {options.image_size}x{options.image_size} for up to '
          f'{options.minutes:g} min', flush=True)
    config = PretrainingConfig(
        architecture=options.architecture, seed=options.seed, minutes=options.minutes,
        max_epochs=options.max_epochs, batch_size=options.batch_size,
        image_size=options.image_size, progress=not options.no_progress)
    result = pretrain_encoder(list(frames.values()), config)
    source = result.source(config, datasets=[os.path.abspath(p) for p in options.datasets],
                           cameras=list(frames), episodes=episodes)
    try:
        card = write_card(result.encoder, options.out, options.image_size, source,
                          options.overwrite)
    except CheckpointError as error:
        raise _card_error(error) from None
    print(f'loss {result.initial_loss:.4f} -> {result.final_loss:.4f} in {result.steps} steps '
          f'({result.epochs:.2f} epochs, {result.seconds / 60:.1f} min)')
    _print_written(options.out, card)
    return 0


def run_from_classifier(options) -> int:
    """Write the classifier's backbone as a card."""
    from hilserl_learning.classifier_encoder import export_classifier_encoder
    from hilserl_learning.frozen_encoders import CheckpointError

    try:
        card = export_classifier_encoder(options.classifier, options.out, options.overwrite)
    except CheckpointError as error:   # ClassifierError is one too
        raise _card_error(error) from None
    source = card['source']
    if source['unchanged_resnet']:
        print(f"backbone: the classifier's frozen {card['architecture']}, unchanged by its "
              'training (only its pooling and head learnt): the same encoder as the card it '
              'was trained with; features are its global average')
    else:
        print(f"backbone: the classifier's trained small_cnn with its {source['pooling']} "
              'pooling as features')
    _print_written(options.out, card)
    return 0


def _print_written(out: str, card) -> None:
    """Print a new card's shape, fingerprint and paths."""
    print(f"architecture: {card['architecture']}, feature_dim {card['feature_dim']}, feature "
          f"map {card['feature_map_size'][0]}x{card['feature_map_size'][1]} at "
          f"{card['input_size']}x{card['input_size']} input")
    print(f"fingerprint: {card['fingerprint']}")
    print(f"wrote {out} and {out[:-len('.safetensors')]}.json")
