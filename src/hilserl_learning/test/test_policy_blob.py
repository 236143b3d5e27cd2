"""The learner-to-actor parameters blob: round trip, and every rejection."""

import hashlib

import pytest
import torch

from hilserl_learning import AgentConfig, SACAgent
from hilserl_learning.policy_blob import (acting_state, apply_policy, decode_policy,
                                          encode_policy, POLICY_FORMAT_VERSION,
                                          PolicyBlobError)


def make_agent(seed, **overrides):
    torch.manual_seed(seed)
    settings = dict(state_dim=5, hidden_dims=(16, 16), grasp_hidden_dims=(8,))
    settings.update(overrides)
    return SACAgent(AgentConfig(**settings))


def test_round_trip_makes_the_actor_act_like_the_learner():
    learner, actor = make_agent(0), make_agent(1)
    blob, digest = encode_policy(learner, policy_version=7)
    tensors, config, version = decode_policy(blob, digest, POLICY_FORMAT_VERSION)
    apply_policy(actor, tensors)
    assert version == 7 and config == learner.config
    state = {'state': torch.randn(4, 5)}
    assert torch.equal(learner.act(state, deterministic=True),
                       actor.act(state, deterministic=True))


def test_only_acting_parts_travel():
    agent = make_agent(0, num_cameras=1, image_encoder='cnn', image_size=64)
    blob, _ = encode_policy(agent, 1)
    tensors, _, _ = decode_policy(blob, hashlib.sha256(blob).hexdigest(), POLICY_FORMAT_VERSION)
    assert {key.split('.', 1)[0] for key in tensors} == {
        'normalizer', 'encoder', 'actor', 'grasp_critic'}
    critic_bytes = sum(v.numel() * v.element_size() for k, v in agent.state_dict().items()
                       if 'critic.' in k and not k.startswith('grasp_critic'))
    assert critic_bytes > 0 and len(blob) < sum(
        v.numel() * v.element_size() for v in agent.state_dict().values()) - critic_bytes / 2


def test_bad_checksum_is_rejected():
    blob, digest = encode_policy(make_agent(0), 1)
    corrupted = bytearray(blob)
    corrupted[-1] ^= 0xFF
    with pytest.raises(PolicyBlobError, match='checksum'):
        decode_policy(bytes(corrupted), digest, POLICY_FORMAT_VERSION)


def test_unknown_format_version_is_rejected():
    blob, digest = encode_policy(make_agent(0), 1)
    with pytest.raises(PolicyBlobError, match='format version'):
        decode_policy(blob, digest, POLICY_FORMAT_VERSION + 1)


def test_garbage_with_a_matching_checksum_is_rejected():
    garbage = b'\x10\x00\x00\x00\x00\x00\x00\x00not json at all!'
    with pytest.raises(PolicyBlobError, match='not a readable'):
        decode_policy(garbage, hashlib.sha256(garbage).hexdigest(), POLICY_FORMAT_VERSION)


def test_parameters_of_another_shape_leave_the_agent_unchanged():
    actor = make_agent(1)
    before = {k: v.clone() for k, v in acting_state(actor).items()}
    other = make_agent(0, hidden_dims=(32, 32))
    tensors, _, _ = decode_policy(*encode_policy(other, 1), POLICY_FORMAT_VERSION)
    with pytest.raises(PolicyBlobError, match='actor'):
        apply_policy(actor, tensors)
    assert all(torch.equal(before[k], v) for k, v in acting_state(actor).items())
