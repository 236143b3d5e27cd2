"""
The driver installs without the learning stack: what it declares and what it imports.

A robot computer runs this package with rclpy, numpy, the Feetech SDK (and pyserial,
which the SDK opens ports with), the message packages and hilserl_common: not hilserl,
whose dependencies are torch, MuJoCo and pinocchio. The test reads package.xml,
setup.py's install_requires and every import statement of the package's modules
(the abstract syntax tree, imports inside functions included).
"""

import ast
import os
import sys
import xml.etree.ElementTree as ElementTree

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = 'hilserl_so100_driver'
# ROS and Python modules the driver may use besides the standard library and itself.
ALLOWED_MODULES = {'rclpy', 'numpy', 'scservo_sdk', 'serial', 'hilserl_common'}
# Keys of package.xml: rosdep keys of the same things.
ALLOWED_KEYS = {'rclpy', 'python3-numpy', 'python3-serial', 'hilserl_common'}
MESSAGE_SUFFIXES = ('_msgs', '_srvs', '_interfaces')


def message_package(name: str) -> bool:
    """Return whether ``name`` is a ROS message package (std_msgs, std_srvs, ...)."""
    return name.endswith(MESSAGE_SUFFIXES)


def imported_modules(path: str) -> set:
    """Return the top-level modules a source file imports (absolute imports only)."""
    with open(path, encoding='utf-8') as stream:
        tree = ast.parse(stream.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split('.')[0])
    return names


def package_modules():
    """Yield the package's own source files (not its tests)."""
    for folder, _, files in os.walk(os.path.join(PACKAGE_ROOT, PACKAGE)):
        for name in files:
            if name.endswith('.py'):
                yield os.path.join(folder, name)


def test_the_modules_import_only_the_driver_dependencies():
    found = {}
    for path in package_modules():
        for module in imported_modules(path):
            if (module in sys.stdlib_module_names or module == PACKAGE
                    or module in ALLOWED_MODULES or message_package(module)):
                continue
            found.setdefault(module, []).append(os.path.relpath(path, PACKAGE_ROOT))
    assert not found, f'the driver imports {found}: not on the driver side of the suite'


def test_the_imports_are_found_by_the_scan():
    # The scan sees imports inside functions too (a lazy import would hide a dependency).
    follower = os.path.join(PACKAGE_ROOT, PACKAGE, 'nodes', 'follower_driver.py')
    assert {'rclpy', 'hilserl_common'} <= imported_modules(follower)


def test_package_xml_declares_only_the_driver_dependencies():
    root = ElementTree.parse(os.path.join(PACKAGE_ROOT, 'package.xml')).getroot()
    runtime = [element.text.strip() for element in root
               if element.tag in ('depend', 'exec_depend', 'build_depend')]
    assert 'hilserl_common' in runtime and 'rclpy' in runtime
    other = [key for key in runtime if key not in ALLOWED_KEYS and not message_package(key)]
    assert not other, f'package.xml declares {other}'


def test_setup_py_requires_nothing_but_setuptools():
    with open(os.path.join(PACKAGE_ROOT, 'setup.py'), encoding='utf-8') as stream:
        tree = ast.parse(stream.read())
    requires = [keyword.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                for keyword in node.keywords if keyword.arg == 'install_requires']
    assert len(requires) == 1
    assert ast.literal_eval(requires[0]) == ['setuptools']
