"""
Pretrained frozen image encoders as "encoder cards": import, check, load.

An encoder card is two files side by side:

* ``<name>.safetensors``: the weights in this project's module names (``resnets``),
* ``<name>.json``: ``kind`` 'frozen_encoder', ``format_version``, ``architecture`` (one of
  ``resnets.ARCHITECTURES``, or ``small_cnn``: a reward classifier's trained CNN, see
  ``classifier_encoder``, whose settings are in ``architecture_config``), ``feature_dim``
  (the length of ``forward``'s vector: 512 for the ResNets), ``input_size`` (the square
  image size the encoder is meant for, 128 unless told), ``feature_map_size`` ([h, w] at
  that size), ``image_mean`` / ``image_std`` (per channel, of pixels scaled to [0, 1]),
  ``weights`` (the safetensors file's name), ``sha256`` (its checksum), ``fingerprint``
  (the encoder's, see ``FrozenEncoder.fingerprint``) and ``source`` (where the weights came
  from: for an import the ``path``, ``sha256``, ``layout``, ``prefix`` and ``dropped`` keys
  of the file; ``kind`` 'self_supervised' (``encoder_pretraining``) or 'reward_classifier'
  for weights trained here).

``import_encoder`` converts a file the user brings: a torchvision-style state dict (``.pth``,
``.pt``, ``.bin``, read ONLY with ``torch.load(path, map_location='cpu', weights_only=True)``,
torch's restricted unpickler that accepts tensors and plain containers and refuses any other
object) or a ``.safetensors`` file. The layout is recognised from the key names, under a
common prefix (``module.``, ``model.backbone.`` ...) when exactly one is found.
``load_encoder`` checks the card (kind, version, checksum, names and shapes) and returns the
encoder. Every problem is a one-line ``CheckpointError``.
"""

from dataclasses import dataclass
import functools
import hashlib
import os
import re
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

import torch
from torch import Tensor

from .resnets import (ARCHITECTURES, build_encoder, FROZEN_FEATURE_DIM,  # noqa: F401
                      FrozenEncoder, IMAGENET_MEAN, IMAGENET_STD, TORCHVISION_DEPTHS)
from .serialization import (check_format_version, check_tensor_shapes, CheckpointError,
                            FORMAT_VERSION, load_tensors, read_json, save_tensors, write_json)

CARD_KIND = 'frozen_encoder'
# The reward classifier's small CNN with its pooling (``classifier_encoder``): a card
# architecture, not one of resnets' (no random default, its settings in the card).
SMALL_CNN = 'small_cnn'
CARD_ARCHITECTURES = ARCHITECTURES + (SMALL_CNN,)
LAYOUT_FAMILIES = ('auto', 'torchvision', 'hilserl_resnet10')
TORCH_SUFFIXES = ('.pth', '.pt', '.bin')
WEIGHTS_SUFFIX = '.safetensors'
_SHOWN_KEYS = 3   # keys named per list in an error message
_SHOWN_LAYOUTS = 3   # closest layouts described in an error message


@dataclass(frozen=True)
class Layout:
    """How one kind of foreign file names the tensors of one of our architectures."""

    name: str
    family: str
    architecture: str
    names: Dict[str, str]        # our key -> the file's key
    anchor: str                  # a file key that locates the network (and its prefix)
    optional: FrozenSet[str]     # our keys a file may lack (BatchNorm's batch counters)
    dropped: Tuple[str, ...]     # prefixes of file keys that are not the encoder (heads)


