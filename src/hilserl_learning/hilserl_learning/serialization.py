"""
Pickle-free persistence helpers: safetensors for arrays, JSON for everything else.

Files are written to a temporary name and renamed into place, so a crash mid-save leaves the
previous file intact. Nothing here uses pickle, torch.save or torch.load.
"""

import json
import os
from typing import Any, Dict, Tuple

from safetensors.torch import load_file, save_file
import torch
from torch import nn, Tensor

FORMAT_VERSION = 1


class CheckpointError(Exception):
    """Raised when a checkpoint, buffer snapshot or weights file cannot be loaded safely."""


def write_json(path: str, payload: Dict[str, Any]) -> None:
    """Write `payload` as JSON atomically (temporary file, then rename)."""
    tmp_path = f'{path}.tmp'
    with open(tmp_path, 'w', encoding='utf-8') as stream:
        json.dump(encode_json(payload), stream, indent=1, sort_keys=True)
    os.replace(tmp_path, path)


def fsync_file(path: str) -> None:
    """Flush the file ``path`` to the disk (its data and size)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(path: str) -> None:
    """Flush every file under ``path``, then each directory's entries, to the disk."""
    for directory, _, files in os.walk(path, topdown=False):
        for name in files:
            fsync_file(os.path.join(directory, name))
        fsync_directory(directory)


def fsync_directory(path: str) -> None:
    """Make a rename in the directory ``path`` durable (where the platform allows)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def read_json(path: str) -> Dict[str, Any]:
    """Read a JSON file written by `write_json`."""
    try:
        with open(path, 'r', encoding='utf-8') as stream:
            return decode_json(json.load(stream))
    except (OSError, ValueError) as error:
        raise CheckpointError(f'cannot read metadata file {path}: {error}') from error


def save_tensors(path: str, tensors: Dict[str, Tensor]) -> None:
    """Write tensors to a safetensors file atomically."""
    tmp_path = f'{path}.tmp'
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, tmp_path)
    os.replace(tmp_path, path)


def load_tensors(path: str) -> Dict[str, Tensor]:
    """Read all tensors of a safetensors file."""
    try:
        return load_file(path)
    except Exception as error:  # safetensors raises its own error types
        raise CheckpointError(f'cannot read tensor file {path}: {error}') from error


def check_format_version(metadata: Dict[str, Any], kind: str, source: str) -> None:
    """Reject metadata whose kind or format_version this code does not understand."""
    if metadata.get('kind') != kind:
        found = metadata.get('kind')
        raise CheckpointError(f'{source}: expected a {kind!r} file, found {found!r}')
    version = metadata.get('format_version')
    if version != FORMAT_VERSION:
        raise CheckpointError(f'{source}: unsupported format_version {version!r} '
                              f'(this code reads version {FORMAT_VERSION})')


def check_tensor_shapes(expected: Dict[str, Tensor], found: Dict[str, Tensor],
                        source: str) -> None:
    """Raise CheckpointError unless `found` has exactly the keys and shapes of `expected`."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    problems = []
    if missing:
        problems.append(f'missing tensors {missing}')
    if unexpected:
        problems.append(f'unexpected tensors {unexpected}')
    for key in sorted(set(expected) & set(found)):
        if tuple(expected[key].shape) != tuple(found[key].shape):
            problems.append(f'tensor {key!r} has shape {tuple(found[key].shape)}, '
                            f'expected {tuple(expected[key].shape)}')
        elif expected[key].dtype != found[key].dtype:
            problems.append(f'tensor {key!r} has dtype {found[key].dtype}, '
                            f'expected {expected[key].dtype}')
    if problems:
        raise CheckpointError(f'{source}: ' + '; '.join(problems))


def load_module_tensors(module: nn.Module, tensors: Dict[str, Tensor], source: str) -> None:
    """Load a module's state dict from `tensors` after checking names and shapes."""
    check_tensor_shapes(module.state_dict(), tensors, source)
    module.load_state_dict(tensors)


def flatten_optimizer_state(optimizer: torch.optim.Optimizer,
                            prefix: str) -> Tuple[Dict[str, Tensor], Dict[str, Any]]:
    """
    Split an optimizer state dict into named tensors and a JSON-friendly remainder.

    Tensor entries of ``state[param_index][key]`` become ``{prefix}/{param_index}/{key}``;
    scalars and ``param_groups`` (learning rate, betas, ...) go to the JSON part.
    """
    state_dict = optimizer.state_dict()
    tensors: Dict[str, Tensor] = {}
    scalars: Dict[str, Dict[str, Any]] = {}
    for index, per_param in state_dict['state'].items():
        for key, value in per_param.items():
            if isinstance(value, Tensor):
                tensors[f'{prefix}/{index}/{key}'] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {'param_groups': state_dict['param_groups'], 'scalars': scalars}


def unflatten_optimizer_state(tensors: Dict[str, Tensor], meta: Dict[str, Any],
                              prefix: str) -> Dict[str, Any]:
    """Rebuild the optimizer state dict produced by `flatten_optimizer_state`."""
    state: Dict[int, Dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + '/'):
            index, key = name[len(prefix) + 1:].split('/', 1)
            state.setdefault(int(index), {})[key] = value
    for index, values in meta['scalars'].items():
        state.setdefault(int(index), {}).update(values)
    return {'state': state, 'param_groups': meta['param_groups']}


def encode_json(value: Any) -> Any:
    """Make tuples survive JSON (as {'__tuple__': [...]}) and reject non-JSON leaves early."""
    if isinstance(value, tuple):
        return {'__tuple__': [encode_json(v) for v in value]}
    if isinstance(value, list):
        return [encode_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f'cannot store {type(value).__name__} in JSON metadata')


def decode_json(value: Any) -> Any:
    """Invert `encode_json`."""
    if isinstance(value, list):
        return [decode_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {'__tuple__'}:
            return tuple(decode_json(v) for v in value['__tuple__'])
        return {k: decode_json(v) for k, v in value.items()}
    return value
