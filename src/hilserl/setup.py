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
        # Gymnasium environments as arms (hilserl.sim.gym.env_file): robot:=gym.
        ('share/' + PACKAGE + '/config/environments',
         workspace_files('config/environments', '*.yaml')),
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
            'actor = hilserl.launching.executables:actor',
            'camera_publisher = hilserl.launching.executables:camera_publisher',
            'episode_recorder = hilserl.launching.executables:episode_recorder',
            'find_joint_limits = hilserl.launching.executables:find_joint_limits',
            'gym_env = hilserl.launching.executables:gym_env',
            'image_monitor = hilserl.launching.executables:image_monitor',
            'image_processor = hilserl.launching.executables:image_processor',
            'joy_publisher = hilserl.launching.executables:joy_publisher',
            'joy_teleop = hilserl.launching.executables:joy_teleop',
            'keyboard_teleop = hilserl.launching.executables:keyboard_teleop',
            'leader_teleop = hilserl.launching.executables:leader_teleop',
            'learner = hilserl.launching.executables:learner',
            'reward_classifier = hilserl.launching.executables:reward_classifier',
            'safety_filter = hilserl.launching.executables:safety_filter',
            'scripted_human = hilserl.launching.executables:scripted_human',
            'sim_arm = hilserl.launching.executables:sim_arm',
            'hilserl = hilserl.launching.executables:hilserl',
        ],
    },
)
