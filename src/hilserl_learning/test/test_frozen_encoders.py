"""Frozen encoders: foreign layouts imported as cards, checks on loading, seeded controls."""

import json
import math

from hilserl_learning.encoders import FrozenResNet10
from hilserl_learning.frozen_encoders import (ARCHITECTURES, build_encoder, CheckpointError,
                                              import_encoder, load_encoder)
import pytest
from safetensors.torch import save_file
import torch
import torch.nn.functional as F

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
CHANNELS = (64, 128, 256, 512)
UNPICKLED = []


def images(size, count=2, seed=0):
    """Random uint8 camera images [count, 3, size, size]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8,
                         generator=generator)


def normalised(pixels):
    """Normalise as ImageNet models expect: (x / 255 - mean) / std."""
    return (pixels.float() / 255.0 - MEAN) / STD


# --- torchvision's layout ------------------------------------------------------------------

def torchvision_state_dict(depths, seed=0, with_counters=True):
    """Random weights under torchvision's ResNet names, as resnet18().state_dict() has."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=generator) * (high - low) + low

    def conv(out_channels, in_channels, kernel):
        bound = 1.0 / math.sqrt(in_channels * kernel * kernel)
        return uniform((out_channels, in_channels, kernel, kernel), -2 * bound, 2 * bound)

    state = {}

    def norm(name, channels):
        state[f'{name}.weight'] = uniform((channels,), 0.2, 0.8)
        state[f'{name}.bias'] = uniform((channels,), -0.5, 0.5)
        state[f'{name}.running_mean'] = uniform((channels,), -0.5, 0.5)
        state[f'{name}.running_var'] = uniform((channels,), 0.5, 2.0)
        if with_counters:
            state[f'{name}.num_batches_tracked'] = torch.tensor(100)

    state['conv1.weight'] = conv(64, 3, 7)
    norm('bn1', 64)
    in_channels = 64
    for stage, (depth, channels) in enumerate(zip(depths, CHANNELS)):
        for index in range(depth):
            name = f'layer{stage + 1}.{index}'
            state[f'{name}.conv1.weight'] = conv(channels, in_channels, 3)
            norm(f'{name}.bn1', channels)
            state[f'{name}.conv2.weight'] = conv(channels, channels, 3)
            norm(f'{name}.bn2', channels)
            if stage > 0 and index == 0:
                state[f'{name}.downsample.0.weight'] = conv(channels, in_channels, 1)
                norm(f'{name}.downsample.1', channels)
            in_channels = channels
    state['fc.weight'] = uniform((1000, 512), -0.05, 0.05)
    state['fc.bias'] = uniform((1000,), -0.05, 0.05)
    return state


def torchvision_trunk(state, pixels, depths):
    """Compute torchvision's ResNet forward up to the average pool, written out with F.*."""
    def bn(x, name):
        return F.batch_norm(x, state[f'{name}.running_mean'], state[f'{name}.running_var'],
                            state[f'{name}.weight'], state[f'{name}.bias'], False, 0.0, 1e-5)

    x = F.relu(bn(F.conv2d(normalised(pixels), state['conv1.weight'], None, 2, 3), 'bn1'))
    x = F.max_pool2d(x, 3, 2, 1)
    for stage, depth in enumerate(depths):
        for index in range(depth):
            name = f'layer{stage + 1}.{index}'
            stride = 2 if stage > 0 and index == 0 else 1
            out = F.relu(bn(F.conv2d(x, state[f'{name}.conv1.weight'], None, stride, 1),
                            f'{name}.bn1'))
            out = bn(F.conv2d(out, state[f'{name}.conv2.weight'], None, 1, 1), f'{name}.bn2')
            shortcut = x
            if f'{name}.downsample.0.weight' in state:
                shortcut = bn(F.conv2d(x, state[f'{name}.downsample.0.weight'], None, stride),
                              f'{name}.downsample.1')
            x = F.relu(out + shortcut)
    return x


@pytest.mark.parametrize('architecture, depths', [('resnet18', (2, 2, 2, 2)),
                                                  ('resnet34', (3, 4, 6, 3))])
