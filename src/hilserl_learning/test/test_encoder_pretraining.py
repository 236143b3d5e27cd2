"""Encoders trained here: self-supervised pretraining and a classifier's backbone as cards."""

from hilserl_learning.classifier_encoder import (classifier_backbone,
                                                 export_classifier_encoder, SmallCnnEncoder)
from hilserl_learning.encoder_pretraining import (OBJECTIVE, pretrain_encoder,
                                                  PretrainingConfig)
from hilserl_learning.frozen_encoders import (build_encoder, CheckpointError, load_encoder,
                                              write_card)
from hilserl_learning.reward_classifier import (ClassifierConfig, ClassifierError,
                                                RewardClassifier, save_classifier)
import numpy as np
import pytest
import torch

SIZE = 32


def square_frames(count: int, seed: int) -> np.ndarray:
    """Frames of a bright square at a random place on a noisy dark background."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 60, (count, SIZE, SIZE, 3)).astype(np.uint8)
    for frame, (row, col) in zip(frames, rng.integers(0, SIZE - 8, (count, 2))):
        frame[row:row + 8, col:col + 8] = (230, 40, 40)
    return frames


def pixels(frames: np.ndarray) -> torch.Tensor:
    """Return uint8 [N, 3, H, W] from [N, H, W, 3]."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()


def test_pretraining_lowers_its_loss_and_writes_a_card_that_loads(tmp_path):
    """Two cameras of 24 frames: the loss falls; the card loads with the trained weights."""
    torch.set_num_threads(1)   # on a busy 2-core machine faster than 2
    frames = [square_frames(24, 0), square_frames(24, 1)]
    config = PretrainingConfig(image_size=SIZE, target_size=8, batch_size=8, max_epochs=6,
                               minutes=30.0, progress=False, learning_rate=2e-3)
    epochs = []
    result = pretrain_encoder(frames, config, on_epoch=epochs.append)
    assert result.frames == 48 and result.steps == 6 * 6
    assert [round(e['epoch']) for e in epochs] == list(range(1, 7))
    assert result.final_loss < 0.5 * result.initial_loss
    encoder = result.encoder
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    random = build_encoder('resnet10', seed=0)
    assert encoder.fingerprint() != random.fingerprint()
    # Frozen: the folded fast path computes what the trainable module path computes.
    sample = pixels(square_frames(4, 2))
    with torch.no_grad():
        assert torch.allclose(encoder.feature_map(sample), encoder.module_feature_map(sample),
                              atol=1e-4, rtol=1e-4)
    card = write_card(encoder, str(tmp_path / 'own.safetensors'), SIZE,
                      result.source(config, datasets=['somewhere']))
    assert card['source']['kind'] == 'self_supervised'
    assert card['source']['objective'] == OBJECTIVE
    assert card['source']['frames'] == 48 and card['source']['epochs'] == 6
    loaded, read = load_encoder(str(tmp_path / 'own.json'))
    assert read['architecture'] == 'resnet10' and read['feature_dim'] == 512
    assert loaded.fingerprint() == encoder.fingerprint() == card['fingerprint']
    assert torch.equal(loaded(sample), encoder(sample))
    # The same seed trains the same network.
    again = pretrain_encoder(frames, config)
    assert again.encoder.fingerprint() == encoder.fingerprint()


def test_hilserl_resnet10_pretrains_through_its_module_path():
    """HIL-SERL's GroupNorm ResNet-10: one short epoch changes its weights."""
    torch.set_num_threads(1)
    config = PretrainingConfig(architecture='hilserl_resnet10', image_size=SIZE, target_size=8,
                               batch_size=8, max_epochs=1, progress=False)
    result = pretrain_encoder([square_frames(16, 3)], config)
    assert result.steps == 2
    assert (result.encoder.fingerprint()
            != build_encoder('hilserl_resnet10', seed=0).fingerprint())


