"""
The package.xml files against the code: what rosdep installs on a ROS install.

Every module a package imports must come from a dependency its package.xml declares
(a rosdep key, a ROS package, or a workspace package), or, for the few Python packages
with no rosdep key, be named in a comment there saying where they come from. The same
sources are checked for the ways of unpickling data.
"""

import ast
import os
import re
import sys
import xml.etree.ElementTree as ElementTree

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ('hilserl', 'hilserl_interfaces', 'hilserl_learning', 'hilserl_so100_driver')
# Python module -> rosdep key, for modules that are not ROS packages of the same name.
ROSDEP_KEYS = {
    'numpy': 'python3-numpy',
    'cv2': 'python3-opencv',
    'yaml': 'python3-yaml',
    'ruamel': 'python3-ruamel.yaml',
    'matplotlib': 'python3-matplotlib',
    'tqdm': 'python3-tqdm',
    'torch': 'python3-torch',
    'serial': 'python3-serial',
    'pinocchio': 'pinocchio',
    'mujoco': 'python3-mujoco-pip',
    'rosbags': 'python3-rosbags-pip',
    'pytest': 'python3-pytest',
    'hypothesis': 'python3-hypothesis',
}
# Python module -> the pip distribution a package.xml comment must name (no rosdep key).
PIP_ONLY = {
    'safetensors': 'safetensors',
    'wandb': 'wandb',
    'gymnasium': 'gymnasium',
    'scservo_sdk': 'feetech-servo-sdk',
    # Imported only by the converter that runs in the separate LeRobot venv.
    'lerobot': 'lerobot',
    'torchvision': 'torchvision',
}
RUNTIME_DEPENDS = ('depend', 'exec_depend')
UNPICKLING_MODULES = {'pickle', 'cPickle', 'dill', 'cloudpickle', 'shelve', 'marshal',
                      'joblib'}


def python_files(*directories):
    for directory in directories:
        for folder, _, files in os.walk(directory):
            for name in sorted(files):
                if name.endswith('.py'):
                    yield os.path.join(folder, name)


def imported_modules(path):
    """Return the top-level modules a file imports, import_module('name') included."""
    with open(path, encoding='utf-8') as stream:
        tree = ast.parse(stream.read(), path)
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split('.')[0])
        elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', '') == 'import_module'
              and node.args and isinstance(node.args[0], ast.Constant)):
            modules.add(str(node.args[0].value).split('.')[0])
    local = {name[:-3] for name in os.listdir(os.path.dirname(path)) if name.endswith('.py')}
    return {module for module in modules
            if module not in sys.stdlib_module_names and module not in local}


def manifest(package):
    """Return (dependencies by tag, comment text) of a package.xml."""
    path = os.path.join(ROOT, 'src', package, 'package.xml')
    with open(path, encoding='utf-8') as stream:
        text = stream.read()
    root = ElementTree.fromstring(text)
    assert root.tag == 'package' and root.get('format') == '3', path
    assert root.findtext('name') == package, path
    dependencies = {}
    for element in root:
        if element.tag.endswith('depend'):
            dependencies.setdefault(element.tag, set()).add(element.text.strip())
    comments = ' '.join(re.findall(r'<!--(.*?)-->', text, re.DOTALL))
    return dependencies, comments


def support_packages(package):
    """Return the other Python packages a ROS package installs beside its own (test support)."""
    root = os.path.join(ROOT, 'src', package)
    return sorted(name for name in os.listdir(root) if name not in (package, 'test')
                  and os.path.isfile(os.path.join(root, name, '__init__.py')))


def missing_dependencies(package, files, allowed_tags):
    dependencies, comments = manifest(package)
    declared = set().union(*(dependencies.get(tag, set()) for tag in allowed_tags))
    missing = set()
    for path in files:
        for module in imported_modules(path):
            if module == package or module in support_packages(package):
                continue
            if module in PIP_ONLY:
                if PIP_ONLY[module] not in comments:
                    missing.add(f'{module} (name {PIP_ONLY[module]} in a comment)')
            elif ROSDEP_KEYS.get(module, module) not in declared:
                missing.add(f'{module} -> {ROSDEP_KEYS.get(module, module)} '
                            f'({os.path.relpath(path, ROOT)})')
    return missing


@pytest.mark.parametrize('package', [name for name in PACKAGES if name != 'hilserl_interfaces'])
def test_every_runtime_import_has_a_declared_dependency(package):
    sources = python_files(os.path.join(ROOT, 'src', package, package))
    assert not missing_dependencies(package, sources, RUNTIME_DEPENDS)


@pytest.mark.parametrize('package', [name for name in PACKAGES if name != 'hilserl_interfaces'])
def test_every_test_import_has_a_declared_dependency(package):
    # The package's test support (hilserl's hilserl_testing) counts as test code.
    tests = python_files(os.path.join(ROOT, 'src', package, 'test'),
                         *(os.path.join(ROOT, 'src', package, name)
                           for name in support_packages(package)))
    assert not missing_dependencies(package, tests, RUNTIME_DEPENDS + ('test_depend',))


def test_message_dependencies_are_declared():
    dependencies, _ = manifest('hilserl_interfaces')
    used = set()
    message_dir = os.path.join(ROOT, 'src', 'hilserl_interfaces', 'msg')
    for name in os.listdir(message_dir):
        with open(os.path.join(message_dir, name), encoding='utf-8') as stream:
            used.update(re.findall(r'^\s*([a-z_]+)/[A-Z]\w*', stream.read(), re.MULTILINE))
    assert used <= dependencies['depend']
    assert {'ament_cmake', 'rosidl_default_generators'} <= dependencies['buildtool_depend']
    assert 'rosidl_default_runtime' in dependencies['exec_depend']


def test_no_source_unpickles_data():
    found = []
    for path in python_files(*(os.path.join(ROOT, folder)
                               for folder in ('src', 'launch', 'bench', 'scripts'))):
        with open(path, encoding='utf-8') as stream:
            tree = ast.parse(stream.read(), path)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split('.')[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split('.')[0]]
            if UNPICKLING_MODULES.intersection(names):
                found.append(f'{path}:{node.lineno} imports {names}')
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = getattr(node.func.value, 'id', '')
                call = f'{owner}.{node.func.attr}'
                # torch.load(..., weights_only=True) is torch's restricted unpickler (tensors
                # and plain containers only): how a user's torchvision .pth file is read.
                restricted = call == 'torch.load' and any(
                    keyword.arg == 'weights_only' and getattr(keyword.value, 'value', None) is True
                    for keyword in node.keywords)
                if call in ('torch.load', 'yaml.load', 'yaml.unsafe_load',
                            'yaml.full_load') and not restricted:
                    found.append(f'{path}:{node.lineno} calls {call}')
            if isinstance(node, ast.keyword) and node.arg == 'allow_pickle':
                found.append(f'{path}:{node.value.lineno} passes allow_pickle')
    assert not found