def _hilserl_name(key: str, norm: str) -> str:
    """Map one of our HilSerlResNet10 keys to helper2424/resnet10's name for it."""
    stem = {'conv1.weight': 'embedder.0.weight', 'gn1.weight': f'embedder.1{norm}.weight',
            'gn1.bias': f'embedder.1{norm}.bias'}
    if key in stem:
        return stem[key]
    match = re.fullmatch(r'layer(\d)\.0\.(.+)', key)
    block = match.group(2)
    for ours, theirs in (('conv1.', 'conv1.conv.'), ('conv2.', 'conv2.conv.'),
                         ('gn1.', f'norm1{norm}.'), ('gn2.', f'norm2{norm}.'),
                         ('downsample.0.', 'shortcut.0.conv.'),
                         ('downsample.1.', f'shortcut.1{norm}.')):
        if block.startswith(ours):
            block = theirs + block[len(ours):]
            break
    return f'encoder.stages.{int(match.group(1)) - 1}.{block}'


@functools.lru_cache(maxsize=None)
def reference_tensors(architecture: str) -> Dict[str, Tensor]:
    """Names, shapes and dtypes of an architecture's state dict (meta tensors, no memory)."""
    with torch.device('meta'):
        return dict(build_encoder(architecture).state_dict())


@functools.lru_cache(maxsize=None)
def layouts() -> Tuple[Layout, ...]:
    """Return every file layout ``import_encoder`` recognises."""
    found = []
    for architecture in TORCHVISION_DEPTHS:
        keys = list(reference_tensors(architecture))
        found.append(Layout(
            f'torchvision_{architecture}', 'torchvision', architecture, {k: k for k in keys},
            'layer4.0.conv1.weight',
            frozenset(k for k in keys if k.endswith('num_batches_tracked')), ('fc.',)))
    keys = list(reference_tensors('hilserl_resnet10'))
    # helper2424/resnet10's code first wrapped nn.GroupNorm (".group_norm." in the names,
    # like HIL-SERL's MyGroupNorm), later used nn.GroupNorm itself: both names are read.
    for name, norm in (('hilserl_resnet10', ''), ('hilserl_resnet10_mygroupnorm', '.group_norm')):
        found.append(Layout(name, 'hilserl_resnet10', 'hilserl_resnet10',
                            {k: _hilserl_name(k, norm) for k in keys},
                            'encoder.stages.3.conv1.conv.weight', frozenset(), ()))
    found.append(Layout('project_hilserl_resnet10', 'hilserl_resnet10', 'hilserl_resnet10',
                        {k: k for k in keys}, 'layer4.0.gn1.weight', frozenset(), ()))
    return tuple(found)


@dataclass
class _Match:
    layout: Layout
    prefix: str
    scoped: Dict[str, Tensor]
    missing: List[str]
    unexpected: List[str]
    dropped: List[str]

    def describe(self) -> str:
        where = f" (under '{self.prefix}')" if self.prefix else ''
        parts = [f'{kind} {_some(keys)}' for kind, keys in
                 (('missing', self.missing), ('unexpected', self.unexpected)) if keys]
        return f'{self.layout.name}{where}: ' + ', '.join(parts)


def _some(keys: List[str]) -> str:
    shown = ', '.join(repr(k) for k in keys[:_SHOWN_KEYS])
    return shown + (f' (+{len(keys) - _SHOWN_KEYS} more)' if len(keys) > _SHOWN_KEYS else '')


def _match(layout: Layout, prefix: str, tensors: Dict[str, Tensor]) -> _Match:
    scoped = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    wanted = {theirs: ours for ours, theirs in layout.names.items()}
    dropped = sorted(k for k in scoped if k not in wanted and k.startswith(layout.dropped))
    missing = [k for k, ours in wanted.items() if k not in scoped and ours not in layout.optional]
    unexpected = sorted(k for k in scoped if k not in wanted and k not in dropped)
    return _Match(layout, prefix, scoped, missing, unexpected, dropped)


def _prefixes(layout: Layout, keys: List[str]) -> List[str]:
    """Return the prefixes under which the file holds the layout's anchor key."""
    anchor = layout.anchor
    return sorted({k[:-len(anchor)] for k in keys if k.endswith(anchor)
                   and (k == anchor or k[-len(anchor) - 1] == '.')})


