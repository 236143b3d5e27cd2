"""Run pep257 (pydocstyle) over the package with the ament configuration."""

import pytest


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    """Check the docstrings of every Python file in the package."""
    main = pytest.importorskip('ament_pep257.main')
    rc = main.main(argv=['.', 'test'])
    assert rc == 0, 'Found code style errors / warnings'
