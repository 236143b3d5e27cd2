"""Learned spatial embeddings on cached feature maps, and shifted copies cached at intake."""

from helpers import tiny_config
from hilserl_learning.agent import SACAgent
from hilserl_learning.encoders import SpatialEmbedding
from hilserl_learning.feature_cache import (acting_observation, buffer_feature_layout,
                                            features_to_cache)
from hilserl_learning.policy_blob import (apply_policy, decode_policy, encode_policy,
                                          POLICY_FORMAT_VERSION)
from hilserl_learning.replay_buffer import ReplayBuffer
import numpy as np
import pytest
import torch


def image_config(**overrides):
    """Return a tiny frozen-encoder config: 2 cameras of 64x64 (resnet10 map 512 x 2 x 2)."""
    values = dict(num_cameras=2, image_size=64, image_encoder='frozen',
                  allow_random_encoder=True)
    values.update(overrides)
    return tiny_config(**values)


def frames(batch: int, seed: int = 0) -> torch.Tensor:
    """Return uint8 [batch, 2, 3, 64, 64]: a bright square at a random place on grey."""
    rng = np.random.default_rng(seed)
    images = np.full((batch, 2, 3, 64, 64), 60, dtype=np.uint8)
    for image in images.reshape(-1, 3, 64, 64):
        y, x = rng.integers(4, 44, 2)
        image[:, y:y + 16, x:x + 16] = np.array([220, 80, 40], np.uint8).reshape(3, 1, 1)
    return torch.from_numpy(images)


def fill(buffer: ReplayBuffer, features: torch.Tensor, state_dim: int, action_dim: int) -> None:
    """Add one episode whose consecutive observations are the rows of ``features``."""
    for i in range(len(features) - 1):
        buffer.add({'state': np.zeros(state_dim, np.float32), 'features': features[i].numpy()},
                   np.zeros(action_dim, np.float32), float(i),
                   {'state': np.zeros(state_dim, np.float32),
                    'features': features[i + 1].numpy()},
                   terminated=i == len(features) - 2, episode_id=0)


def test_spatial_embedding_contracts_each_channel_map_with_its_own_kernels():
    pool = SpatialEmbedding(3, 2, 2, num_embeddings=4)
    maps = torch.randn(5, 3, 2, 2)
    out = pool(maps)
    assert out.shape == (5, 3 * 4)
    expected = torch.stack([torch.stack([(maps[:, c].reshape(5, 4) * pool.kernel[c, :, e]).sum(1)
                                         for e in range(4)], 1) for c in range(3)], 1)
    torch.testing.assert_close(out, expected.flatten(1))
    torch.testing.assert_close(pool(maps.flatten(1)), out)   # the cached, flattened map


def test_spatial_embedding_agent_caches_the_map_and_pools_it():
    agent = SACAgent(image_config(image_pooling='spatial_embedding', spatial_embeddings=3))
    assert agent.frozen_map_shape == (512, 2, 2)
    assert agent.cached_feature_dim == 512 * 2 * 2
    pixels = frames(4)
    features = agent.encode_frames(pixels)
    assert features.shape == (4, 2, 2048)
    flat = pixels.flatten(0, 1)
    torch.testing.assert_close(features.flatten(0, 1),
                               agent.frozen_encoder.feature_map(flat).flatten(1))
    assert agent.encoder.pool.output_dim == 512 * 3
    assert agent.encoder.project[0].in_features == 512 * 3
    state = torch.zeros(4, agent.config.state_dim)
    actions = agent.act({'state': state, 'features': features})
    assert actions.shape == (4, agent.config.full_action_dim)
    # Without features the agent encodes the pixels itself, to the same actions.
    torch.testing.assert_close(agent.act({'state': state, 'pixels': pixels}, deterministic=True),
                               agent.act({'state': state, 'features': features},
                                         deterministic=True))


def test_the_policy_blob_carries_the_spatial_embedding_to_the_actor():
    config = image_config(image_pooling='spatial_embedding')
    torch.manual_seed(0)
    learner = SACAgent(config)
    torch.manual_seed(1)
    actor = SACAgent(config)
    blob, digest = encode_policy(learner, policy_version=3)
    tensors, decoded, _ = decode_policy(blob, digest, POLICY_FORMAT_VERSION)
    assert 'encoder.pool.kernel' in tensors and decoded == config
    apply_policy(actor, tensors)
    observation = {'state': torch.zeros(2, config.state_dim), 'pixels': frames(2)}
    assert torch.equal(learner.act(observation, deterministic=True),
                       actor.act(observation, deterministic=True))


def test_the_default_pooling_caches_the_encoders_pooled_features():
    agent = SACAgent(image_config())
    assert agent.frozen_map_shape is None and agent.encoder.pool is None
    assert agent.cached_feature_dim == 512
    assert buffer_feature_layout(agent) == {'feature_shape': (2, 512), 'feature_copies': 1}
    assert agent.encode_frames(frames(3)).shape == (3, 2, 512)