def test_torchvision_pth_imports_and_computes_torchvisions_features(tmp_path, architecture,
                                                                    depths):
    """A torchvision .pth (fc head included) becomes a card whose features are torchvision's."""
    state = torchvision_state_dict(depths)
    source = str(tmp_path / f'{architecture}-imagenet.pth')
    torch.save(state, source)
    card = import_encoder(source, str(tmp_path / 'enc.safetensors'))
    assert card['architecture'] == architecture
    assert card['source']['layout'] == f'torchvision_{architecture}'
    assert card['source']['dropped'] == ['fc.bias', 'fc.weight']
    assert card['feature_map_size'] == [4, 4] and card['feature_dim'] == 512
    encoder, loaded_card = load_encoder(str(tmp_path / 'enc.json'))
    assert loaded_card == card
    assert not any(p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert not encoder.training
    pixels = images(128)
    expected = torchvision_trunk(state, pixels, depths)
    feature_map = encoder.feature_map(pixels)
    assert feature_map.shape == (2, 512, 4, 4)
    torch.testing.assert_close(feature_map, expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(encoder(pixels), expected.mean(dim=(2, 3)), atol=1e-4,
                               rtol=1e-4)
    assert encoder.fingerprint() == card['fingerprint']


def test_data_parallel_prefix_and_old_files_without_batch_counters_import(tmp_path):
    """'module.' keys (DataParallel) without num_batches_tracked (old torchvision files)."""
    state = torchvision_state_dict((1, 1, 1, 1), seed=3, with_counters=False)
    source = str(tmp_path / 'resnet10.pth')
    torch.save({'state_dict': {f'module.{k}': v for k, v in state.items()}, 'epoch': 90},
               source)
    card = import_encoder(source, str(tmp_path / 'r10.safetensors'), layout='torchvision')
    assert (card['architecture'], card['source']['prefix']) == ('resnet10', 'module.')
    encoder, _ = load_encoder(str(tmp_path / 'r10.safetensors'))
    assert isinstance(encoder, FrozenResNet10)
    pixels = images(96, seed=1)
    torch.testing.assert_close(encoder.feature_map(pixels),
                               torchvision_trunk(state, pixels, (1, 1, 1, 1)), atol=1e-4,
                               rtol=1e-4)


# --- HIL-SERL's ResNet-10 (helper2424/resnet10's names) ------------------------------------

def hilserl_state_dict(seed=0, group_norm_wrapper=False):
    """Random weights under helper2424/resnet10's names (ResNet10 model's state dict)."""
    generator = torch.Generator().manual_seed(seed)
    norm = '.group_norm' if group_norm_wrapper else ''

    def randn(*shape, scale=1.0):
        return torch.randn(shape, generator=generator) * scale

    state = {'embedder.0.weight': randn(64, 3, 7, 7, scale=0.1),
             f'embedder.1{norm}.weight': 1 + randn(64, scale=0.2),
             f'embedder.1{norm}.bias': randn(64, scale=0.2)}
    in_channels = 64
    for stage, channels in enumerate(CHANNELS):
        name = f'encoder.stages.{stage}'
        state[f'{name}.conv1.conv.weight'] = randn(channels, in_channels, 3, 3, scale=0.05)
        state[f'{name}.conv2.conv.weight'] = randn(channels, channels, 3, 3, scale=0.05)
        for index in (1, 2):
            state[f'{name}.norm{index}{norm}.weight'] = 1 + randn(channels, scale=0.2)
            state[f'{name}.norm{index}{norm}.bias'] = randn(channels, scale=0.2)
        if in_channels != channels:
            state[f'{name}.shortcut.0.conv.weight'] = randn(channels, in_channels, 1, 1,
                                                            scale=0.1)
            state[f'{name}.shortcut.1{norm}.weight'] = 1 + randn(channels, scale=0.2)
            state[f'{name}.shortcut.1{norm}.bias'] = randn(channels, scale=0.2)
        in_channels = channels
    return state


def jax_same(x, weight, stride):
    """Convolution as JAX's padding='SAME': pad (total // 2, rest) with F.pad, then no padding."""
    pads = []
    for size, kernel in ((x.shape[-1], weight.shape[-1]), (x.shape[-2], weight.shape[-2])):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.conv2d(F.pad(x, pads), weight, None, stride)


def hilserl_trunk(state, pixels, norm=''):
    """HIL-SERL's ResNet-10 (resnet_v1.py, resnetv1-10) up to the pooling, written out."""
    def gn(x, name):
        return F.group_norm(x, 4, state[f'{name}{norm}.weight'], state[f'{name}{norm}.bias'],
                            1e-5)

    x = F.conv2d(normalised(pixels), state['embedder.0.weight'], None, 2, 3)
    x = F.relu(gn(x, 'embedder.1'))
    pool_pads = [total // 2 if index % 2 == 0 else total - total // 2
                 for total in (max((math.ceil(n / 2) - 1) * 2 + 3 - n, 0)
                               for n in (x.shape[-1], x.shape[-2])) for index in (0, 1)]
    x = F.max_pool2d(F.pad(x, pool_pads, value=-math.inf), 3, 2)
    for stage in range(4):
        name = f'encoder.stages.{stage}'
        stride = 1 if stage == 0 else 2
        out = F.relu(gn(jax_same(x, state[f'{name}.conv1.conv.weight'], stride),
                        f'{name}.norm1'))
        out = gn(jax_same(out, state[f'{name}.conv2.conv.weight'], 1), f'{name}.norm2')
        shortcut = x
        if f'{name}.shortcut.0.conv.weight' in state:
            shortcut = gn(jax_same(x, state[f'{name}.shortcut.0.conv.weight'], stride),
                          f'{name}.shortcut.1')
        x = F.relu(out + shortcut)
    return x


@pytest.mark.parametrize('wrapper, prefix', [(False, ''), (True, ''),
                                             (False, 'encoder_critic.image_encoder.')])
def test_hilserl_resnet10_safetensors_imports_and_computes_its_features(tmp_path, wrapper,
                                                                        prefix):
    """Both GroupNorm namings, bare or under a policy's prefix beside its other tensors."""
    state = hilserl_state_dict(seed=1, group_norm_wrapper=wrapper)
    stored = {prefix + k: v for k, v in state.items()}
    if prefix:
        stored['critic_head.weight'] = torch.zeros(1, 256)   # outside the prefix: ignored
    source = str(tmp_path / 'model.safetensors')
    save_file(stored, source)
    card = import_encoder(source, str(tmp_path / 'hil.safetensors'))
    assert card['architecture'] == 'hilserl_resnet10'
    assert card['source']['prefix'] == prefix
    assert card['source']['layout'] == ('hilserl_resnet10_mygroupnorm' if wrapper
                                        else 'hilserl_resnet10')
    encoder, _ = load_encoder(str(tmp_path / 'hil.safetensors'))
    norm = '.group_norm' if wrapper else ''
    for size in (128, 100):   # 100 -> 50 -> 25 -> 13 -> 7 -> 4: odd sizes on the way
        pixels = images(size, seed=size)
        expected = hilserl_trunk(state, pixels, norm)
        assert expected.shape == (2, 512, math.ceil(size / 32), math.ceil(size / 32))
        torch.testing.assert_close(encoder.feature_map(pixels), expected, atol=1e-4,
                                   rtol=1e-4)
    assert card['feature_map_size'] == [4, 4]


# --- refusals ------------------------------------------------------------------------------

def test_a_file_of_no_known_layout_is_refused_naming_missing_and_unexpected_keys(tmp_path):
    """The message names, per layout, keys it misses and keys it does not expect."""
    state = torchvision_state_dict((2, 2, 2, 2))
    del state['layer2.0.downsample.0.weight']
    state['layer1.0.conv3.weight'] = torch.zeros(256, 64, 1, 1)
    source = str(tmp_path / 'odd.pth')
    torch.save(state, source)
    with pytest.raises(CheckpointError) as caught:
        import_encoder(source, str(tmp_path / 'out.safetensors'))
    message = str(caught.value)
    assert '\n' not in message
    assert message.startswith(f'{source}: its keys match no known encoder layout: '
                              "torchvision_resnet18: missing 'layer2.0.downsample.0.weight', "
                              "unexpected 'layer1.0.conv3.weight'")
    assert message.endswith('3 more layouts match worse')
    assert not (tmp_path / 'out.safetensors').exists()
    with pytest.raises(CheckpointError, match="hilserl_resnet10: missing 'embedder.0.weight'"):
        import_encoder(str(tmp_path / 'odd.pth'), str(tmp_path / 'out.safetensors'),
                       layout='hilserl_resnet10')


def test_shape_mismatch_names_the_key_and_both_shapes(tmp_path):
    """A tensor of the right name but the wrong shape is named with both shapes."""
    state = hilserl_state_dict()
    state['encoder.stages.1.conv2.conv.weight'] = torch.zeros(128, 128, 5, 5)
    save_file(state, str(tmp_path / 'bad.safetensors'))
    with pytest.raises(CheckpointError,
                       match=r"'encoder.stages.1.conv2.conv.weight' has shape \(128, 128, 5, 5\)"
                             r', hilserl_resnet10 expects \(128, 128, 3, 3\)'):
        import_encoder(str(tmp_path / 'bad.safetensors'), str(tmp_path / 'o.safetensors'))


def test_tampered_weights_fail_the_checksum(tmp_path):
    """A card whose weights changed after import is refused on loading."""
    source = str(tmp_path / 'model.safetensors')
    save_file(hilserl_state_dict(), source)
    import_encoder(source, str(tmp_path / 'card.safetensors'))
    weights = tmp_path / 'card.safetensors'
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0x01   # one bit of the last tensor: still a valid safetensors file
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match='checksum mismatch'):
        load_encoder(str(tmp_path / 'card.json'))


def _mark_unpickled():
    UNPICKLED.append(True)
    return 'payload'


class Payload:
    """An object whose unpickling would run code (it calls _mark_unpickled)."""

    def __reduce__(self):
        return (_mark_unpickled, ())


def test_a_pickled_object_is_refused_by_weights_only_and_never_runs(tmp_path):
    """torch.load(weights_only=True) refuses anything but tensors and plain containers."""
    source = str(tmp_path / 'evil.pth')
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7), 'extra': Payload()}, source)
    with pytest.raises(CheckpointError) as caught:
        import_encoder(source, str(tmp_path / 'out.safetensors'))
    message = str(caught.value)
    assert 'weights_only=True' in message and '_mark_unpickled' in message
    assert '\n' not in message
    assert not UNPICKLED
    (tmp_path / 'list.pth').write_bytes(b'')
    torch.save([torch.zeros(3)], str(tmp_path / 'list.pth'))
    with pytest.raises(CheckpointError, match='not a state dict'):
        import_encoder(str(tmp_path / 'list.pth'), str(tmp_path / 'out.safetensors'))


