"""Reward classifier: model shapes, files, input checks, training pieces and the report."""

import json
import os

from hilserl_learning.classifier_training import (augment, binary_report, class_weights,
                                                  format_report, roc_curve, split_by_episode,
                                                  suggest_threshold, train_classifier,
                                                  TrainingConfig, write_report)
from hilserl_learning.encoders import FrozenResNet10
from hilserl_learning.frozen_encoders import import_encoder
from hilserl_learning.reward_classifier import (ClassifierConfig, ClassifierError,
                                                load_classifier, METADATA_FILE,
                                                RewardClassifier, save_classifier,
                                                stack_camera_frames, WEIGHTS_FILE)
import numpy as np
import pytest
import torch

torch.set_num_threads(1)
SIZE = (32, 32)


def make_config(cameras=('front', 'wrist'), **overrides) -> ClassifierConfig:
    """Return a small classifier config for 32x32 frames."""
    values = {'camera_names': cameras, 'image_size': SIZE, 'channels': (4, 8, 8, 8),
              'hidden_dim': 16}
    values.update(overrides)
    return ClassifierConfig(**values)


def random_frames(cameras, count, seed=0, size=SIZE):
    """Return {camera: uint8 [count, H, W, 3]} of random pixels."""
    rng = np.random.default_rng(seed)
    return {name: rng.integers(0, 256, (count, *size, 3), dtype=np.uint8) for name in cameras}


@pytest.mark.parametrize('pooling', ['spatial_softmax', 'mean'])
@pytest.mark.parametrize('cameras', [('front',), ('front', 'wrist')])
def test_model_maps_camera_frames_to_one_probability_per_sample(cameras, pooling):
    model = RewardClassifier(make_config(cameras, pooling=pooling))
    pixels = torch.randint(0, 256, (5, len(cameras), 3, *SIZE), dtype=torch.uint8)
    assert model(pixels).shape == (5,)
    frames = random_frames(cameras, 5)
    probabilities = model.predict_proba(frames)
    assert probabilities.shape == (5,)
    assert np.all((probabilities > 0) & (probabilities < 1))
    single = model.predict_proba({name: batch[0] for name, batch in frames.items()})
    assert single.shape == ()
    assert np.isclose(single, probabilities[0], atol=1e-6)
    assert model.predict(frames).dtype == bool


def test_cameras_share_one_backbone():
    one = RewardClassifier(make_config(('front',)))
    two = RewardClassifier(make_config(('front', 'wrist')))
    assert (sum(p.numel() for p in two.backbone.parameters())
            == sum(p.numel() for p in one.backbone.parameters()))
    assert two.head[0].in_features == 2 * one.head[0].in_features


def test_extra_cameras_are_ignored_and_missing_ones_named():
    model = RewardClassifier(make_config(('front', 'wrist')))
    frames = random_frames(('front', 'wrist', 'side'), 2)
    assert model.predict_proba(frames).shape == (2,)
    with pytest.raises(ClassifierError, match=r"classifier expects cameras \['front', "
                                              r"'wrist'\], the stream has \['front'\]"):
        model.predict_proba({'front': frames['front']})


@pytest.mark.parametrize('bad', [np.zeros((2, 16, 16, 3), np.uint8),
                                 np.zeros((2, 32, 32, 3), np.float32),
                                 np.zeros((2, 32, 32, 1), np.uint8)])
def test_frames_of_the_wrong_shape_or_type_are_rejected(bad):
    config = make_config(('front',))
    with pytest.raises(ClassifierError, match="camera 'front': classifier expects uint8"):
        stack_camera_frames({'front': bad}, config)


@pytest.mark.parametrize('overrides, message', [
    ({'camera_names': ()}, 'at least one camera'),
    ({'camera_names': ('a', 'a')}, 'repeat'),
    ({'backbone': 'vit'}, 'backbone must be one of'),
    ({'pooling': 'max'}, 'pooling must be one of'),
    ({'image_size': (8, 8)}, 'image_size'),
    ({'dropout': 1.0}, 'dropout'),
])
def test_invalid_configs_are_rejected(overrides, message):
    with pytest.raises(ClassifierError, match=message):
        make_config(**overrides)


def test_save_and_load_round_trip(tmp_path):
    model = RewardClassifier(make_config(), threshold=0.3).eval()
    save_classifier(model, str(tmp_path), extra={'note': 'x'})
    assert sorted(os.listdir(tmp_path)) == sorted([WEIGHTS_FILE, METADATA_FILE])
    metadata = json.loads((tmp_path / METADATA_FILE).read_text())
    assert metadata['kind'] == 'reward_classifier' and metadata['format_version'] == 1
    frames = random_frames(('front', 'wrist'), 3)
    for path in (str(tmp_path), str(tmp_path / METADATA_FILE)):
        loaded = load_classifier(path, cameras=['wrist', 'front'], image_size=SIZE)
        assert loaded.config == model.config
        assert loaded.threshold == pytest.approx(0.3)
        assert not loaded.training
        np.testing.assert_allclose(loaded.predict_proba(frames), model.predict_proba(frames),
                                   rtol=1e-6)