def detect_layout(tensors: Dict[str, Tensor], source: str, family: str = 'auto',
                  prefix: Optional[str] = None) -> _Match:
    """Find the one layout (and prefix) that explains the file's keys, or raise."""
    if family not in LAYOUT_FAMILIES:
        raise CheckpointError(f'unknown layout {family!r} (choose {", ".join(LAYOUT_FAMILIES)})')
    candidates = [layout for layout in layouts() if family in ('auto', layout.family)]
    matches = []
    for layout in candidates:
        for where in ([prefix] if prefix is not None else
                      _prefixes(layout, list(tensors)) or ['']):
            matches.append(_match(layout, where, tensors))
    exact = [m for m in matches if not m.missing and not m.unexpected]
    if len(exact) > 1:
        found = ', '.join(f"{m.layout.name} under '{m.prefix}'" for m in exact)
        raise CheckpointError(f'{source}: holds several encoders ({found}); choose one '
                              'with a prefix')
    if not exact:
        matches.sort(key=lambda m: len(m.missing) + len(m.unexpected))
        best = {}
        for m in matches:
            best.setdefault(m.layout.name, m)
        closest = [m.describe() for m in best.values()][:_SHOWN_LAYOUTS]
        if len(best) > _SHOWN_LAYOUTS:
            closest.append(f'{len(best) - _SHOWN_LAYOUTS} more layouts match worse')
        raise CheckpointError(f'{source}: its keys match no known encoder layout: '
                              + '; '.join(closest))
    return exact[0]


