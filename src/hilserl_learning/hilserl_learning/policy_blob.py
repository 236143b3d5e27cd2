"""
The actor's share of the agent as one byte string: what the learner sends the actors.

The blob is a safetensors file in memory holding the parts an actor needs to act
(state normaliser, trainable observation encoder, actor, grasp critic); critics,
target networks, optimizers and the frozen image encoder stay with the learner (the
actor loads the frozen encoder from the same local weights file). Its safetensors
metadata carries the format version, the policy version and the agent configuration;
the message that carries it adds a SHA-256 of the bytes. Decoding checks all three
before any tensor reaches the agent, and safetensors cannot run code: a corrupted or
hostile blob is rejected, never executed.
"""

import hashlib
import json
from typing import Dict, Tuple

from safetensors.torch import load as load_safetensors, save as save_safetensors
import torch
from torch import Tensor

from .agent import SACAgent
from .config import AgentConfig

POLICY_FORMAT_VERSION = 1
# Modules of SACAgent an actor needs; everything else stays on the learner.
ACTING_MODULES = ('normalizer', 'encoder', 'actor', 'grasp_critic')


class PolicyBlobError(Exception):
    """A parameters blob that must not be applied, with the reason."""


def acting_state(agent: SACAgent) -> Dict[str, Tensor]:
    """Return the agent's acting tensors, keyed as in its state_dict."""
    return {key: value.detach().cpu().contiguous()
            for key, value in agent.state_dict().items()
            if key.split('.', 1)[0] in ACTING_MODULES}


def encode_policy(agent: SACAgent, policy_version: int) -> Tuple[bytes, str]:
    """Return ``(blob, sha256 hex digest)`` of the agent's acting parameters."""
    metadata = {'format_version': str(POLICY_FORMAT_VERSION),
                'policy_version': str(int(policy_version)),
                'config': json.dumps(agent.config.to_dict(), sort_keys=True)}
    blob = save_safetensors(acting_state(agent), metadata=metadata)
    return blob, hashlib.sha256(blob).hexdigest()


def decode_policy(blob: bytes, sha256: str, format_version: int
                  ) -> Tuple[Dict[str, Tensor], AgentConfig, int]:
    """
    Check and open a blob; return ``(tensors, agent config, policy version)``.

    Raises PolicyBlobError for a wrong checksum, an unknown format version (in the
    message or in the blob) or a blob that is not a readable safetensors file.
    """
    if format_version != POLICY_FORMAT_VERSION:
        raise PolicyBlobError(f'format version {format_version} is not supported '
                              f'(this build reads version {POLICY_FORMAT_VERSION})')
    digest = hashlib.sha256(bytes(blob)).hexdigest()
    if digest != sha256:
        raise PolicyBlobError(f'checksum mismatch: message says {sha256[:12]}..., '
                              f'the blob hashes to {digest[:12]}...')
    try:
        tensors = load_safetensors(bytes(blob))
        metadata = _read_metadata(bytes(blob))
    except Exception as error:  # safetensors raises several types on bad input
        raise PolicyBlobError(f'not a readable parameters blob: {error}') from None
    if metadata.get('format_version') != str(POLICY_FORMAT_VERSION):
        raise PolicyBlobError(f"blob format version {metadata.get('format_version')!r} "
                              f'is not {POLICY_FORMAT_VERSION}')
    try:
        config = AgentConfig.from_dict(json.loads(metadata['config']))
        policy_version = int(metadata['policy_version'])
    except (KeyError, ValueError, TypeError) as error:
        raise PolicyBlobError(f'blob metadata is incomplete or invalid: {error}') from None
    return tensors, config, policy_version


def _read_metadata(blob: bytes) -> Dict[str, str]:
    # safetensors layout: 8-byte little-endian header length, then the JSON header.
    header_length = int.from_bytes(blob[:8], 'little')
    header = json.loads(blob[8:8 + header_length])
    return header.get('__metadata__', {})


def apply_policy(agent: SACAgent, tensors: Dict[str, Tensor]) -> None:
    """
    Load acting tensors into `agent`, all or nothing.

    Raises PolicyBlobError when the names or shapes do not match the agent (e.g. a
    learner configured for other cameras), leaving the agent unchanged.
    """
    expected = acting_state(agent)
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise PolicyBlobError(f'parameters do not fit this agent: missing {missing[:3]}, '
                              f'unexpected {unexpected[:3]}')
    for key, value in expected.items():
        if tensors[key].shape != value.shape or tensors[key].dtype != value.dtype:
            raise PolicyBlobError(f'{key}: blob has {tuple(tensors[key].shape)} '
                                  f'{tensors[key].dtype}, agent has {tuple(value.shape)} '
                                  f'{value.dtype}')
    with torch.no_grad():
        agent.load_state_dict(tensors, strict=False)