def test_cards_are_checked_on_loading_and_never_overwritten_by_accident(tmp_path):
    """Wrong kind, unknown architecture, missing weights; existing cards are kept."""
    source = str(tmp_path / 'model.safetensors')
    save_file(hilserl_state_dict(), source)
    out = str(tmp_path / 'card.safetensors')
    card = import_encoder(source, out)
    with pytest.raises(CheckpointError, match='already exists'):
        import_encoder(source, out)
    assert import_encoder(source, out, overwrite=True)['sha256'] == card['sha256']
    with pytest.raises(CheckpointError, match='would overwrite the file being imported'):
        import_encoder(source, source, overwrite=True)
    metadata = tmp_path / 'card.json'
    for change, error in (({'kind': 'classifier'}, "expected a 'frozen_encoder' file"),
                          ({'architecture': 'vit'}, "unknown architecture 'vit'"),
                          ({'image_std': [0.2, 0.0, 0.2]}, 'image_std must be 3 numbers')):
        metadata.write_text(json.dumps({**card, **change}))
        with pytest.raises(CheckpointError, match=error):
            load_encoder(out)
    metadata.write_text(json.dumps(card))
    (tmp_path / 'card.safetensors').unlink()
    with pytest.raises(CheckpointError, match='no such file'):
        load_encoder(out)
    with pytest.raises(CheckpointError, match='no such file'):
        load_encoder(str(tmp_path / 'nothing.json'))


