"""Give a test session its own ROS domain, on loopback only; no ROS import."""

import fcntl
import os
from typing import Dict, Optional

# Domain IDs 1-100 map to UDP ports that do not collide with Linux's ephemeral range.
DOMAIN_IDS = range(1, 101)


class DomainLease:
    """
    Hold an exclusive lock on one ROS domain ID for as long as this object lives.

    Two test sessions on one machine (a developer's and CI's, say) lock different
    IDs, so their nodes never see each other.
    """

    def __init__(self, lock_dir: Optional[str] = None):
        """Take the first free domain ID; raise RuntimeError when all are taken."""
        lock_dir = lock_dir or os.environ.get('XDG_RUNTIME_DIR') or '/tmp'
        start = os.getpid() % len(DOMAIN_IDS)
        ordered = list(DOMAIN_IDS)[start:] + list(DOMAIN_IDS)[:start]
        for domain_id in ordered:
            path = os.path.join(lock_dir, f'hilserl-ros-domain-{domain_id}.lock')
            handle = open(path, 'a')
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.domain_id = domain_id
            self._handle = handle
            return
        raise RuntimeError('every ROS domain ID from 1 to 100 is locked by another test session')

    def release(self) -> None:
        """Give the domain ID back."""
        self._handle.close()


def isolated_environment(domain_id: int, config_dir: str) -> Dict[str, str]:
    """Return the variables that keep a test's DDS traffic on loopback in its own domain."""
    from hilserl.transport.dds import dds_environment
    variables = {'ROS_DOMAIN_ID': str(domain_id), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                 'ROS_STATIC_PEERS': '', 'PYTHONUNBUFFERED': '1',
                 'RCUTILS_COLORIZED_OUTPUT': '0'}
    variables.update(dds_environment(config_dir, dict(variables)))
    return variables
