"""
The hilserl package reads as the architecture: a dozen folders by concern, short modules.

docs/architecture.md describes each folder; a new concern gets a folder there and here,
a new module goes into the folder of its concern instead of the top level.
"""

import pathlib

SRC = pathlib.Path(__file__).resolve().parent.parent.parent   # src/
PACKAGE_DIR = SRC / 'hilserl' / 'hilserl'
FOLDERS = {'actor', 'arm', 'commands', 'dataset', 'human', 'launching', 'learner', 'nodes',
           'ros', 'sim', 'transport', 'vision'}
FILES = {'__init__.py', '__main__.py', 'defaults.py'}
MAX_LINES = 400


def top_level(package_dir):
    """Return the folder and file names at a package's top level (caches left out)."""
    return sorted(entry.name for entry in pathlib.Path(package_dir).iterdir()
                  if entry.name != '__pycache__')


def long_modules(root, max_lines=MAX_LINES):
    """Return 'path: lines' for each module under ``root`` (tests excepted) over the limit."""
    found = []
    for path in sorted(pathlib.Path(root).rglob('*.py')):
        relative = path.relative_to(root)
        if 'test' in relative.parts or relative.parts[0] in ('build', 'install'):
            continue
        lines = len(path.read_text(encoding='utf-8').splitlines())
        if lines > max_lines:
            found.append(f'{relative.as_posix()}: {lines}')
    return found


def test_the_top_level_holds_the_concerns_and_nothing_else():
    assert top_level(PACKAGE_DIR) == sorted(FOLDERS | FILES)
    for folder in FOLDERS:
        assert (PACKAGE_DIR / folder / '__init__.py').is_file(), folder
    architecture = (SRC.parent / 'docs' / 'architecture.md').read_text(encoding='utf-8')
    for folder in FOLDERS:
        assert f'hilserl/{folder}/' in architecture, f'{folder}/ is not described'


def test_no_module_of_the_suite_is_over_the_limit():
    assert long_modules(SRC) == []


def test_the_checks_see_a_stray_module_and_a_long_one(tmp_path):
    (tmp_path / 'actor').mkdir()
    (tmp_path / 'actor' / 'core.py').write_text('x = 1\n' * (MAX_LINES + 1))
    (tmp_path / 'actor' / 'test').mkdir()
    (tmp_path / 'actor' / 'test' / 'test_core.py').write_text('x = 1\n' * (MAX_LINES + 1))
    (tmp_path / 'helpers.py').write_text('x = 1\n')
    assert top_level(tmp_path) == ['actor', 'helpers.py']
    assert long_modules(tmp_path) == [f'actor/core.py: {MAX_LINES + 1}']
