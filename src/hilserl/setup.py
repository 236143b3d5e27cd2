"""Install the hilserl package, its nodes, and the workspace's launch and config files."""

from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = 'hilserl'
# The launch files and parameter files live at the repository root (launch/, config/),
# where users look for them; they are installed into this package's share directory.
WORKSPACE_ROOT = os.path.relpath(os.path.join(os.path.dirname(__file__), '..', '..'))


def workspace_files(folder, pattern):
    """Return the repository-root files matching ``folder/pattern``, relative to here."""
    return sorted(glob(os.path.join(WORKSPACE_ROOT, folder, pattern)))


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', workspace_files('launch', '*.launch.py')),
        ('share/' + PACKAGE + '/config', workspace_files('config', '*.yaml')
         + workspace_files('config', '*.xml')
         + workspace_files('config', '*.rviz')),
        # The robot registry (hilserl.arm.robot_registry): one file per arm.
        ('share/' + PACKAGE + '/config/robots', workspace_files('config/robots', '*.yaml')),
        ('bin', ['bin/hilserl']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='hilserl developers',
    maintainer_email='hilserl-dev@example.com',
    description='Human-in-the-loop sample-efficient RL for robot arms on ROS 2.',
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
    entry_points={
        'console_scripts': [
            'actor = hilserl.nodes.actor:main',
            'camera_publisher = hilserl.nodes.camera_publisher:main',
            'episode_recorder = hilserl.nodes.episode_recorder:main',
            'find_joint_limits = hilserl.nodes.joint_limit_finder:main',
            'image_monitor = hilserl.nodes.image_monitor:main',
            'image_processor = hilserl.nodes.image_processor:main',
            'joy_publisher = hilserl.nodes.joy_publisher:main',
            'joy_teleop = hilserl.nodes.joy_teleop:main',
            'keyboard_teleop = hilserl.nodes.keyboard_teleop:main',
            'leader_teleop = hilserl.nodes.leader_teleop:main',
            'learner = hilserl.nodes.learner:main',
            'reward_classifier = hilserl.nodes.reward_classifier:main',
            'safety_filter = hilserl.nodes.safety_filter:main',
            'scripted_human = hilserl.nodes.scripted_human:main',
            'sim_arm = hilserl.nodes.sim_arm:main',
            'hilserl = hilserl.cli:main',
        ],
    },
)
