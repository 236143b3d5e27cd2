"""The large-frame DDS profile is applied only where it fits."""

import pytest

from hilserl.dds import dds_environment


def test_profile_on_localhost_with_fast_dds(tmp_path):
    (tmp_path / 'fastdds_local.xml').write_text('<dds/>')
    added = dds_environment(str(tmp_path), {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'})
    assert added == {'FASTDDS_DEFAULT_PROFILES_FILE': str(tmp_path / 'fastdds_local.xml')}


def test_a_missing_profile_is_an_error_not_silent_frame_loss(tmp_path):
    with pytest.raises(FileNotFoundError, match='rebuild the workspace'):
        dds_environment(str(tmp_path), {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'})


def test_users_own_profile_middleware_or_network_are_left_alone():
    assert dds_environment('/cfg', {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                                    'FASTRTPS_DEFAULT_PROFILES_FILE': '/mine.xml'}) == {}
    assert dds_environment('/cfg', {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                                    'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'}) == {}
    assert dds_environment('/cfg', {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'}) == {}
