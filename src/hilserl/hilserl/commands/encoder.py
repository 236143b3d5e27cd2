"""``hilserl encoder``: import pretrained frozen image encoders as encoder cards; show a card."""

import argparse
import os

from hilserl.commands import CommandError

DESCRIPTION = """\
Frozen image encoders come from pretrained files you bring (nothing is downloaded):
torchvision ResNet-18/34 state dicts (.pth, e.g. resnet18-f37072fd.pth), the ResNet-10 of
HIL-SERL / LeRobot (helper2424/resnet10's model.safetensors), or a ResNet-10 in torchvision's
names. `import` converts one into an encoder card (weights in this project's names plus a
JSON file with architecture, normalisation and checksum); `info` checks and shows a card.
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
