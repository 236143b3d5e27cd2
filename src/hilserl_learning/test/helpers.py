"""Small shared fixtures: tiny agent configs, random buffers, encoded episodes."""

from hilserl_learning.config import AgentConfig
from hilserl_learning.replay_buffer import ReplayBuffer
import numpy as np
import torch


def tiny_config(**overrides) -> AgentConfig:
    """Return a small, fast config (overridable)."""
    values = {'state_dim': 4, 'action_dim': 3, 'hidden_dims': (32, 32),
              'grasp_hidden_dims': (16,), 'image_size': 48, 'image_bottleneck_dim': 8,
              'cnn_channels': (4, 8, 8)}
    values.update(overrides)
    return AgentConfig(**values)


def random_buffer(config: AgentConfig, steps: int = 64, seed: int = 0,
                  features: bool = False) -> ReplayBuffer:
    """Fill a buffer matching `config` with random episodes of 8 steps."""
    rng = np.random.default_rng(seed)
    n, c, s = config.num_cameras, config.image_channels, config.image_size
    image_shape = (n, c, s, s) if n and not features else None
    feature_shape = (n, 512) if n and features else None
    buffer = ReplayBuffer(256, config.state_dim, config.full_action_dim, image_shape,
                          feature_shape, seed=seed)

    def observation():
        obs = {'state': rng.normal(size=config.state_dim).astype(np.float32)}
        if image_shape:
            obs['pixels'] = rng.integers(0, 255, image_shape, dtype=np.uint8)
        if feature_shape:
            obs['features'] = rng.normal(size=feature_shape).astype(np.float32)
        return obs

    for step in range(steps):
        action = rng.uniform(-1, 1, config.full_action_dim).astype(np.float32)
        buffer.add(observation(), action, float(rng.normal()), observation(),
                   terminated=step % 8 == 7, gripper_toggled=bool(step % 3 == 0))
    return buffer


def snapshot(module: torch.nn.Module):
    """Copy every parameter of a module."""
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module: torch.nn.Module) -> bool:
    """Say whether any parameter of `module` differs from `before`."""
    return any(not torch.equal(b, p) for b, p in zip(before, module.parameters()))


IMAGE_SHAPE = (2, 3, 8, 8)


def frame(episode, step, images=False, features=False):
    """Observation whose content encodes (episode, step)."""
    observation = {'state': np.array([episode, step], dtype=np.float32)}
    if images:
        observation['pixels'] = np.full(IMAGE_SHAPE, (episode * 31 + step) % 251, np.uint8)
    if features:
        observation['features'] = np.full((2, 4), episode + step / 1000.0, np.float32)
    return observation


def add_step(buffer, episode, step, terminated=False, truncated=False, **kwargs):
    """Add step `step` of `episode`: action and reward also encode (episode, step)."""
    buffer.add(frame(episode, step, **kwargs), np.array([episode, step], np.float32),
               reward=episode * 100 + step, next_observation=frame(episode, step + 1, **kwargs),
               terminated=terminated, truncated=truncated, episode_id=episode)


def assert_consistent(batch):
    """Every step's action, reward and next frame belong to the same episode and step."""
    state, next_state = batch.observations['state'], batch.next_observations['state']
    assert torch.equal(batch.actions, state)
    assert torch.equal(batch.rewards, state[:, 0] * 100 + state[:, 1])
    assert torch.equal(next_state[:, 0], state[:, 0]), 'next frame from another episode'
    assert torch.equal(next_state[:, 1], state[:, 1] + 1), 'stale or missing next frame'
    if 'pixels' in batch.observations:
        expected = (state[:, 0] * 31 + state[:, 1]) % 251
        assert torch.equal(batch.observations['pixels'][:, 0, 0, 0, 0].float(), expected)
        expected_next = (next_state[:, 0] * 31 + next_state[:, 1]) % 251
        assert torch.equal(batch.next_observations['pixels'][:, 1, 2, 7, 7].float(),
                           expected_next)
