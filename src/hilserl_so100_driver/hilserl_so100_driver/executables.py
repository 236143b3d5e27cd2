"""
The console scripts of hilserl_so100_driver (setup.py's entry points).

Each one imports its module only once SIGINT and SIGTERM are handled, so that a stop
signal while it still imports stops it quietly (:mod:`hilserl_common.entry`), with the
status the program gives a stop once it runs: 0 for the nodes and the emulator, 130
for ``so100_calibrate``, which reports Ctrl-C as an interruption.
"""

from hilserl_common import EXIT_INTERRUPTED
from hilserl_common.entry import console_script

servo_bus_emulator = console_script('hilserl_so100_driver.bus_emulator:main')
so100_calibrate = console_script('hilserl_so100_driver.calibrate_cli:main',
                                 stopped_status=EXIT_INTERRUPTED)
so100_follower = console_script('hilserl_so100_driver.nodes.follower_driver:main')
so100_leader = console_script('hilserl_so100_driver.nodes.leader_arm:main')
