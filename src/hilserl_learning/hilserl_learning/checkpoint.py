"""
Agent checkpoints: ``weights.safetensors`` + ``checkpoint.json`` in one directory.

The safetensors file holds every network tensor (``model/...``: online and target networks,
log alpha, normaliser statistics, frozen encoder) and every optimizer tensor
(``optim/<name>/<param index>/<key>``). The JSON file holds ``format_version``, the agent
config, update counters, the temperature, optimizer hyperparameters and any caller counters
(e.g. environment steps). Loading checks version and every tensor name and shape first and
raises ``CheckpointError`` with the offending names; no pickle is involved anywhere.
"""

import os
from typing import Any, Dict, Optional, Tuple

import torch

from .agent import SACAgent
from .config import AgentConfig
from .serialization import (check_format_version, check_tensor_shapes, CheckpointError,
                            flatten_optimizer_state, FORMAT_VERSION, load_tensors, read_json,
                            save_tensors, unflatten_optimizer_state, write_json)

WEIGHTS_FILE = 'weights.safetensors'
METADATA_FILE = 'checkpoint.json'


def save_checkpoint(agent: SACAgent, directory: str,
                    extra: Optional[Dict[str, Any]] = None) -> None:
    """Save `agent` (networks, optimizers, counters, config) plus JSON-able `extra` values."""
    os.makedirs(directory, exist_ok=True)
    tensors = {f'model/{key}': value for key, value in agent.state_dict().items()}
    optimizers = {}
    for name, optimizer in agent.optimizers.items():
        optimizer_tensors, optimizers[name] = flatten_optimizer_state(optimizer, f'optim/{name}')
        tensors.update(optimizer_tensors)
    save_tensors(os.path.join(directory, WEIGHTS_FILE), tensors)
    # JSON last: a checkpoint whose JSON exists has complete weights.
    write_json(os.path.join(directory, METADATA_FILE), {
        'kind': 'agent_checkpoint', 'format_version': FORMAT_VERSION,
        'config': agent.config.to_dict(),
        'num_critic_updates': agent.num_critic_updates,
        'num_actor_updates': agent.num_actor_updates,
        'temperature': agent.temperature,
        'optimizers': optimizers,
        'extra': extra or {},
    })


def read_checkpoint_metadata(directory: str) -> Dict[str, Any]:
    """Return the validated JSON metadata of a checkpoint."""
    source = os.path.join(directory, METADATA_FILE)
    metadata = read_json(source)
    check_format_version(metadata, 'agent_checkpoint', source)
    return metadata


def load_checkpoint(directory: str, device: str = 'cpu',
                    config: Optional[AgentConfig] = None) -> Tuple[SACAgent, Dict[str, Any]]:
    """
    Build an agent from a checkpoint; return it with the checkpoint's `extra` dict.

    Pass `config` to build the agent from another config (e.g. new learning rates for online
    fine-tuning after offline pretraining): tensor shapes must still match.
    """
    metadata = read_checkpoint_metadata(directory)
    if config is None:
        try:
            config = AgentConfig.from_dict(metadata['config'])
        except (TypeError, ValueError) as error:
            raise CheckpointError(f'{directory}: invalid agent config: {error}') from error
        # The frozen encoder's weights are in the checkpoint itself, but the path stays: the
        # policy blobs carry this config, and an actor loads its encoder from the card.
    agent = SACAgent(config, device=device)
    restore_checkpoint(agent, directory, metadata)
    return agent, metadata['extra']


def restore_checkpoint(agent: SACAgent, directory: str,
                       metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Load a checkpoint into an existing agent in place; return the `extra` dict."""
    metadata = metadata or read_checkpoint_metadata(directory)
    tensors = load_tensors(os.path.join(directory, WEIGHTS_FILE))
    model = {key[len('model/'):]: value for key, value in tensors.items()
             if key.startswith('model/')}
    check_tensor_shapes(agent.state_dict(), model, directory)
    for name, optimizer in agent.optimizers.items():
        if name not in metadata['optimizers']:
            raise CheckpointError(f'{directory}: no state for optimizer {name!r}')
        prefix = f'optim/{name}'
        state = unflatten_optimizer_state(tensors, metadata['optimizers'][name], prefix)
        _check_optimizer_state(optimizer, state, f'{directory} optimizer {name!r}')
        optimizer.load_state_dict(state)
    agent.load_state_dict(model)
    agent.num_critic_updates = int(metadata['num_critic_updates'])
    agent.num_actor_updates = int(metadata['num_actor_updates'])
    return metadata['extra']


def _check_optimizer_state(optimizer: torch.optim.Optimizer, state: Dict[str, Any],
                           source: str) -> None:
    """Check that saved moment tensors match the parameters they belong to."""
    params = [p for group in optimizer.param_groups for p in group['params']]
    saved_groups = state['param_groups']
    if len(saved_groups) != len(optimizer.param_groups) or sum(
            len(g['params']) for g in saved_groups) != len(params):
        raise CheckpointError(f'{source}: parameter groups do not match the agent')
    for index, values in state['state'].items():
        if not 0 <= index < len(params):
            raise CheckpointError(f'{source}: state for unknown parameter {index}')
        for key, value in values.items():
            if key.startswith('exp_avg') and value.shape != params[index].shape:
                raise CheckpointError(f'{source}: {key} of parameter {index} has shape '
                                      f'{tuple(value.shape)}, expected '
                                      f'{tuple(params[index].shape)}')
