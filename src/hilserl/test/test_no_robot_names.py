"""
No mode, graph, runner, node or simulation module names a particular arm.

Everything about an arm is in its robot file (config/robots/); the default arm is
named once, in config/default_robot.yaml. This test reads the source of those modules
(comments and docstrings included) for the names of the shipped arms, their models
and their driver.
"""

import glob
import os
import re

from hilserl.arm.robot_registry import default_robot, load_robot, registry_directory, robot_names
import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'hilserl')
MODULES = ['commands/demo.py'] + sorted(
    os.path.relpath(path, PACKAGE) for folder in ('launching', 'nodes', 'sim')
    for path in glob.glob(os.path.join(PACKAGE, folder, '*.py')))


def forbidden_words():
    """Return the shipped arms' names and the packages and executables their files name."""
    words = {'so100', 'so101', 'so-100', 'so-101', 'panda', 'franka', 'jaco', 'kinova',
             'robotiq', 'feetech'}
    for name in robot_names():
        robot = load_robot(name)
        words.add(name)
        if robot.driver.kind == 'hilserl':
            words.update((robot.driver.package, robot.driver.executable))
    return sorted(words)


@pytest.mark.parametrize('module', MODULES)
def test_the_module_names_no_robot(module):
    with open(os.path.join(PACKAGE, module), encoding='utf-8') as stream:
        text = stream.read().lower()
    found = [word for word in forbidden_words()
             if re.search(rf'(?<![a-z0-9]){re.escape(word)}', text)]
    assert not found, f'{module} names {found}; put it in a robot file (config/robots/)'


def test_the_default_robot_is_a_registry_name():
    assert default_robot() in robot_names(registry_directory())


@pytest.mark.parametrize('module', MODULES)
def test_no_simulation_module_fixes_a_control_period(module):
    # The control period is each robot file's (sim.scene.control_period), never a constant.
    with open(os.path.join(PACKAGE, module), encoding='utf-8') as stream:
        text = stream.read()
    assert not re.search(r'^\s*CONTROL_(DT|PERIOD)\w*\s*=', text, re.MULTILINE), module
