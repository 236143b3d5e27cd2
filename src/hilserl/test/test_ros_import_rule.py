"""
ROS is imported only in nodes/, ros/ and launching/ of the hilserl package.

Everything else (actor/, learner/, transport/, arm/, vision/, human/, sim/, dataset/,
commands/, ...) is plain Python that the unit tests import without a ROS graph. A ROS
import is ``rclpy``, a message or service package (``*_msgs``, ``*_srvs``,
``hilserl_interfaces``, ``rcl_interfaces``, ``builtin_interfaces``, ``lifecycle_msgs``),
``rosidl_*``, ``cv_bridge`` (it builds ``sensor_msgs``), ``launch``/``launch_ros`` and
the modules of ``hilserl_common`` that import rclpy. ``ament_index_python`` (finding
installed files), ``rosbags`` (pure-Python bag files) and the rest of ``hilserl_common``
are not. The test support (the ``hilserl_testing`` package beside ``hilserl``) is not
checked: its probe is the test's own node.

Importing a module of those three folders is a way round the rule, so:

- the plain folders never import one, neither at the top nor inside a function;
- the command line front end (:data:`FRONT_END`: ``commands/`` and ``__main__.py``), whose
  commands start nodes and talk to them, imports a module of the ROS folders that
  imports ROS (itself or through other hilserl modules) only inside the function that
  needs it, so that ``hilserl --help`` and the commands that need no graph load no ROS.

The checker reads every import statement (also those inside functions) and every
``importlib.import_module('...')`` with a literal name, without importing anything.
"""

import ast
import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent / 'hilserl'
ROS_FOLDERS = ('nodes', 'ros', 'launching')
FRONT_END = ('commands', '__main__.py')
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
    """Yield (line, module, lazy) for each absolute import; lazy: inside a function."""
    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                               ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield child.lineno, alias.name, lazy
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield child.lineno, child.module, lazy
                for alias in child.names:  # from package import module
                    yield child.lineno, f'{child.module}.{alias.name}', lazy
            elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                  and child.func.attr == 'import_module' and child.args
                  and isinstance(child.args[0], ast.Constant)
                  and isinstance(child.args[0].value, str)):
                yield child.lineno, child.args[0].value, lazy
            yield from visit(child, inner)
    yield from visit(tree, False)


def package_modules(package_dir, package='hilserl'):
    """Return {dotted name: (relative path, [(line, module, lazy)])} of a package's modules."""
    package_dir = pathlib.Path(package_dir)
    modules = {}
    for path in sorted(package_dir.rglob('*.py')):
        relative = path.relative_to(package_dir)
        parts = list(relative.with_suffix('').parts)
        if parts[-1] == '__init__':
            parts.pop()
        tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
        modules['.'.join([package, *parts])] = (relative, list(imported_modules(tree)))
    return modules


def ros_when_imported(modules):
    """Return the modules whose import imports ROS, directly or through other modules."""
    found = set()
    changed = True
    while changed:
        changed = False
        for name, (_, imports) in modules.items():
            if name not in found and any(
                    is_ros_module(module) or module in found
                    for _, module, lazy in imports if not lazy):
                found.add(name)
                changed = True
    return found


def ros_imports_outside_their_folders(package_dir, package='hilserl'):
    """Return 'path:line: module' for each import that breaks the rule, and the count."""
    modules = package_modules(package_dir, package)
    ros_folders = tuple(f'{package}.{folder}' for folder in ROS_FOLDERS)
    in_ros_folders = {name for name in modules
                      if any(name == f or name.startswith(f + '.') for f in ros_folders)}
    ros_on_import = ros_when_imported(modules)
    problems, checked = [], 0
    for name, (relative, imports) in modules.items():
        if name in in_ros_folders:
            continue
        checked += 1
        front_end = relative.parts[0] in FRONT_END
        found = {}
        for line, module, lazy in imports:
            if is_ros_module(module):
                found.setdefault(line, module)
            elif module in in_ros_folders and (
                    not front_end or (module in ros_on_import and not lazy)):
                found.setdefault(line, module)
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
        'nodes/__init__.py': '',
        'nodes/camera.py': 'import rclpy\nfrom sensor_msgs.msg import Image\n',
        'ros/__init__.py': '',
        'ros/glue.py': 'from hilserl_interfaces.msg import Transition\n',
        'ros/plain.py': 'import numpy\n\n\ndef f():\n    import rclpy\n',
        'ros/through.py': 'from hilserl.ros.glue import Transition\n',
        'launching/launch.py': 'from launch_ros.actions import Node\n',
        'vision/bad.py': 'import numpy\n\n\ndef f():\n    import rclpy.node\n',
        'actor/bad.py': 'from std_srvs.srv import Trigger\n',
        'arm/fine.py': 'import rosbags\nfrom ament_index_python import packages\n'
                       'from hilserl.vision import bad\n',
        'learner/dynamic.py': 'import importlib\nimportlib.import_module("rclpy")\n',
        'top.py': 'from builtin_interfaces.msg import Time\n',
        'arm/common.py': 'from hilserl_common import node_support\n'
                         'from hilserl_common.log_throttle import LogThrottle\n',
        'human/relative.py': 'from . import keys\n',
        'dataset/lazy.py': 'def f():\n    from hilserl.ros.plain import f\n',
        'learner/glue.py': 'from hilserl.ros import glue\n',
        'commands/lazy.py': 'from hilserl.ros.plain import f\n\n\n'
                            'def g():\n    from hilserl.ros.through import Transition\n',
        'commands/eager.py': 'from hilserl.ros.through import Transition\n',
        'commands/cli.py': 'import importlib\nimportlib.import_module("hilserl.ros.glue")\n',
    }
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    problems, checked = ros_imports_outside_their_folders(tmp_path)
    assert checked == 12
    assert problems == ['actor/bad.py:1: std_srvs.srv',
                        'arm/common.py:1: hilserl_common.node_support',
                        'commands/cli.py:2: hilserl.ros.glue',
                        'commands/eager.py:1: hilserl.ros.through',
                        'dataset/lazy.py:2: hilserl.ros.plain',
                        'learner/dynamic.py:2: rclpy',
                        'learner/glue.py:1: hilserl.ros',
                        'top.py:1: builtin_interfaces.msg', 'vision/bad.py:5: rclpy.node']