def test_load_rejects_mismatched_cameras_and_image_size(tmp_path):
    save_classifier(RewardClassifier(make_config()), str(tmp_path))
    with pytest.raises(ClassifierError, match=r"classifier expects cameras \['front', "
                                              r"'wrist'\], the stream has \['front'\]"):
        load_classifier(str(tmp_path), cameras=['front'])
    with pytest.raises(ClassifierError, match='expects 32x32 images, the stream has 64x64'):
        load_classifier(str(tmp_path), image_size=(64, 64))


def test_load_rejects_broken_files(tmp_path):
    with pytest.raises(ClassifierError, match='not a reward classifier'):
        load_classifier(str(tmp_path))
    save_classifier(RewardClassifier(make_config()), str(tmp_path))
    metadata_path = tmp_path / METADATA_FILE
    metadata = json.loads(metadata_path.read_text())
    metadata['config']['hidden_dim'] = 24   # the weights were saved for 16
    metadata_path.write_text(json.dumps(metadata))
    with pytest.raises(ClassifierError, match="tensor 'head.0.weight' has shape"):
        load_classifier(str(tmp_path))
    metadata['format_version'] = 99
    metadata_path.write_text(json.dumps(metadata))
    with pytest.raises(ClassifierError, match='unsupported format_version 99'):
        load_classifier(str(tmp_path))
    metadata_path.write_text('{not json')
    with pytest.raises(ClassifierError, match='cannot read'):
        load_classifier(str(tmp_path))


def test_frozen_resnet_backbone_loads_an_encoder_card_and_is_saved_inside(tmp_path):
    torch.manual_seed(1)
    weights = FrozenResNet10().state_dict()
    source = str(tmp_path / 'resnet10.pth')
    torch.save(weights, source)
    weights_path = str(tmp_path / 'resnet10.encoder.safetensors')
    import_encoder(source, weights_path)
    with pytest.raises(ClassifierError, match='holds a resnet10 encoder, the backbone is'):
        RewardClassifier(make_config(('front',), backbone='resnet18',
                                     frozen_weights_path=weights_path))
    config = make_config(('front',), backbone='resnet10', frozen_weights_path=weights_path)
    model = RewardClassifier(config)
    assert torch.equal(model.backbone.resnet.conv1.weight, weights['conv1.weight'])
    pixels = torch.randint(0, 256, (2, 1, 3, *SIZE), dtype=torch.uint8)
    assert all(not p.requires_grad for p in model.backbone.parameters())
    assert model.trainable_parameters() and all(
        p.requires_grad for p in model.trainable_parameters())
    save_classifier(model, str(tmp_path / 'model'))
    os.remove(weights_path)  # the classifier file carries the backbone
    loaded = load_classifier(str(tmp_path / 'model'))
    assert torch.equal(loaded.backbone.resnet.conv1.weight, weights['conv1.weight'])
    assert torch.allclose(loaded.eval()(pixels), model.eval()(pixels))
    with pytest.raises(ClassifierError, match='cannot load backbone weights'):
        RewardClassifier(config)


def test_class_weights_make_both_classes_count_equally():
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    negative, positive = class_weights(labels)
    assert negative == pytest.approx(8 / 12) and positive == pytest.approx(2.0)
    assert 6 * negative == pytest.approx(2 * positive)
    assert class_weights(np.zeros(4)) == (pytest.approx(0.5), 1.0)


def test_split_by_episode_never_leaks_an_episode():
    rng = np.random.default_rng(3)
    episode_ids = np.repeat(np.arange(10), rng.integers(3, 9, 10))
    labels = (rng.random(len(episode_ids)) < 0.3).astype(int)
    for seed in range(20):
        train, validation = split_by_episode(episode_ids, labels, 0.3, seed)
        assert len(train) + len(validation) == len(episode_ids)
        assert not set(train) & set(validation)
        assert not set(episode_ids[train]) & set(episode_ids[validation])
        assert len(np.unique(episode_ids[validation])) == 3
        assert set(labels[validation]) == {0, 1}
    with pytest.raises(ClassifierError, match='at least 2 episodes'):
        split_by_episode(np.zeros(5), labels[:5], 0.2)
    # However small the fraction, one episode is held out; however large, one is kept.
    assert len(np.unique(episode_ids[split_by_episode(episode_ids, labels, 0.01)[1]])) == 1
    assert len(np.unique(episode_ids[split_by_episode(episode_ids, labels, 0.99)[0]])) == 1


def test_roc_curve_and_auc_on_hand_made_scores():
    labels = np.array([0, 0, 1, 1])
    curve = roc_curve(labels, np.array([0.1, 0.4, 0.35, 0.8]))
    assert curve['fpr'] == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert curve['tpr'] == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert curve['thresholds'][1:] == [0.8, 0.4, 0.35, 0.1]
    assert binary_report(labels, np.array([0.1, 0.4, 0.35, 0.8]), 0.5)['auc'] == 0.75
    assert binary_report(labels, np.array([0.9, 0.8, 0.2, 0.1]), 0.5)['auc'] == 0.0
    # Ties count half: one threshold step moves both rates at once.
    assert binary_report(labels, np.full(4, 0.5), 0.5)['auc'] == 0.5


