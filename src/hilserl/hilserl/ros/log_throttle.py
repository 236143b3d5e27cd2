"""
Re-exports :mod:`hilserl_common.log_throttle`, where it lives.

The arm drivers share it without the learning stack (hilserl_common depends on rclpy
alone); hilserl's modules import it from here or from there alike.
"""

from hilserl_common.log_throttle import (LogThrottle)

__all__ = ['LogThrottle']
