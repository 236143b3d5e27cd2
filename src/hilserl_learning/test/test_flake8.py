"""Run flake8 over the package with the ament configuration."""

import pytest


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    """Check the code style of every Python file in the package."""
    main = pytest.importorskip('ament_flake8.main')
    rc, errors = main.main_with_errors(argv=[])
    assert rc == 0, 'Found %d code style errors / warnings:\n' % len(errors) + '\n'.join(errors)