def test_suggested_threshold_maximises_youden_j():
    labels = np.array([0, 0, 0, 1, 1, 1])
    # Separable: the cut falls midway between the highest failure and the lowest success.
    assert suggest_threshold(labels, np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])) == \
        pytest.approx(0.45)
    # Shifted scores (a classifier biased low): still the separating cut, not 0.5.
    assert suggest_threshold(labels, np.array([0.01, 0.02, 0.05, 0.15, 0.2, 0.3])) == \
        pytest.approx(0.10)
    # Overlap: failures 0.1, 0.2, 0.5; successes 0.3, 0.6, 0.9. At >= 0.6 TPR 2/3, FPR 0;
    # at >= 0.3 TPR 1, FPR 1/3: both J = 2/3, and the tie goes to the higher threshold
    # (fewer false successes), cut midway to the next score down.
    scores = np.array([0.1, 0.2, 0.5, 0.3, 0.6, 0.9])
    assert suggest_threshold(labels, scores) == pytest.approx((0.6 + 0.5) / 2)
    # Without the failure at 0.5 the single best cut is below 0.3.
    scores = np.array([0.1, 0.2, 0.25, 0.3, 0.6, 0.9])
    assert suggest_threshold(labels, scores) == pytest.approx((0.3 + 0.25) / 2)
    assert suggest_threshold(np.ones(3), np.array([0.2, 0.3, 0.4])) == 0.5


def test_report_counts_and_metrics():
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    scores = np.array([0.1, 0.7, 0.2, 0.8, 0.9, 0.3, 0.6, 0.4])
    report = binary_report(labels, scores, 0.5)
    assert report['confusion'] == {'true_positive': 3, 'false_positive': 1,
                                   'false_negative': 1, 'true_negative': 3}
    assert report['accuracy'] == 0.75
    assert report['precision'] == 0.75 and report['recall'] == 0.75
    assert report['balanced_accuracy'] == 0.75
    assert report['frames'] == 8 and report['positives'] == 4
    assert 'accuracy 0.750' in format_report(report)


def test_report_is_written_as_json_and_roc_png(tmp_path):
    labels = np.array([0, 0, 1, 1])
    report = binary_report(labels, np.array([0.1, 0.4, 0.35, 0.8]), 0.5)
    json_path, png_path = write_report(report, str(tmp_path / 'out'))
    written = json.loads(open(json_path).read())
    assert written['auc'] == 0.75 and written['roc']['thresholds'][0] is None
    with open(png_path, 'rb') as stream:
        assert stream.read(8) == b'\x89PNG\r\n\x1a\n'
    assert os.path.getsize(png_path) > 5000


def test_augment_shifts_and_jitters_each_camera_and_keeps_uint8():
    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (4, 2, 3, *SIZE), dtype=torch.uint8)
    augmented = augment(pixels, TrainingConfig(shift_pad=4, brightness=0.1, contrast=0.2))
    assert augmented.shape == pixels.shape and augmented.dtype == torch.uint8
    assert not torch.equal(augmented, pixels)
    identity = augment(pixels, TrainingConfig(shift_pad=0, brightness=0.0, contrast=0.0))
    assert torch.equal(identity, pixels)


def test_training_learns_a_visible_success_and_sets_the_threshold():
    # Success frames show a bright square on the front camera; the wrist camera is noise.
    count = 160
    episode_ids = np.arange(count) // 20
    labels = (np.arange(count) % 20 >= 12).astype(int)
    frames = random_frames(('front', 'wrist'), count, seed=1)
    frames['front'] //= 3
    frames['front'][labels == 1, 8:20, 10:22] = 255
    result = train_classifier(frames, labels, episode_ids, make_config(), TrainingConfig(
        epochs=12, patience=4, progress=False, validation_fraction=0.25))
    assert not set(result.train_episodes) & set(result.validation_episodes)
    assert len(result.validation_episodes) == 2
    assert result.report['frames'] == 40 and result.report['split'] == 'validation'
    assert result.report['accuracy'] >= 0.95 and result.report['auc'] >= 0.95
    assert result.model.threshold == result.report['suggested_threshold']
    assert 1 <= result.report['best_epoch'] <= result.report['epochs_run'] <= 12
    assert [h['epoch'] for h in result.history] == list(range(1, len(result.history) + 1))


def test_training_rejects_unusable_inputs():
    frames = random_frames(('front', 'wrist'), 10)
    with pytest.raises(ClassifierError, match='both successes and failures'):
        train_classifier(frames, np.zeros(10), np.arange(10) // 5, make_config())
    with pytest.raises(ClassifierError, match='must all be the same count'):
        train_classifier(frames, np.zeros(9), np.arange(10) // 5, make_config())
    with pytest.raises(ClassifierError, match='classifier expects cameras'):
        train_classifier({'front': frames['front']}, np.arange(10) % 2, np.arange(10) // 5,
                         make_config())
