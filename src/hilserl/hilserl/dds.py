"""DDS settings the suite applies to the processes it starts; no ROS import."""

import os
from typing import Dict, Mapping, Optional

LOCAL_PROFILE_FILE = 'fastdds_local.xml'
_PROFILE_VARIABLES = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')


def dds_environment(config_dir: str, environ: Optional[Mapping[str, str]] = None
                    ) -> Dict[str, str]:
    """
    Return the variables to add to ``environ`` for nodes started by hilserl.

    On one machine (discovery range LOCALHOST) Fast DDS gets the large
    shared-memory profile; a user's own profile, another discovery range or
    another middleware is left alone.
    """
    environ = os.environ if environ is None else environ
    added = {}
    discovery_range = environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE', '')
    fast_dds = environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp').startswith('rmw_fastrtps')
    user_profile = any(environ.get(name) for name in _PROFILE_VARIABLES)
    profile = os.path.join(config_dir, LOCAL_PROFILE_FILE)
    if discovery_range == 'LOCALHOST' and fast_dds and not user_profile:
        if not os.path.isfile(profile):
            raise FileNotFoundError(f'{profile} is missing; rebuild the workspace (make setup)')
        added['FASTDDS_DEFAULT_PROFILES_FILE'] = profile
    return added
