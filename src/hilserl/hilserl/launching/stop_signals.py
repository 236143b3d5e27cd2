"""
Re-exports :mod:`hilserl_common.stop_signals`, where it lives.

The arm drivers share it without the learning stack (hilserl_common depends on rclpy
alone); hilserl's modules import it from here or from there alike.
"""

from hilserl_common.stop_signals import (signal_name, STOP_SIGNALS, StopSignals)

__all__ = ['signal_name', 'STOP_SIGNALS', 'StopSignals']
