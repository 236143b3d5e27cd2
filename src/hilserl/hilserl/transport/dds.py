"""DDS settings the suite applies to the processes it starts; no ROS import."""

import os
from typing import Dict, Mapping, Optional

LOCAL_PROFILE_FILE = 'fastdds_local.xml'
LAN_PROFILE_FILE = 'fastdds_lan.xml'
_PROFILE_VARIABLES = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')


def profile_for(environ: Mapping[str, str]) -> Optional[str]:
    """
    Return the name of the Fast DDS profile file that fits ``environ``, or None.

    One machine (discovery range LOCALHOST, no static peers): the large
    shared-memory profile, UDP on loopback only. Peers on other machines (range
    SUBNET, or static peers with LOCALHOST or OFF): the LAN profile, the same
    shared memory within the host and UDP on every interface between hosts (the
    loopback-only profile would cut them off). A user's own profile, another
    middleware, or a range hilserl does not know (unset, SYSTEM_DEFAULT) is left
    alone.
    """
    if not environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp').startswith('rmw_fastrtps'):
        return None
    if any(environ.get(name) for name in _PROFILE_VARIABLES):
        return None
    discovery_range = environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '')
    static_peers = environ.get('ROS_STATIC_PEERS', '').strip(' ;')
    if discovery_range == 'SUBNET' or (static_peers and discovery_range in ('LOCALHOST', 'OFF')):
        return LAN_PROFILE_FILE
    if discovery_range == 'LOCALHOST':
        return LOCAL_PROFILE_FILE
    return None


def dds_environment(config_dir: str, environ: Optional[Mapping[str, str]] = None
                    ) -> Dict[str, str]:
    """Return the variables to add to ``environ`` for nodes started by hilserl."""
    name = profile_for(os.environ if environ is None else environ)
    if name is None:
        return {}
    profile = os.path.join(config_dir, name)
    if not os.path.isfile(profile):
        raise FileNotFoundError(f'{profile} is missing; rebuild the workspace (make setup)')
    return {'FASTDDS_DEFAULT_PROFILES_FILE': profile}
