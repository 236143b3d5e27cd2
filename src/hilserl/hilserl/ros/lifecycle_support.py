"""
Re-exports :mod:`hilserl_common.lifecycle_support`, where it lives.

The arm drivers share it without the learning stack (hilserl_common depends on rclpy
alone); hilserl's modules import it from here or from there alike.
"""

from hilserl_common.lifecycle_support import (ActiveOnly, autostart, AUTOSTART_DESCRIPTION,
                                              declare_autostart, GOAL_STATES, lifecycle_state,
                                              transition)

__all__ = ['ActiveOnly', 'autostart', 'AUTOSTART_DESCRIPTION', 'declare_autostart', 'GOAL_STATES',
           'lifecycle_state', 'transition']