def test_bad_pretraining_input_is_refused():
    """Configs that cannot train and frames of the wrong kind: one-line ValueErrors."""
    for bad in (dict(architecture='vgg'), dict(batch_size=1), dict(minutes=0),
                dict(target_size=6), dict(contrast=1.5)):
        with pytest.raises(ValueError, match='invalid pretraining config'):
            PretrainingConfig(**bad)
    with pytest.raises(ValueError, match='uint8 arrays'):
        pretrain_encoder([np.zeros((4, SIZE, SIZE, 3), np.float32)],
                         PretrainingConfig(image_size=SIZE))
    with pytest.raises(ValueError, match='at least 2 frames'):
        pretrain_encoder([square_frames(1, 0)], PretrainingConfig(image_size=SIZE))


@pytest.mark.parametrize('pooling', ['spatial_softmax', 'mean'])
def test_small_cnn_classifier_exports_its_backbone_and_pooling(tmp_path, pooling):
    """The card's forward is the classifier's backbone + pooling on the same frames."""
    torch.manual_seed(0)
    model = RewardClassifier(ClassifierConfig(camera_names=('front', 'wrist'),
                                              image_size=(48, 48), pooling=pooling))
    if pooling == 'spatial_softmax':
        with torch.no_grad():
            model.pool.log_temperature.fill_(-0.7)   # a learnt temperature travels too
    save_classifier(model, str(tmp_path / 'classifier'))
    card = export_classifier_encoder(str(tmp_path / 'classifier'),
                                     str(tmp_path / 'cnn.safetensors'))
    expected_dim = 64 if pooling == 'spatial_softmax' else 32
    assert card['architecture'] == 'small_cnn' and card['feature_dim'] == expected_dim
    assert card['feature_map_size'] == [6, 6] and card['input_size'] == 48
    assert card['source']['kind'] == 'reward_classifier'
    assert card['source']['unchanged_resnet'] is False
    encoder, _ = load_encoder(str(tmp_path / 'cnn.safetensors'))
    assert isinstance(encoder, SmallCnnEncoder) and encoder.feature_dim == expected_dim
    frames = torch.randint(0, 256, (5, 3, 48, 48), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model.pool(model.backbone(frames))
    assert torch.equal(encoder(frames), expected)
    assert encoder(frames).shape == (5, expected_dim)
    with pytest.raises(ValueError, match='takes 48x48 images'):
        encoder(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))


def test_resnet_classifier_exports_its_unchanged_resnet(tmp_path):
    """A frozen ResNet backbone comes out as the very card it was built from."""
    original = write_card(build_encoder('resnet10', seed=3),
                          str(tmp_path / 'r10.safetensors'), 64, {'kind': 'test'})
    model = RewardClassifier(ClassifierConfig(
        image_size=(64, 64), backbone='resnet10',
        frozen_weights_path=str(tmp_path / 'r10.safetensors')))
    save_classifier(model, str(tmp_path / 'classifier'))
    card = export_classifier_encoder(str(tmp_path / 'classifier' / 'classifier.json'),
                                     str(tmp_path / 'again.safetensors'))
    assert card['architecture'] == 'resnet10' and card['feature_dim'] == 512
    assert card['fingerprint'] == original['fingerprint']
    assert card['source']['unchanged_resnet'] is True
    assert classifier_backbone(model).fingerprint() == original['fingerprint']


def test_export_errors_are_one_line(tmp_path):
    """Not a classifier, an existing card, a damaged small_cnn card."""
    with pytest.raises(ClassifierError, match='not a reward classifier') as raised:
        export_classifier_encoder(str(tmp_path), str(tmp_path / 'x.safetensors'))
    assert '\n' not in str(raised.value)
    save_classifier(RewardClassifier(ClassifierConfig(image_size=(32, 32))),
                    str(tmp_path / 'classifier'))
    out = str(tmp_path / 'x.safetensors')
    export_classifier_encoder(str(tmp_path / 'classifier'), out)
    with pytest.raises(CheckpointError, match='already exists'):
        export_classifier_encoder(str(tmp_path / 'classifier'), out)
    json_path = tmp_path / 'x.json'
    json_path.write_text(json_path.read_text().replace('"pooling": "spatial_softmax"',
                                                       '"pooling": "max"'))
    with pytest.raises(CheckpointError, match='bad architecture_config for small_cnn'):
        load_encoder(out)
