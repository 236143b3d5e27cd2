#!/usr/bin/env python3
"""
Point the ROS wheels' exported CMake files at this virtualenv's Python and NumPy.

The ROS 2 wheels were built in a manylinux container, so the CMake target files
they export (``*_rosidl_generator_py*Targets*.cmake`` and friends) name include
directories under ``/opt/python/cp311-cp311``, which exist only on that build
machine. CMake refuses imported targets with missing include paths, so building
a custom-interfaces package against the wheels fails until they are rewritten.
Idempotent: files that no longer mention the build machine are left alone.
"""

import argparse
import os
import sys
import sysconfig

BUILD_MACHINE_PREFIX = '/opt/python/cp311-cp311'


def replacements():
    """Return (build-machine path, local path) pairs, most specific first."""
    import numpy
    version = f'python{sys.version_info.major}.{sys.version_info.minor}'
    python_include = sysconfig.get_paths()['include']
    if not os.path.isfile(os.path.join(python_include, 'Python.h')):
        sys.exit(f'error: Python headers not found in {python_include}; install the '
                 f'development headers of Python {sys.version_info.major}.'
                 f'{sys.version_info.minor} (e.g. python3-dev).')
    return [
        (f'{BUILD_MACHINE_PREFIX}/lib/{version}/site-packages/numpy/_core/include',
         numpy.get_include()),
        (f'{BUILD_MACHINE_PREFIX}/lib/{version}/site-packages', sysconfig.get_paths()['purelib']),
        (f'{BUILD_MACHINE_PREFIX}/include/{version}', python_include),
    ]


def fix_tree(root: str) -> int:
    """Rewrite every ``.cmake`` file under ``root``; return how many changed."""
    pairs = None
    changed = 0
    for directory, _, files in os.walk(root):
        for name in files:
            if not name.endswith('.cmake'):
                continue
            path = os.path.join(directory, name)
            with open(path, encoding='utf-8', errors='surrogateescape') as stream:
                text = stream.read()
            if BUILD_MACHINE_PREFIX not in text:
                continue
            pairs = pairs or replacements()
            for old, new in pairs:
                text = text.replace(old, new)
            with open(path, 'w', encoding='utf-8', errors='surrogateescape') as stream:
                stream.write(text)
            changed += 1
    return changed


def main() -> int:
    """Fix the CMake files of the running interpreter's environment."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--prefix', default=sys.prefix,
                        help='environment to fix (default: the running virtualenv)')
    prefix = parser.parse_args().prefix
    changed = sum(fix_tree(os.path.join(prefix, sub))
                  for sub in ('share', sysconfig.get_paths()['purelib']))
    print(f'fix_ros_wheel_cmake: rewrote {changed} CMake file(s) under {prefix}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
