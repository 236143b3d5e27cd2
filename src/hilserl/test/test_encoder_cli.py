"""``hilserl encoder import`` / ``info`` on generated pretrained-style files."""

import os

from hilserl.commands.cli import main
from hilserl_learning.frozen_encoders import build_encoder, load_encoder
import pytest
import torch


def run(capsys, *argv):
    """Run the hilserl command; return (status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def torchvision_file(tmp_path):
    """Write a ResNet-10 state dict in torchvision's names with a classifier head (.pth)."""
    state = dict(build_encoder('resnet10', seed=4).state_dict())
    state['fc.weight'], state['fc.bias'] = torch.zeros(1000, 512), torch.zeros(1000)
    path = str(tmp_path / 'resnet10-imagenet.pth')
    torch.save(state, path)
    return path


def test_import_writes_a_card_that_info_checks(capsys, tmp_path, torchvision_file,
                                               monkeypatch):
    """The default card lands in the current directory; a second import needs --overwrite."""
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, 'encoder', 'import', torchvision_file)
    assert (status, err) == (0, '')
    assert 'detected: torchvision_resnet10, dropped fc.bias, fc.weight' in out
    assert 'architecture: resnet10' in out
    assert 'feature map: 512 x 4 x 4 at 128x128 input' in out
    card_path = str(tmp_path / 'resnet10-imagenet.encoder.safetensors')
    encoder, card = load_encoder(card_path)
    assert f"sha256: {card['sha256']}" in out
    assert encoder.fingerprint() == build_encoder('resnet10', seed=4).fingerprint()
    status, out, err = run(capsys, 'encoder', 'info', card_path)
    assert status == 0
    assert 'architecture: resnet10' in out and f"sha256: {card['sha256']}" in out
    assert 'source.layout: torchvision_resnet10' in out
    assert 'checked: sha256 and tensor shapes match' in out
    status, out, err = run(capsys, 'encoder', 'import', torchvision_file)
    assert status == 2
    assert err.strip().endswith('already exists (--overwrite replaces it)')
    status, out, err = run(capsys, 'encoder', 'import', torchvision_file, '--overwrite',
                           '--out', 'cards/r10.safetensors', '--input-size', '96')
    assert status == 0 and os.path.isfile(tmp_path / 'cards' / 'r10.json')
    assert 'feature map: 512 x 3 x 3 at 96x96 input' in out


def test_bad_input_is_one_line_on_stderr(capsys, tmp_path, torchvision_file):
    """A file of the wrong layout, a missing file and a damaged card: status 2, one line."""
    out = str(tmp_path / 'x.safetensors')
    status, _, err = run(capsys, 'encoder', 'import', torchvision_file, '--out', out,
                         '--layout', 'hilserl_resnet10')
    assert status == 2 and err.count('\n') == 1
    assert 'its keys match no known encoder layout: ' in err
    assert "hilserl_resnet10: missing 'embedder.0.weight'" in err
    status, _, err = run(capsys, 'encoder', 'import', str(tmp_path / 'none.pth'), '--out', out)
    assert status == 2 and 'no such file' in err and err.count('\n') == 1
    status, _, err = run(capsys, 'encoder', 'info', str(tmp_path / 'none.json'))
    assert status == 2 and 'no such file' in err and err.count('\n') == 1


def test_help_texts(capsys):
    """``--help`` works for the command and both actions."""
    for argv in (('encoder', '--help'), ('encoder', 'import', '--help'),
                 ('encoder', 'info', '--help')):
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        assert exited.value.code == 0
        assert 'encoder' in capsys.readouterr().out
