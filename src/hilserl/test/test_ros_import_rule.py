"""
ROS is imported only in nodes/, ros/, launching/ and testing/ of the hilserl package.

Everything else (actor/, learner/, transport/, arm/, vision/, human/, sim/, dataset/,
commands/, ...) is plain Python that the unit tests import without a ROS graph. A ROS
import is ``rclpy``, a message or service package (``*_msgs``, ``*_srvs``,
``hilserl_interfaces``, ``rcl_interfaces``, ``builtin_interfaces``, ``lifecycle_msgs``),
``rosidl_*``, ``cv_bridge`` (it builds ``sensor_msgs``), ``launch``/``launch_ros`` and
the modules of ``hilserl_common`` that import rclpy. ``ament_index_python`` (finding
installed files), ``rosbags`` (pure-Python bag files) and the rest of ``hilserl_common``
are not. ``testing/`` may import ROS: its probe is the test's own node.

The checker reads every import statement (also those inside functions) and every
``importlib.import_module('...')`` with a literal name, without importing anything.
"""

import ast
import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent / 'hilserl'
ROS_FOLDERS = ('nodes', 'ros', 'launching', 'testing')
ROS_PACKAGES = {'rclpy', 'rcl_interfaces', 'builtin_interfaces', 'hilserl_interfaces',
                'cv_bridge', 'launch', 'launch_ros', 'launch_testing', 'launch_testing_ros',
                'message_filters', 'rosbag2_py', 'tf2_ros', 'rcutils', 'rmw'}
# Modules of plain packages that import rclpy.
ROS_MODULES = {'hilserl_common.node_support', 'hilserl_common.lifecycle_support'}


def is_ros_module(name):
    """Return whether importing the dotted module ``name`` imports ROS."""
    top = name.split('.')[0]
    return (top in ROS_PACKAGES or top.endswith(('_msgs', '_srvs'))
            or top.startswith('rosidl')
            or any(name == ros or name.startswith(ros + '.') for ros in ROS_MODULES))


def imported_modules(tree):
    """Yield (line, module) for each absolute import of a parsed module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # from package import module
                yield node.lineno, f'{node.module}.{alias.name}'
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == 'import_module' and node.args
              and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def ros_imports_outside_their_folders(package_dir):
    """Return 'path:line: module' for each ROS import outside ROS_FOLDERS, and the count."""
    package_dir = pathlib.Path(package_dir)
    problems, checked = [], 0
    for path in sorted(package_dir.rglob('*.py')):
        relative = path.relative_to(package_dir)
        if relative.parts[0] in ROS_FOLDERS:
            continue
        checked += 1
        tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
        found = {}
        for line, module in imported_modules(tree):
            if is_ros_module(module) and line not in found:
                found[line] = module
        problems += [f'{relative.as_posix()}:{line}: {module}'
                     for line, module in sorted(found.items())]
    return problems, checked


def test_ros_is_imported_only_in_its_folders():
    problems, checked = ros_imports_outside_their_folders(PACKAGE_DIR)
    assert checked > 30, f'only {checked} modules checked under {PACKAGE_DIR}'
    assert problems == [], 'ROS imported outside ' + ', '.join(ROS_FOLDERS) + ':\n' + \
        '\n'.join(problems)


def test_the_folders_of_the_rule_exist():
    for folder in ROS_FOLDERS:
        assert (PACKAGE_DIR / folder / '__init__.py').is_file(), folder


def test_a_violation_is_reported(tmp_path):
    files = {
        'nodes/camera.py': 'import rclpy\nfrom sensor_msgs.msg import Image\n',
        'ros/glue.py': 'from hilserl_interfaces.msg import Transition\n',
        'launching/launch.py': 'from launch_ros.actions import Node\n',
        'vision/bad.py': 'import numpy\n\n\ndef f():\n    import rclpy.node\n',
        'actor/bad.py': 'from std_srvs.srv import Trigger\n',
        'arm/fine.py': 'import rosbags\nfrom ament_index_python import packages\n'
                       'from hilserl.ros import node_support\n',
        'learner/dynamic.py': 'import importlib\nimportlib.import_module("rclpy")\n',
        'top.py': 'from builtin_interfaces.msg import Time\n',
        'arm/common.py': 'from hilserl_common import node_support\n'
                         'from hilserl_common.log_throttle import LogThrottle\n',
        'human/relative.py': 'from . import keys\n',
    }
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    problems, checked = ros_imports_outside_their_folders(tmp_path)
    assert checked == 7
    assert problems == ['actor/bad.py:1: std_srvs.srv',
                        'arm/common.py:1: hilserl_common.node_support',
                        'learner/dynamic.py:2: rclpy',
                        'top.py:1: builtin_interfaces.msg', 'vision/bad.py:5: rclpy.node']
