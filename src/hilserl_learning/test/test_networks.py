"""Networks, encoders, normaliser and gripper helpers."""

from hilserl_learning.config import AgentConfig
from hilserl_learning.encoders import FrozenResNet10, ObservationEncoder, random_shift
from hilserl_learning.gripper import CLOSE, command_to_index, index_to_command, OPEN, STAY
from hilserl_learning.networks import CriticEnsemble, EnsembleLinear, TanhGaussianActor
from hilserl_learning.normalizer import Normalizer
from hilserl_learning.serialization import CheckpointError
import numpy as np
import pytest
from safetensors.torch import save_file
import torch


def test_ensemble_linear_is_one_batched_matmul_equal_to_separate_layers():
    """Member e of EnsembleLinear equals x_e @ W_e + b_e."""
    torch.manual_seed(0)
    layer = EnsembleLinear(3, 4, 5)
    x = torch.randn(3, 7, 4)
    out = layer(x)
    for member in range(3):
        expected = x[member] @ layer.weight[member] + layer.bias[member]
        assert torch.allclose(out[member], expected, atol=1e-6)


def test_critic_ensemble_members_are_independent():
    """Changing member 0's weights leaves member 1's Q-values unchanged."""
    torch.manual_seed(0)
    critic = CriticEnsemble(2, feature_dim=6, action_dim=3, hidden_dims=(16, 16))
    features, actions = torch.randn(8, 6), torch.rand(8, 3)
    before = critic(features, actions)
    assert before.shape == (2, 8)
    with torch.no_grad():
        critic.net[0].weight[0].add_(torch.randn_like(critic.net[0].weight[0]))
    after = critic(features, actions)
    assert not torch.allclose(before[0], after[0])
    assert torch.allclose(before[1], after[1])


def test_actor_actions_are_squashed_and_log_std_clamped():
    """Actions lie in (-1, 1); log-std stays within its clamp even for huge inputs."""
    torch.manual_seed(0)
    actor = TanhGaussianActor(4, 3, (32,), log_std_min=-5.0, log_std_max=2.0)
    features = torch.randn(64, 4) * 1000.0
    _, log_std = actor(features)
    assert log_std.min() >= -5.0 and log_std.max() <= 2.0
    actions, log_probs = actor.sample(features)
    assert actions.shape == (64, 3) and log_probs.shape == (64,)
    assert actions.abs().max() <= 1.0 and torch.isfinite(log_probs).all()


def test_random_shift_moves_whole_images_by_at_most_pad():
    """Each output equals its input shifted by one (dy, dx) in [-pad, pad], edges replicated."""
    torch.manual_seed(0)
    images = torch.randint(0, 255, (16, 3, 20, 20), dtype=torch.uint8)
    shifted = random_shift(images, pad=4)
    assert shifted.dtype == torch.uint8 and shifted.shape == images.shape
    seen_shifts = set()
    for b in range(16):
        matches = []
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                rows = (torch.arange(20) + dy).clamp(0, 19)
                cols = (torch.arange(20) + dx).clamp(0, 19)
                if torch.equal(images[b][:, rows][:, :, cols], shifted[b]):
                    matches.append((dy, dx))
        assert matches, f'sample {b} is not a shifted copy'
        seen_shifts.add(matches[0])
    assert len(seen_shifts) > 1  # shifts differ per sample


def test_observation_encoder_shapes_for_each_mode():
    """State-only, end-to-end CNN and cached-feature encoders produce the documented sizes."""
    state = torch.randn(4, 5)
    plain = ObservationEncoder(AgentConfig(state_dim=5))
    assert plain({'state': state}).shape == (4, 5)
    cnn_config = AgentConfig(state_dim=5, num_cameras=2, image_size=48, image_encoder='cnn',
                             image_bottleneck_dim=8)
    pixels = torch.randint(0, 255, (4, 2, 3, 48, 48), dtype=torch.uint8)
    cnn = ObservationEncoder(cnn_config)
    assert cnn({'state': state, 'pixels': pixels}).shape == (4, 5 + 2 * 8)
    frozen = ObservationEncoder(AgentConfig(state_dim=5, num_cameras=2, image_bottleneck_dim=8))
    features = torch.randn(4, 2, 512).half()
    assert frozen({'state': state, 'features': features}).shape == (4, 21)


