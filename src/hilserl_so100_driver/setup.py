"""Install the hilserl_so100_driver package and its servo bus emulator."""

from setuptools import find_packages, setup

PACKAGE = 'hilserl_so100_driver'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
    ],
    # pyserial and feetech-servo-sdk come from requirements-hardware.txt (pinned there).
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='hilserl developers',
    maintainer_email='hilserl-dev@example.com',
    description='Feetech STS3215 control table, protocol and servo bus emulator for the SO100.',
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
    entry_points={
        'console_scripts': [
            'servo_bus_emulator = hilserl_so100_driver.executables:servo_bus_emulator',
            'so100_calibrate = hilserl_so100_driver.executables:so100_calibrate',
            'so100_follower = hilserl_so100_driver.executables:so100_follower',
            'so100_leader = hilserl_so100_driver.executables:so100_leader',
        ],
    },
)
