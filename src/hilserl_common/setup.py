"""Install hilserl_common: the node helpers hilserl and its arm drivers share."""

from setuptools import find_packages, setup

PACKAGE = 'hilserl_common'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
    ],
    # rclpy comes from the ROS install (or the pinned wheels of requirements.txt).
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='hilserl developers',
    maintainer_email='hilserl-dev@example.com',
    description='Node start-up, shutdown, parameters, lifecycle and log helpers of hilserl.',
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
)