def read_state_dict(path: str) -> Dict[str, Tensor]:
    """
    Read the tensors of a ``.safetensors`` file or a torch state dict (``.pth``, ...).

    A torch file is read with ``torch.load(..., weights_only=True)`` only: torch's restricted
    unpickler builds tensors and plain containers and refuses every other object, so a
    file cannot run code here. A dict holding the state dict under ``state_dict``,
    ``model_state_dict`` or ``model`` is unwrapped.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f'{path}: no such file')
    if path.endswith(WEIGHTS_SUFFIX):
        return load_tensors(path)
    if not path.endswith(TORCH_SUFFIXES):
        raise CheckpointError(f'{path}: expected a {WEIGHTS_SUFFIX} file or a torch state dict '
                              f'({", ".join(TORCH_SUFFIXES)})')
    try:
        loaded = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # UnpicklingError, RuntimeError (not a zip), EOFError ...
        text = str(error)
        reason = re.search(r'WeightsUnpickler error:\s*(.+?)(?:\. Please|\n\n|$)', text)
        detail = reason.group(1) if reason else (text.strip().splitlines() or ['?'])[0]
        raise CheckpointError(f'{path}: refused by torch.load(weights_only=True), which reads '
                              f'only tensors and plain containers ({detail.strip()}); save '
                              'model.state_dict() or a safetensors file') from None
    for candidate in (loaded, *(loaded.get(k) for k in ('state_dict', 'model_state_dict',
                                                        'model') if isinstance(loaded, dict))):
        if isinstance(candidate, dict) and candidate and all(
                isinstance(k, str) and isinstance(v, Tensor) for k, v in candidate.items()):
            return dict(candidate)
    raise CheckpointError(f'{path}: not a state dict (names to tensors); it holds a '
                          f'{type(loaded).__name__}')


def convert(match: _Match, source: str) -> Dict[str, Tensor]:
    """Rename the matched tensors to ours, checking shapes, dtypes and values."""
    reference = reference_tensors(match.layout.architecture)
    converted = {}
    for ours, theirs in match.layout.names.items():
        expected = reference[ours]
        if theirs not in match.scoped:   # an optional BatchNorm counter
            converted[ours] = torch.zeros(expected.shape, dtype=expected.dtype)
            continue
        tensor = match.scoped[theirs]
        name = match.prefix + theirs
        if tuple(tensor.shape) != tuple(expected.shape):
            raise CheckpointError(f"{source}: tensor '{name}' has shape {tuple(tensor.shape)}, "
                                  f'{match.layout.name} expects {tuple(expected.shape)}')
        if expected.dtype.is_floating_point:
            if not tensor.is_floating_point():
                raise CheckpointError(f"{source}: tensor '{name}' has dtype {tensor.dtype}, "
                                      'expected floating point')
            tensor = tensor.to(torch.float32)
            if not torch.isfinite(tensor).all():
                raise CheckpointError(f"{source}: tensor '{name}' has non-finite values")
        converted[ours] = tensor.to(expected.dtype).contiguous()
    return converted


def file_sha256(path: str) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def card_paths(path: str) -> Tuple[str, str]:
    """Return (weights, metadata) paths of a card named by either file (or their stem)."""
    for suffix in (WEIGHTS_SUFFIX, '.json'):
        if path.endswith(suffix):
            path = path[:-len(suffix)]
            break
    return path + WEIGHTS_SUFFIX, path + '.json'


def import_encoder(source_path: str, out_path: str, layout: str = 'auto',
                   input_size: int = 128, prefix: Optional[str] = None,
                   overwrite: bool = False) -> Dict[str, Any]:
    """
    Convert a pretrained encoder file into a card at ``out_path`` (a .safetensors name).

    ``layout``: 'auto', 'torchvision' or 'hilserl_resnet10' (which layouts to try);
    ``prefix``: the key prefix of the encoder inside a larger file (found when unique).
    Classifier heads (``fc.*``) are dropped. Returns the card's metadata.
    """
    check_card_path(out_path, input_size, overwrite, source_path)
    tensors = read_state_dict(source_path)
    match = detect_layout(tensors, source_path, layout, prefix)
    converted = convert(match, source_path)
    encoder = build_encoder(match.layout.architecture)
    encoder.load_state_dict(converted)
    return write_card(encoder, out_path, input_size, {
        'path': os.path.abspath(source_path), 'sha256': file_sha256(source_path),
        'layout': match.layout.name, 'prefix': match.prefix, 'dropped': match.dropped},
        overwrite=True)


def check_card_path(out_path: str, input_size: int, overwrite: bool = False,
                    source_path: Optional[str] = None) -> None:
    """Refuse a card name without .safetensors, a bad size, or files that exist or are read."""
    if not out_path.endswith(WEIGHTS_SUFFIX):
        raise CheckpointError(f'{out_path}: the card name must end with {WEIGHTS_SUFFIX}')
    if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < 32:
        raise CheckpointError(f'input_size must be an integer >= 32, got {input_size!r}')
    paths = card_paths(out_path)
    if source_path is not None and os.path.abspath(source_path) in map(os.path.abspath, paths):
        raise CheckpointError(f'{out_path}: would overwrite the file being imported')
    for path in paths if not overwrite else ():
        if os.path.exists(path):
            raise CheckpointError(f'{path} already exists (overwrite to replace it)')


def write_card(encoder: FrozenEncoder, out_path: str, input_size: int,
               source: Dict[str, Any], overwrite: bool = False) -> Dict[str, Any]:
    """
    Write ``encoder`` as a card at ``out_path`` (a .safetensors name); return its metadata.

    Both files are written to temporary names and renamed into place, the metadata last:
    an interrupted write leaves no card that loads with the wrong weights. ``source`` says
    where the weights came from. An encoder with an ``architecture_config`` (settings its
    architecture needs to be rebuilt) has it stored too.
    """
    check_card_path(out_path, input_size, overwrite)
    weights_path, json_path = card_paths(out_path)
    probe = torch.zeros(1, 3, input_size, input_size, dtype=torch.uint8)
    map_size = list(encoder.feature_map(probe).shape[2:])
    os.makedirs(os.path.dirname(os.path.abspath(weights_path)), exist_ok=True)
    save_tensors(weights_path, dict(encoder.state_dict()))
    card = {
        'kind': CARD_KIND, 'format_version': FORMAT_VERSION,
        'architecture': encoder.architecture, 'feature_dim': int(encoder.feature_dim),
        'input_size': input_size, 'feature_map_size': map_size,
        'image_mean': [float(v) for v in encoder.image_mean],
        'image_std': [float(v) for v in encoder.image_std],
        'weights': os.path.basename(weights_path), 'sha256': file_sha256(weights_path),
        'fingerprint': encoder.fingerprint(), 'source': source}
    if getattr(encoder, 'architecture_config', None):
        card['architecture_config'] = dict(encoder.architecture_config)
    write_json(json_path, card)
    return card


def read_card(path: str) -> Tuple[Dict[str, Any], str]:
    """Read and check a card's metadata; return it and the weights path (not yet verified)."""
    weights_path, json_path = card_paths(path)
    if not os.path.isfile(json_path):
        raise CheckpointError(f'{json_path}: no such file (an encoder card is '
                              f'<name>{WEIGHTS_SUFFIX} with <name>.json beside it)')
    card = read_json(json_path)
    check_format_version(card, CARD_KIND, json_path)
    if card.get('architecture') not in CARD_ARCHITECTURES:
        raise CheckpointError(f"{json_path}: unknown architecture {card.get('architecture')!r}")
    for key in ('image_mean', 'image_std'):
        values = card.get(key)
        if not (isinstance(values, list) and len(values) == 3 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
                and (key == 'image_mean' or min(values) > 0)):
            raise CheckpointError(f'{json_path}: {key} must be 3 numbers, got {values!r}')
    if not isinstance(card.get('sha256'), str) or not isinstance(card.get('input_size'), int):
        raise CheckpointError(f'{json_path}: sha256 or input_size missing')
    name = os.path.basename(card.get('weights') or weights_path)   # beside the .json
    return card, os.path.join(os.path.dirname(json_path), name)


