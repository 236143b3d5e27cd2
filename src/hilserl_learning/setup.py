from setuptools import find_packages, setup

package_name = 'hilserl_learning'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='hilserl developers',
    maintainer_email='hilserl-dev@example.com',
    description='ROS-free SAC, grasp critic, replay buffers and checkpoints for HIL-SERL.',
    license='Apache-2.0',
    extras_require={'test': ['pytest']},
    entry_points={'console_scripts': []},
)