# --- random controls -----------------------------------------------------------------------

def test_seeded_encoders_of_every_architecture_are_reproducible_and_frozen():
    """Same seed, same weights and fingerprint; the feature map is 4x4 for 128x128 images."""
    pixels = images(128)
    for architecture in ARCHITECTURES:
        first, second = build_encoder(architecture, seed=5), build_encoder(architecture, seed=5)
        assert first.fingerprint() == second.fingerprint()
        assert build_encoder(architecture, seed=6).fingerprint() != first.fingerprint()
        assert not any(p.requires_grad for p in first.parameters())
        feature_map = first.feature_map(pixels)
        assert feature_map.shape == (2, 512, 4, 4)
        assert torch.equal(first(pixels), feature_map.mean(dim=(2, 3)))
    with pytest.raises(ValueError, match='unknown encoder architecture'):
        build_encoder('resnet50')


def test_the_normalisation_is_part_of_the_function_and_of_the_fingerprint():
    """Other mean/std change the features and the fingerprint; ImageNet's keep the old one."""
    default = FrozenResNet10(seed=0)
    other = build_encoder('resnet10', seed=0, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert build_encoder('resnet10', seed=0).fingerprint() == default.fingerprint()
    assert other.fingerprint() != default.fingerprint()
    assert not torch.allclose(other(images(64)), default(images(64)))
