"""Test sessions lock distinct ROS domains and stay on loopback."""

from hilserl_testing.isolation import DomainLease, isolated_environment


def test_two_sessions_get_different_domains(tmp_path):
    first = DomainLease(str(tmp_path))
    second = DomainLease(str(tmp_path))
    try:
        assert first.domain_id != second.domain_id
        assert 1 <= first.domain_id <= 100 and 1 <= second.domain_id <= 100
    finally:
        first.release()
        second.release()
    again = DomainLease(str(tmp_path))  # released IDs can be taken again
    again.release()


def test_isolated_environment_keeps_dds_on_loopback(tmp_path):
    (tmp_path / 'fastdds_local.xml').write_text('<dds/>')
    variables = isolated_environment(42, str(tmp_path))
    assert variables['ROS_DOMAIN_ID'] == '42'
    assert variables['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    assert variables['FASTDDS_DEFAULT_PROFILES_FILE'] == str(tmp_path / 'fastdds_local.xml')
