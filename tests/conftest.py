"""
Fixtures for the integration tests: real nodes, separate processes, real DDS.

The session gets its own ROS domain ID (locked against other sessions on this
machine) and keeps DDS on loopback; these variables are set before anything
creates an rclpy context, and every process a test starts inherits them.
"""

import os

import pytest

try:
    from ament_index_python.packages import get_package_share_directory
    from hilserl_testing.isolation import DomainLease, isolated_environment
    CONFIG_DIR = os.path.join(get_package_share_directory('hilserl'), 'config')
except Exception as error:  # the workspace is not built or not sourced
    raise pytest.UsageError(
        f'the hilserl workspace is not available ({error}); run `make test`, or '
        '`scripts/in_env python -m pytest tests` after `make setup`') from None

_LEASE = DomainLease()
os.environ.update(isolated_environment(_LEASE.domain_id, CONFIG_DIR))


def pytest_report_header(config):
    """Show which domain the session uses, to read logs by."""
    return (f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} "
            f"ROS_AUTOMATIC_DISCOVERY_RANGE={os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']}")


def pytest_unconfigure(config):
    """Release the domain ID."""
    _LEASE.release()


LOG_TAIL_CHARS = 6000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Show the end of every process's output under a test that failed."""
    outcome = yield
    report = outcome.get_result()
    group = getattr(item, 'funcargs', {}).get('processes')
    if report.failed and call.when == 'call' and group is not None:
        for process in group.processes:
            output = process.output()
            cut = f'[... {len(output) - LOG_TAIL_CHARS} characters]\n' \
                if len(output) > LOG_TAIL_CHARS else ''
            report.sections.append((f'output of {process.name} ({process.log_path})',
                                    cut + output[-LOG_TAIL_CHARS:]))


@pytest.fixture
def processes(tmp_path):
    """Start nodes and modes as subprocesses; all are stopped when the test ends."""
    from hilserl_testing.processes import ProcessGroup
    group = ProcessGroup(str(tmp_path))
    yield group
    group.stop_all()


@pytest.fixture
def probe():
    """The test's own ROS node."""
    from hilserl_testing.probe import GraphProbe
    graph_probe = GraphProbe()
    yield graph_probe
    graph_probe.close()


@pytest.fixture
def config_dir():
    """The installed hilserl config directory."""
    return CONFIG_DIR
