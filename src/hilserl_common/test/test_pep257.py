"""pep257 docstring conventions over the package, in the ament style."""

import os

import pytest

ament_pep257 = pytest.importorskip('ament_pep257.main')

# Lint this package wherever pytest is started from (colcon test runs it in place).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    rc = ament_pep257.main(argv=[PACKAGE_DIR])
    assert rc == 0, 'Found code style errors / warnings'
