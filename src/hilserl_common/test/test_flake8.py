"""flake8 over the package, in the ament style."""

import os

import pytest

ament_flake8 = pytest.importorskip('ament_flake8.main')

# Lint this package wherever pytest is started from (colcon test runs it in place).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    rc, errors = ament_flake8.main_with_errors(argv=[PACKAGE_DIR])
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)