def test_only_the_critic_loss_trains_the_spatial_embedding():
    torch.manual_seed(0)
    config = image_config(image_pooling='spatial_embedding')
    agent = SACAgent(config)
    buffer = ReplayBuffer(64, config.state_dim, config.full_action_dim, seed=0,
                          **buffer_feature_layout(agent))
    fill(buffer, agent.encode_frames(frames(17)), config.state_dim, config.full_action_dim)
    kernel = agent.encoder.pool.kernel
    target_kernel = agent.target_encoder.pool.kernel
    before, target_before = kernel.detach().clone(), target_kernel.clone()
    metrics, features = agent.update_critic(buffer.sample(16))
    assert kernel.grad is not None and kernel.grad.abs().sum() > 0
    assert not torch.equal(kernel, before)           # the critic's optimizer stepped it
    # The target follows by Polyak averaging only.
    torch.testing.assert_close(target_kernel, (1 - config.tau) * target_before
                               + config.tau * kernel.detach())
    assert not features.requires_grad                # the actor gets detached features
    after_critic, critic_grad = kernel.detach().clone(), kernel.grad.clone()
    agent.update_actor(features)
    assert torch.equal(kernel, after_critic) and torch.equal(kernel.grad, critic_grad)
    assert all(kernel is not p for p in agent.optimizers['actor'].param_groups[0]['params'])


def test_cached_copies_are_shifted_encodings_beside_the_unshifted_one():
    torch.manual_seed(0)
    agent = SACAgent(image_config(feature_augmentation_copies=3, drq_pad=4))
    assert buffer_feature_layout(agent) == {'feature_shape': (2, 512), 'feature_copies': 4}
    pixels = frames(5)
    cached = features_to_cache(agent, pixels)
    assert cached.shape == (5, 4, 2, 512)
    torch.testing.assert_close(cached[:, 0], agent.encode_frames(pixels))
    # Each copy is its own random shift of each frame (81 shifts: two may coincide).
    versions = cached.transpose(1, 2).reshape(-1, 4, 512)   # per frame and camera
    differ = torch.cdist(versions, versions) > 1e-4
    first, second = torch.triu_indices(4, 4, 1)
    pairs = differ[:, first, second]
    assert pairs.float().mean() > 0.9, pairs
    # The actor's unshifted features are kept as they are; one frame [N, 3, H, W] works too.
    given = torch.randn(2, 512)
    single = features_to_cache(agent, pixels[0], given)
    assert single.shape == (4, 2, 512) and torch.equal(single[0], given)
    observation = {'state': np.zeros(4), 'features': single.numpy()}
    assert np.array_equal(acting_observation(observation)['features'], given.numpy())


def test_sampling_draws_one_copy_per_observation_at_random():
    copies, rows = 4, 9
    buffer = ReplayBuffer(32, 2, 3, feature_shape=(2, 8), seed=0, feature_copies=copies)
    # Version j of frame i holds 10 * i + j everywhere.
    features = (10 * torch.arange(rows).view(-1, 1, 1, 1) + torch.arange(copies).view(1, -1, 1, 1)
                ).expand(rows, copies, 2, 8).float()
    fill(buffer, features, 2, 3)
    batch = buffer.sample(4000)
    seen = batch.observations['features']
    seen_next = batch.next_observations['features']
    assert seen.shape == (4000, 2, 8) and seen.dtype == torch.float32
    frame = batch.indices.view(-1, 1, 1)   # rows 0..7 of a fresh buffer are frames 0..7
    version, next_version = (seen - 10 * frame)[:, 0, 0], (seen_next - 10 * (frame + 1))[:, 0, 0]
    assert ((seen - 10 * frame) == version.view(-1, 1, 1)).all()   # one version per frame
    for drawn in (version, next_version):
        counts = torch.bincount(drawn.long(), minlength=copies)
        assert len(counts) == copies and (counts > 850).all(), counts
    assert (version != next_version).float().mean() > 0.6   # drawn independently
    with pytest.raises(ValueError, match='expected'):
        buffer.add({'state': np.zeros(2), 'features': np.zeros((2, 8))}, np.zeros(3), 0.0,
                   {'state': np.zeros(2), 'features': np.zeros((2, 8))}, False)


def test_a_buffer_of_spatial_maps_and_copies_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    config = image_config(image_pooling='spatial_embedding', feature_augmentation_copies=2)
    agent = SACAgent(config)
    layout = buffer_feature_layout(agent)
    assert layout == {'feature_shape': (2, 2048), 'feature_copies': 3}
    buffer = ReplayBuffer(32, config.state_dim, config.full_action_dim, seed=3, **layout)
    fill(buffer, features_to_cache(agent, frames(6)), config.state_dim, config.full_action_dim)
    buffer.save(str(tmp_path / 'buffer'))
    loaded = ReplayBuffer.load(str(tmp_path / 'buffer'))
    assert loaded.feature_copies == 3 and loaded.feature_shape == (2, 2048)
    assert loaded.state_equal(buffer)
    ours, theirs = buffer.sample(8), loaded.sample(8)
    assert torch.equal(ours.observations['features'], theirs.observations['features'])
    assert torch.equal(ours.next_observations['features'], theirs.next_observations['features'])


@pytest.mark.parametrize('overrides, message', [
    ({'image_pooling': 'max'}, 'image_pooling must be one of'),
    ({'feature_augmentation_copies': -1}, 'feature_augmentation_copies'),
    ({'spatial_embeddings': 0}, 'spatial_embeddings'),
    ({'image_encoder': 'cnn', 'image_pooling': 'spatial_embedding'}, "not to image_encoder"),
    ({'image_encoder': 'cnn', 'feature_augmentation_copies': 2}, "not to image_encoder"),
])
def test_bad_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        image_config(**overrides)
