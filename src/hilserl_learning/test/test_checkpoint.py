"""Checkpoints: exact round trip (networks, optimizers, temperature), strict validation."""

import json
import os

from helpers import random_buffer, tiny_config
from hilserl_learning.agent import SACAgent
from hilserl_learning.checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint
from hilserl_learning.serialization import CheckpointError
import pytest
import torch


def trained_agent(config, updates=5):
    """Return an agent with non-trivial weights, optimizer moments and temperature."""
    torch.manual_seed(0)
    agent = SACAgent(config)
    buffer = random_buffer(config, features=config.num_cameras > 0)
    agent.normalizer.fit(buffer.states())
    for _ in range(updates):
        agent.update(lambda: buffer.sample(16))
    return agent, buffer


def assert_same_agent(a, b):
    """Compare every tensor, optimizer state, counter and the temperature."""
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    assert a.temperature == b.temperature
    assert (a.num_critic_updates, a.num_actor_updates) == (b.num_critic_updates,
                                                           b.num_actor_updates)
    for name in a.optimizers:
        opt_a, opt_b = a.optimizers[name].state_dict(), b.optimizers[name].state_dict()
        assert opt_a['param_groups'] == opt_b['param_groups'], name
        assert opt_a['state'].keys() == opt_b['state'].keys()
        for index, values in opt_a['state'].items():
            for key, value in values.items():
                assert torch.equal(value, opt_b['state'][index][key]), (name, index, key)


def test_round_trip_is_exact_and_training_continues_identically(tmp_path):
    """Save, load, and one more update on the same batch gives bit-identical agents."""
    config = tiny_config(num_cameras=2, image_encoder='frozen')
    agent, buffer = trained_agent(config)
    save_checkpoint(agent, str(tmp_path), extra={'env_steps': 123})
    loaded, extra = load_checkpoint(str(tmp_path))
    assert extra == {'env_steps': 123}
    assert loaded.config.to_dict() == agent.config.to_dict()
    assert_same_agent(agent, loaded)
    batch = buffer.sample(16)
    for model in (agent, loaded):
        torch.manual_seed(42)
        model.update(lambda: batch)
    assert_same_agent(agent, loaded)


def test_restore_into_existing_agent_and_metadata_contents(tmp_path):
    """restore_checkpoint fills an agent in place; the JSON carries the documented fields."""
    config = tiny_config()
    agent, _ = trained_agent(config)
    save_checkpoint(agent, str(tmp_path))
    fresh = SACAgent(config)
    restore_checkpoint(fresh, str(tmp_path))
    assert_same_agent(agent, fresh)
    with open(os.path.join(str(tmp_path), 'checkpoint.json')) as stream:
        meta = json.load(stream)
    assert meta['format_version'] == 1
    assert meta['temperature'] == pytest.approx(agent.temperature)
    assert meta['optimizers']['critic']['param_groups'][0]['lr'] == config.critic_lr


def test_bad_format_version_is_rejected(tmp_path):
    """An unknown format version raises CheckpointError naming the version."""
    agent, _ = trained_agent(tiny_config(), updates=1)
    save_checkpoint(agent, str(tmp_path))
    path = os.path.join(str(tmp_path), 'checkpoint.json')
    with open(path) as stream:
        meta = json.load(stream)
    meta['format_version'] = 2
    with open(path, 'w') as stream:
        json.dump(meta, stream)
    with pytest.raises(CheckpointError, match='format_version 2'):
        load_checkpoint(str(tmp_path))


def test_shape_mismatch_is_rejected_with_tensor_names(tmp_path):
    """Loading into an agent with other layer sizes names the offending tensors."""
    agent, _ = trained_agent(tiny_config(), updates=1)
    save_checkpoint(agent, str(tmp_path))
    with pytest.raises(CheckpointError, match=r"critic\.net\.0\.weight' has shape"):
        load_checkpoint(str(tmp_path), config=tiny_config(hidden_dims=(16, 16)))
    with pytest.raises(CheckpointError, match='cannot read metadata'):
        load_checkpoint(str(tmp_path / 'missing'))


def test_fine_tuning_config_may_change_hyperparameters(tmp_path):
    """Online fine-tuning may reload pretrained weights under new learning rates."""
    agent, _ = trained_agent(tiny_config(), updates=2)
    save_checkpoint(agent, str(tmp_path))
    loaded, _ = load_checkpoint(str(tmp_path),
                                config=tiny_config(critic_updates_per_learner_step=2))
    assert loaded.config.critic_updates_per_learner_step == 2
    assert torch.equal(loaded.critic.net[0].weight, agent.critic.net[0].weight)


def test_a_checkpoint_written_before_a_field_was_renamed_loads_under_the_new_name(tmp_path):
    """A stored config with utd_ratio (renamed critic_updates_per_learner_step) still loads."""
    agent, _ = trained_agent(tiny_config(critic_updates_per_learner_step=2), updates=1)
    save_checkpoint(agent, str(tmp_path))
    path = os.path.join(str(tmp_path), 'checkpoint.json')
    with open(path) as stream:
        meta = json.load(stream)
    meta['config']['utd_ratio'] = meta['config'].pop('critic_updates_per_learner_step')
    with open(path, 'w') as stream:
        json.dump(meta, stream)
    loaded, _ = load_checkpoint(str(tmp_path))
    assert loaded.config.critic_updates_per_learner_step == 2
