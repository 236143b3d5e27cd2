"""``hilserl encoder pretrain`` and ``from-classifier`` on small recorded datasets."""

import os

from hilserl.commands.cli import main
from hilserl_testing.bags import write_dataset
from hilserl_learning.frozen_encoders import build_encoder, load_encoder
from hilserl_learning.reward_classifier import (ClassifierConfig, RewardClassifier,
                                                save_classifier)
import pytest
import torch

STEPS = 5
SIZE = 32


def run(capsys, *argv):
    """Run the hilserl command; return (status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """Two recorded episodes of 5 steps, front and wrist at 32x32."""
    directory = str(tmp_path_factory.mktemp('recorded') / 'dataset')
    write_dataset(directory, num_episodes=2, steps=STEPS, image_size=(SIZE, SIZE))
    return directory


def test_pretrain_writes_a_self_supervised_card(dataset, capsys, tmp_path):
    """Every frame of both cameras trains; the card says how; --overwrite replaces it."""
    out = str(tmp_path / 'cards' / 'own.safetensors')
    argv = ('encoder', 'pretrain', dataset, '--out', out, '--image-size', str(SIZE),
            '--max-epochs', '2', '--batch-size', '8', '--no-progress', '--threads', '1')
    status, stdout, err = run(capsys, *argv)
    frames = 2 * 2 * (STEPS + 1)
    assert (status, err) == (0, ''), err
    assert f'{frames} frames from 2 episodes (front 32x32, wrist 32x32)' in stdout
    assert 'architecture: resnet10, feature_dim 512, feature map 1x1 at 32x32' in stdout
    encoder, card = load_encoder(out)
    source = card['source']
    assert source['kind'] == 'self_supervised' and source['objective']
    assert source['datasets'] == [os.path.abspath(dataset)]
    assert (source['frames'], source['epochs'], source['episodes']) == (frames, 2, 2)
    assert source['cameras'] == ['front', 'wrist']
    assert card['input_size'] == SIZE
    assert encoder.fingerprint() != build_encoder('resnet10', seed=0).fingerprint()
    assert f"fingerprint: {card['fingerprint']}" in stdout
    status, _, err = run(capsys, *argv)
    assert status == 2 and err.strip().endswith('already exists (--overwrite replaces it)')
    status, _, err = run(capsys, *argv, '--overwrite', '--seed', '1', '--cameras', 'wrist')
    assert status == 0, err
    assert load_encoder(out)[1]['source']['frames'] == frames // 2


def test_from_classifier_writes_the_small_cnn_card(capsys, tmp_path):
    """The classifier's small CNN with spatial softmax: 64 features per camera."""
    torch.manual_seed(0)
    model = RewardClassifier(ClassifierConfig(camera_names=('front', 'wrist'),
                                              image_size=(64, 64)))
    save_classifier(model, str(tmp_path / 'classifier'))
    out = str(tmp_path / 'classifier.encoder.safetensors')
    status, stdout, err = run(capsys, 'encoder', 'from-classifier',
                              str(tmp_path / 'classifier'), '--out', out)
    assert (status, err) == (0, ''), err
    assert "the classifier's trained small_cnn with its spatial_softmax pooling" in stdout
    assert 'architecture: small_cnn, feature_dim 64, feature map 8x8 at 64x64' in stdout
    encoder, card = load_encoder(out)
    frames = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(encoder(frames), model.pool(model.backbone(frames)))
    status, stdout, err = run(capsys, 'encoder', 'info', out)
    assert status == 0 and 'architecture: small_cnn' in stdout, err


def test_bad_input_is_one_line(dataset, capsys, tmp_path):
    """Every refusal: status 2 and one line on stderr, before any training."""
    card = str(tmp_path / 'x.safetensors')
    cases = [
        (('pretrain', dataset, '--out', str(tmp_path / 'x.json')), 'must end with .safetensors'),
        (('pretrain', str(tmp_path / 'nothing'), '--out', card), 'does not exist'),
        (('pretrain', dataset, '--out', card, '--cameras', 'side'), "has no camera 'side'"),
        (('pretrain', dataset, '--out', card, '--image-size', '16'), 'integer >= 32'),
        (('from-classifier', str(tmp_path), '--out', card), 'not a reward classifier'),
    ]
    for argv, message in cases:
        status, _, err = run(capsys, 'encoder', *argv, '--no-progress'
                             if argv[0] == 'pretrain' else '--overwrite')
        assert status == 2, argv
        assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not os.path.exists(card)


@pytest.mark.parametrize('action', ['pretrain', 'from-classifier'])
def test_help(action, capsys):
    """``--help`` works for both actions."""
    with pytest.raises(SystemExit) as exited:
        main(['encoder', action, '--help'])
    assert exited.value.code == 0
    assert '--out' in capsys.readouterr().out
