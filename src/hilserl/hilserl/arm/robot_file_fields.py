"""
Checked reading of one section of a robot file (:mod:`hilserl.arm.robot_registry`); no ROS.

Every error names the file and the field: ``my_arm.yaml: arm.joints: expected a list
of joint names, got 3``. A section remembers which keys were read, so that
:meth:`Section.finish` can refuse the ones nobody reads (a misspelt key would otherwise
be silently ignored).
"""

import math
import os
from typing import Any, Mapping, Sequence, Tuple

_MISSING = object()


class RobotFileError(ValueError):
    """A robot file that is missing, unreadable or has a bad field."""


def _shown(value) -> str:
    """Return ``value`` as an error message shows it: short, YAML-like."""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return 'nothing'
    text = str(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


class Floats:
    """A list of finite numbers, of ``length`` entries when given."""

    def __init__(self, length: int = 0):
        """Expect ``length`` numbers (0: any number of them)."""
        self.length = length

    def __call__(self, value) -> Tuple[float, ...]:
        """Return the numbers as a tuple of floats; ValueError with the reason."""
        size = f'{self.length} numbers' if self.length else 'numbers'
        if not isinstance(value, list) or not all(_is_number(item) for item in value):
            raise ValueError(f'expected a list of {size}, got {_shown(value)}')
        if self.length and len(value) != self.length:
            raise ValueError(f'expected a list of {size}, got {len(value)}')
        return tuple(float(item) for item in value)


vector3 = Floats(length=3)


class Names:
    """A non-empty list of distinct names, or (``nested=2``) two such lists."""

    def __init__(self, what: str = 'joint names', nested: int = 0):
        """Describe the names as ``what`` in errors."""
        self.what = what
        self.nested = nested

    def _names(self, value) -> Tuple[str, ...]:
        if (not isinstance(value, list) or not value
                or not all(isinstance(item, str) and item for item in value)):
            raise ValueError(f'expected a list of {self.what}, got {_shown(value)}')
        if len(set(value)) != len(value):
            raise ValueError(f'names a joint, body or camera twice: {_shown(value)}')
        return tuple(value)

    def __call__(self, value):
        """Return the names as a tuple (of tuples); ValueError with the reason."""
        if not self.nested:
            return self._names(value)
        if not isinstance(value, list) or len(value) != self.nested:
            raise ValueError(f'expected {self.what}, got {_shown(value)}')
        return tuple(self._names(item) for item in value)


class Section:
    """One mapping of a robot file; each accessor checks and returns one field."""

    def __init__(self, label: str, prefix: str, content: Any, folder: str,
                 fallback_folder: str = ''):
        """
        Wrap ``content`` found at ``prefix`` of file ``label`` (in ``folder``).

        Relative file references are looked up in ``folder``, then in ``fallback_folder``.
        """
        self.label = label
        self.prefix = prefix
        self.folder = folder
        self.fallback_folder = fallback_folder
        if content is None and not prefix:
            raise RobotFileError(f'{label}: the file is empty')
        if not isinstance(content, Mapping):
            where = f'{prefix}: ' if prefix else ''
            raise RobotFileError(f'{label}: {where}expected a mapping of fields, got '
                                 f'{_shown(content)}')
        self.content = dict(content)
        self.read = set()

    def field_name(self, key: str) -> str:
        """Return ``key``'s dotted name in the file, e.g. ``arm.joints``."""
        return f'{self.prefix}.{key}' if self.prefix else key

    def fail(self, key: str, reason: str) -> None:
        """Raise a RobotFileError about field ``key``."""
        raise RobotFileError(f'{self.label}: {self.field_name(key)}: {reason}')

    def __contains__(self, key: str) -> bool:
        """Return whether the section sets ``key``."""
        return key in self.content

    def take(self, key: str, check, default=_MISSING):
        """Return ``check(value)`` of ``key``; ``default`` when absent (else an error)."""
        self.read.add(key)
        if key not in self.content:
            if default is _MISSING:
                self.fail(key, 'missing (required)')
            return default
        try:
            return check(self.content[key])
        except ValueError as error:
            self.fail(key, str(error))

    def text(self, key: str, default=_MISSING) -> str:
        """Return a non-empty string."""
        def check(value):
            if not isinstance(value, str) or not value:
                raise ValueError(f'expected a name, got {_shown(value)}')
            return value
        return self.take(key, check, default)

    def number(self, key: str, default=_MISSING, positive: bool = False,
               minimum: float = -math.inf) -> float:
        """Return a finite number, positive or at least ``minimum`` when asked."""
        def check(value):
            if not _is_number(value):
                raise ValueError(f'expected a number, got {_shown(value)}')
            if positive and value <= 0:
                raise ValueError(f'expected a positive number, got {value}')
            if value < minimum:
                raise ValueError(f'expected a number of at least {minimum:g}, got {value}')
            return float(value)
        return self.take(key, check, default)

    def integer(self, key: str, default=_MISSING, positive: bool = False) -> int:
        """Return a whole number, positive when asked."""
        def check(value):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f'expected a whole number, got {_shown(value)}')
            if positive and value <= 0:
                raise ValueError(f'expected a positive whole number, got {value}')
            return value
        return self.take(key, check, default)

    def flag(self, key: str, default=_MISSING) -> bool:
        """Return true or false."""
        def check(value):
            if not isinstance(value, bool):
                raise ValueError(f'expected true or false, got {_shown(value)}')
            return value
        return self.take(key, check, default)

    def choice(self, key: str, choices: Sequence[str], default=_MISSING) -> str:
        """Return one of ``choices``."""
        def check(value):
            if value not in choices:
                raise ValueError(f"expected one of {', '.join(choices)}, got {_shown(value)}")
            return value
        return self.take(key, check, default)

    def path(self, key: str, default=_MISSING) -> str:
        """
        Return a file reference: ``package://<python package>/<file>`` as it is, else a path.

        ``~`` is expanded; a relative path is looked up next to the robot file, then in
        the fallback folder (hilserl's installed config/). The file must exist.
        """
        value = self.text(key, default)
        if not value or value.startswith('package://'):
            return value
        value = os.path.expanduser(value)
        folders = [self.folder] + ([self.fallback_folder] if self.fallback_folder else [])
        candidates = [value] if os.path.isabs(value) else [
            os.path.normpath(os.path.join(folder, value)) for folder in folders]
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        where = '' if os.path.isabs(value) else f" in {' or '.join(folders)}"
        self.fail(key, f'no file {value}{where}')

    def section(self, key: str, optional: bool = False) -> 'Section':
        """Return the mapping under ``key`` (an empty one when absent and ``optional``)."""
        self.read.add(key)
        if key not in self.content:
            if not optional:
                self.fail(key, 'missing (required)')
            content = {}
        else:
            content = self.content[key]
        return Section(self.label, self.field_name(key), content, self.folder,
                       self.fallback_folder)

    def finish(self) -> None:
        """Refuse keys that no accessor read: unknown (misspelt) fields."""
        unknown = sorted(set(self.content) - self.read, key=str)
        if unknown:
            self.fail(str(unknown[0]), f'unknown field; this section takes '
                                       f"{', '.join(sorted(self.read))}")
