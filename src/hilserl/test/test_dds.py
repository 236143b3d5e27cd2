"""The DDS profile that fits the discovery settings is applied, and only where it fits."""

import pathlib

import pytest

from hilserl.transport.dds import dds_environment, profile_for


def test_profile_on_localhost_with_fast_dds(tmp_path):
    (tmp_path / 'fastdds_local.xml').write_text('<dds/>')
    added = dds_environment(str(tmp_path), {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'})
    assert added == {'FASTDDS_DEFAULT_PROFILES_FILE': str(tmp_path / 'fastdds_local.xml')}


def test_a_missing_profile_is_an_error_not_silent_frame_loss(tmp_path):
    with pytest.raises(FileNotFoundError, match='rebuild the workspace'):
        dds_environment(str(tmp_path), {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'})


def test_peers_on_other_machines_get_the_lan_profile_not_loopback_only():
    assert profile_for({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'}) == 'fastdds_lan.xml'
    for discovery_range in ('LOCALHOST', 'OFF'):
        assert profile_for({'ROS_AUTOMATIC_DISCOVERY_RANGE': discovery_range,
                            'ROS_STATIC_PEERS': '192.168.1.20;robot.local'}) == 'fastdds_lan.xml'
    # An empty peer list is no peer: one machine.
    assert profile_for({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                        'ROS_STATIC_PEERS': ''}) == 'fastdds_local.xml'
    assert profile_for({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'OFF'}) is None


def test_users_own_profile_middleware_or_unknown_range_are_left_alone():
    assert dds_environment('/cfg', {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                                    'FASTRTPS_DEFAULT_PROFILES_FILE': '/mine.xml'}) == {}
    assert dds_environment('/cfg', {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET',
                                    'FASTDDS_DEFAULT_PROFILES_FILE': '/mine.xml'}) == {}
    assert dds_environment('/cfg', {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                                    'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'}) == {}
    assert dds_environment('/cfg', {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SYSTEM_DEFAULT'}) == {}
    assert dds_environment('/cfg', {}) == {}


def test_the_repository_has_both_profiles():
    config_dir = str(pathlib.Path(__file__).resolve().parents[3] / 'config')
    for environ in ({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'},
                    {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'}):
        assert dds_environment(config_dir, environ)