def test_frozen_encoder_loads_local_safetensors_and_rejects_mismatch(tmp_path):
    """Weights round-trip through a local safetensors file; a wrong shape is refused."""
    torch.manual_seed(0)
    source = FrozenResNet10()
    with torch.no_grad():
        source.bn1.running_mean.normal_()
    path = str(tmp_path / 'resnet10.safetensors')
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, path)
    torch.manual_seed(1)
    loaded = FrozenResNet10()
    loaded.load_weights(path)
    images = torch.randint(0, 255, (2, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(source(images), loaded(images))
    assert source(images).shape == (2, 512)
    assert not any(p.requires_grad for p in loaded.parameters())
    loaded.train()
    assert not loaded.training  # frozen BatchNorm statistics
    bad = dict(source.state_dict())
    bad['conv1.weight'] = torch.zeros(8, 3, 7, 7)
    save_file({k: v.contiguous() for k, v in bad.items()}, path)
    with pytest.raises(CheckpointError, match='conv1.weight'):
        loaded.load_weights(path)


def test_normalizer_fits_mean_and_std():
    """Normalised demonstration states have zero mean and unit std; constants stay finite."""
    states = np.random.default_rng(0).normal(3.0, 2.0, size=(1000, 3)).astype(np.float32)
    states[:, 2] = 7.0
    normalizer = Normalizer(3)
    normalizer.fit(states)
    normalized = normalizer(torch.as_tensor(states))
    assert torch.allclose(normalized[:, :2].mean(0), torch.zeros(2), atol=1e-4)
    assert torch.allclose(normalized[:, :2].std(0, unbiased=False), torch.ones(2), atol=1e-4)
    assert torch.isfinite(normalized).all()
    assert set(normalizer.state_dict()) == {'mean', 'std'}


def test_gripper_command_index_round_trip():
    """Commands map to CLOSE/STAY/OPEN with a deadband and back to -1/0/+1."""
    assert (CLOSE, STAY, OPEN) == (0, 1, 2)
    commands = np.array([-1.0, -0.6, -0.2, 0.0, 0.4, 0.7, 1.0])
    assert command_to_index(commands).tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert command_to_index(torch.tensor(commands)).tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert index_to_command(np.array([0, 1, 2])).tolist() == [-1.0, 0.0, 1.0]
    assert index_to_command(torch.tensor([2, 0])).tolist() == [1.0, -1.0]
    for index in (CLOSE, STAY, OPEN):
        assert command_to_index(index_to_command(index)) == index


def _module_path(net: FrozenResNet10, images: torch.Tensor) -> torch.Tensor:
    """Compute the frozen encoder's function module by module, BatchNorm unfolded."""
    with torch.no_grad():
        x = (images.float() - net.pixel_mean) / net.pixel_std
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        return net.layer4(net.layer3(net.layer2(net.layer1(x)))).mean(dim=(2, 3))


def test_frozen_encoder_folded_forward_matches_the_modules_and_follows_new_weights():
    """The folded fast path computes the modules' function, also after the weights change."""
    torch.manual_seed(0)
    net = FrozenResNet10()
    with torch.no_grad():
        for norm in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            norm.running_mean.uniform_(-1.0, 1.0)
            norm.running_var.uniform_(0.5, 2.0)
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    images = torch.randint(0, 255, (3, 3, 64, 64), dtype=torch.uint8)
    assert torch.allclose(net(images), _module_path(net, images), atol=1e-5, rtol=1e-4)
    other = FrozenResNet10()
    net.load_state_dict(other.state_dict())   # new weights: the folded copy must follow
    assert torch.allclose(net(images), _module_path(other, images), atol=1e-5, rtol=1e-4)
    assert 'folded' not in ' '.join(net.state_dict())