def load_encoder(card_path: str) -> Tuple[FrozenEncoder, Dict[str, Any]]:
    """Load a card (either file's path): check it, return (frozen encoder, metadata)."""
    card, weights_path = read_card(card_path)
    if not os.path.isfile(weights_path):
        raise CheckpointError(f'{weights_path}: no such file (named by the card)')
    checksum = file_sha256(weights_path)
    if checksum != card['sha256']:
        raise CheckpointError(f"{weights_path}: checksum mismatch (sha256 {checksum[:12]}..., "
                              f"the card says {card['sha256'][:12]}...): the file changed "
                              'after import; import the source again')
    tensors = load_tensors(weights_path)
    if card['architecture'] == SMALL_CNN:
        # Imported here: classifier_encoder builds on reward_classifier, which imports this.
        from .classifier_encoder import encoder_from_card
        encoder = encoder_from_card(card, card_paths(card_path)[1])
        expected = dict(encoder.state_dict())
    else:
        encoder = build_encoder(card['architecture'], mean=card['image_mean'],
                                std=card['image_std'])
        expected = reference_tensors(card['architecture'])
    check_tensor_shapes(expected, tensors, weights_path)
    encoder.load_state_dict(tensors)
    return encoder, card


DEFAULT_ARCHITECTURE = 'resnet10'


def build_frozen_encoder(config) -> FrozenEncoder:
    """
    Return an agent's frozen encoder: its card's weights, or seeded random ones.

    ``config`` is an AgentConfig. Its ``frozen_architecture`` left at None becomes the
    card's (or the default), so that checkpoints and policy blobs, which carry the
    config but not the card, rebuild the same network.
    """
    if config.frozen_weights_path:
        encoder, card = load_encoder(config.frozen_weights_path)
        if config.frozen_architecture not in (None, card['architecture']):
            raise CheckpointError(f"{config.frozen_weights_path} holds a "
                                  f"{card['architecture']} encoder; frozen_architecture is "
                                  f'{config.frozen_architecture}')
    else:
        encoder = build_encoder(config.frozen_architecture or DEFAULT_ARCHITECTURE,
                                seed=config.frozen_seed)
    config.frozen_architecture = encoder.architecture
    return encoder
