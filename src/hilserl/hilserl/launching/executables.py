"""
The console scripts of hilserl (setup.py's entry points): its nodes and the ``hilserl`` command.

Each one imports its module only once SIGINT and SIGTERM are handled, so that a stop
signal while it still imports (torch, rclpy, MuJoCo) stops it quietly
(:mod:`hilserl_common.entry`): exit status 0 for a node, as a stopped node gives, and
130 for the command, as an interrupted command gives. This module imports nothing
else, so that window is as short as can be. ``ros2 run hilserl <name>`` and launch
files run these scripts.
"""

from hilserl_common import EXIT_INTERRUPTED
from hilserl_common.entry import console_script

actor = console_script('hilserl.nodes.actor:main')
camera_publisher = console_script('hilserl.nodes.camera_publisher:main')
episode_recorder = console_script('hilserl.nodes.episode_recorder:main')
find_joint_limits = console_script('hilserl.nodes.joint_limit_finder:main')
gym_env = console_script('hilserl.nodes.gym_env:main')
image_monitor = console_script('hilserl.nodes.image_monitor:main')
image_processor = console_script('hilserl.nodes.image_processor:main')
joy_publisher = console_script('hilserl.nodes.joy_publisher:main')
joy_teleop = console_script('hilserl.nodes.joy_teleop:main')
keyboard_teleop = console_script('hilserl.nodes.keyboard_teleop:main')
leader_teleop = console_script('hilserl.nodes.leader_teleop:main')
learner = console_script('hilserl.nodes.learner:main')
reward_classifier = console_script('hilserl.nodes.reward_classifier:main')
safety_filter = console_script('hilserl.nodes.safety_filter:main')
scripted_human = console_script('hilserl.nodes.scripted_human:main')
sim_arm = console_script('hilserl.nodes.sim_arm:main')
hilserl = console_script('hilserl.commands.cli:main', name='hilserl',
                         stopped_status=EXIT_INTERRUPTED)
