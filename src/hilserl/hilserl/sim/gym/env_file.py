"""
Environment files: ``robot:=gym`` names a set of Gymnasium environments, not an arm; no ROS.

``config/environments/NAME.yaml`` (or a user's file with an ``environments`` section)
lists environments by name, each with the :class:`hilserl.sim.gym.environment.EnvSettings`
that make it an arm of the suite; ``environment`` names the default one. The launch
argument ``env:=`` picks another: an entry's name, or any Gymnasium id (the first entry
with that id, with or without its ``module:`` prefix, else the id alone with the default
mapping). docs/gymnasium.md describes the fields.

:func:`load_environment` returns an :class:`EnvRobot`, which the modes use where they
use a robot file: its joints are the environment's state entries, found by making the
environment once (:func:`hilserl.sim.gym.environment.describe`).
"""

from dataclasses import dataclass
import os
from typing import Dict, Optional, Tuple

from hilserl.sim.gym.environment import EnvError, EnvLayout, EnvSettings

# What a mode names the node that plays the arm.
NODE_NAME = 'gym_env'
ENTRY_FIELDS = ('id', 'kwargs', 'action', 'action_scale', 'gripper', 'tcp_position',
                'render_cameras')


@dataclass(frozen=True)
class EnvDriver:
    """The node that plays the arm (as a robot file's driver section says it)."""

    node_name: str = NODE_NAME
    kind: str = 'environment'


@dataclass(frozen=True)
class EnvRobot:
    """An environment picked from an environment file, as the modes see an arm."""

    name: str
    path: str
    entry: str          # the entry's name ('' for an id not in the file)
    settings: EnvSettings
    driver: EnvDriver = EnvDriver()
    # The environment gives its own ground truth (reward, success).
    simulated: bool = True

    @property
    def layout(self) -> EnvLayout:
        """Return the environment's state entries and cameras (made once, then cached)."""
        return _describe(self.settings)

    def joint_parameters(self) -> Dict[str, object]:
        """Return the arm_joint_names and gripper_joint_name parameters of the nodes."""
        layout = self.layout
        return {'arm_joint_names': list(layout.joints), 'gripper_joint_name': layout.gripper}

    def node_parameters(self) -> Dict[str, object]:
        """Return the gym_env node's parameters for these settings."""
        import json
        settings = self.settings
        return {'env_id': settings.env_id, 'env_kwargs': json.dumps(dict(settings.kwargs)),
                'action': list(settings.action) or [''],
                'action_scale': list(settings.action_scale) or [0.0],
                'gripper_entry': settings.gripper,
                'tcp_position': list(settings.tcp_position) or [''],
                'render_cameras': list(settings.render_cameras) or ['']}


_LAYOUTS: Dict[str, EnvLayout] = {}


def _describe(settings: EnvSettings) -> EnvLayout:
    """Return the layout of ``settings``, making the environment once per process."""
    from hilserl.sim.gym.environment import describe
    key = repr(settings)
    if key not in _LAYOUTS:
        _LAYOUTS[key] = describe(settings)
    return _LAYOUTS[key]


def environments_directory() -> str:
    """Return the installed ``share/hilserl/config/environments`` folder ('' if none)."""
    from hilserl.arm.robot_registry import config_directory
    folder = config_directory()
    return os.path.join(folder, 'environments') if folder else ''


def environment_file_path(robot: str, directory: Optional[str] = None) -> Optional[str]:
    """
    Return the environment file ``robot:=`` names, or None when it names an arm.

    A name is an environment when ``environments/NAME.yaml`` exists and no robot file of
    that name does; a path is one when its YAML has an ``environments`` section.
    """
    from hilserl.arm.robot_registry import is_robot_path, registry_directory
    if is_robot_path(robot):
        path = os.path.abspath(os.path.expanduser(robot))
        try:
            return path if os.path.isfile(path) and 'environments' in _read(path) else None
        except EnvError:
            return None   # the robot file reader says what is wrong with it
    if os.path.isfile(os.path.join(registry_directory(), f'{robot}.yaml')):
        return None
    path = os.path.join(directory or environments_directory(), f'{robot}.yaml')
    return path if os.path.isfile(path) else None


def _read(path: str) -> dict:
    import yaml
    label = os.path.basename(path)
    try:
        with open(path, encoding='utf-8') as stream:
            content = yaml.safe_load(stream)
    except yaml.YAMLError:
        raise EnvError(f'{label}: not valid YAML') from None
    except OSError as error:
        raise EnvError(f'{label}: cannot read it: {error.strerror}') from None
    return content if isinstance(content, dict) else {}


def load_environment(path: str, env: str = '') -> EnvRobot:
    """Read an environment file and pick ``env`` (its default when '')."""
    label = os.path.basename(path)
    content = _read(path)
    entries = content.get('environments')
    if not isinstance(entries, dict) or not entries:
        raise EnvError(f'{label}: environments: expected a mapping of names to settings')
    unknown = sorted(set(content) - {'environment', 'environments'})
    if unknown:
        raise EnvError(f'{label}: {unknown[0]}: unknown field')
    chosen = env or content.get('environment')
    if not isinstance(chosen, str) or not chosen:
        raise EnvError(f'{label}: environment: expected the name of the default entry')
    settings = {name: parse_entry(label, name, entry) for name, entry in entries.items()}
    if chosen in settings:
        return EnvRobot(_robot_name(path), os.path.abspath(path), chosen, settings[chosen])
    for name, entry in settings.items():
        # 'panda_gym:PandaReach-v3' (gymnasium imports panda_gym first) is PandaReach-v3.
        if chosen in (entry.env_id, entry.env_id.split(':')[-1]):
            return EnvRobot(_robot_name(path), os.path.abspath(path), name, entry)
    if not env:
        raise EnvError(f'{label}: environment: {chosen!r} is not one of {", ".join(settings)}')
    return EnvRobot(_robot_name(path), os.path.abspath(path), '', EnvSettings(env_id=chosen))


def _robot_name(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def parse_entry(label: str, name: str, entry) -> EnvSettings:
    """Return the checked settings of one entry of an environment file."""
    where = f'{label}: environments.{name}'
    if not isinstance(entry, dict):
        raise EnvError(f'{where}: expected a mapping of settings')
    unknown = sorted(set(entry) - set(ENTRY_FIELDS))
    if unknown:
        raise EnvError(f'{where}.{unknown[0]}: unknown field (known: {", ".join(ENTRY_FIELDS)})')
    env_id = entry.get('id')
    if not isinstance(env_id, str) or not env_id:
        raise EnvError(f'{where}.id: expected a Gymnasium environment id')
    kwargs = entry.get('kwargs', {})
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise EnvError(f'{where}.kwargs: expected a mapping of keyword arguments')
    scale = entry.get('action_scale', [])
    if not isinstance(scale, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale):
        raise EnvError(f'{where}.action_scale: expected a list of numbers')
    gripper = entry.get('gripper', '')
    if not isinstance(gripper, str):
        raise EnvError(f'{where}.gripper: expected the name of a state entry')
    return EnvSettings(env_id=env_id, kwargs=dict(kwargs),
                       action=_names(where, entry, 'action'),
                       action_scale=tuple(float(v) for v in scale), gripper=gripper,
                       tcp_position=_names(where, entry, 'tcp_position'),
                       render_cameras=_names(where, entry, 'render_cameras'))


def _names(where: str, entry: dict, key: str) -> Tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise EnvError(f'{where}.{key}: expected a list of names')
    return tuple(value)
