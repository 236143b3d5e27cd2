"""The learning core must work without ROS and without pickle."""

import os
import pathlib
import re
import subprocess
import sys

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent / 'hilserl_learning'

BLOCK_ROS_AND_IMPORT_ALL = """
import importlib, pkgutil, sys
class BlockRos:
    def find_spec(self, name, path=None, target=None):
        if name == 'rclpy' or name.startswith('rclpy.') or name.endswith('_msgs'):
            raise ImportError('ROS import attempted: ' + name)
        return None
sys.meta_path.insert(0, BlockRos())
import hilserl_learning
for module in pkgutil.iter_modules(hilserl_learning.__path__):
    importlib.import_module('hilserl_learning.' + module.name)
assert 'rclpy' not in sys.modules
print('ok')
"""


def test_every_module_imports_without_rclpy():
    """Import all modules in a fresh interpreter where any rclpy import fails."""
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR.parent))
    result = subprocess.run([sys.executable, '-c', BLOCK_ROS_AND_IMPORT_ALL], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith('ok')


def test_no_pickle_or_ros_in_sources():
    """
    No source file imports rclpy or pickle, or calls torch.save or a full torch.load.

    The one load allowed is ``torch.load(..., weights_only=True)``, torch's restricted
    unpickler (tensors and plain containers, no other object), for the pretrained encoder
    files users bring in torchvision's format (``frozen_encoders.read_state_dict``).
    """
    forbidden = re.compile(r'^\s*(import|from)\s+(rclpy|pickle|dill)\b|torch\.(load|save)\(')
    restricted_load = re.compile(r'torch\.load\([^)]*weights_only=True')
    for path in PACKAGE_DIR.glob('*.py'):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if restricted_load.search(line):
                continue
            assert not forbidden.search(line), f'{path.name}:{number}: {line.strip()}'
