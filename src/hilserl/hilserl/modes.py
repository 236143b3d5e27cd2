"""
The modes of the suite: which nodes run, with which parameter files.

One function per mode returns its :class:`~hilserl.graph.NodeSpec` list; the
launch files and the pip-only runner both start exactly these nodes.
"""

from typing import Dict, List

import os

from hilserl.graph import LaunchArgument, Mode, NodeSpec, argument_as_float

DEMO_CAMERAS = ('front', 'wrist')


def config_file(name: str) -> str:
    """Return the installed path of a file under share/hilserl/config."""
    from ament_index_python.packages import get_package_share_directory
    return os.path.join(get_package_share_directory('hilserl'), 'config', name)


def demo_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return two test-pattern cameras, the image processor and a monitor of its output."""
    duration_s = argument_as_float(args, 'duration')
    cameras = [
        NodeSpec('camera_publisher', 'camera', namespace=camera,
                 parameter_files=('test_pattern_cameras.yaml',))
        for camera in DEMO_CAMERAS]
    processor = NodeSpec('image_processor', 'image_processor',
                         parameter_files=('image_processor.yaml',))
    monitor = NodeSpec('image_monitor', 'image_monitor',
                       parameter_files=('image_monitor.yaml',),
                       parameters={'exit_after_s': duration_s,
                                   'preview_dir': args['preview_dir']},
                       required=True)
    return cameras + [processor, monitor]


DEMO = Mode(
    name='demo',
    description='Generated camera frames cropped and resized by the image processor; '
                'a monitor reports what it publishes and saves previews.',
    arguments=(
        LaunchArgument('duration', '0',
                       'Seconds to run before shutting down; 0 runs until Ctrl-C.'),
        LaunchArgument('preview_dir', 'demo_output',
                       'Directory where the monitor writes <camera>.png previews.'),
    ),
    build=demo_nodes,
)


def sim_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Return a simulated arm behind the safety filter, its cameras processed for the policy."""
    robot_file = f"sim_{args['robot']}.yaml"
    overrides = {'task': args['task'], 'lock_step': args['lock_step'] == 'true'}
    nodes = [
        NodeSpec('sim_arm', 'sim_arm', parameter_files=(robot_file,), parameters=overrides),
        NodeSpec('safety_filter', 'safety_filter', parameter_files=(robot_file,),
                 parameters={'tick_on_joint_states': args['lock_step'] == 'true'}),
        NodeSpec('image_processor', 'image_processor',
                 parameter_files=('sim_image_processor.yaml',)),
    ]
    if args['rviz'] == 'true':
        nodes += visualisation_nodes(args['robot'])
    return nodes


def visualisation_nodes(robot: str) -> List[NodeSpec]:
    """Return robot_state_publisher and rviz2 with the suite's layout, both optional."""
    # Imported here: building the URDF loads the robot model, needed only with rviz.
    from hilserl.sim.description import robot_description_for
    return [
        NodeSpec('robot_state_publisher', 'robot_state_publisher',
                 package='robot_state_publisher', optional=True,
                 parameters={'robot_description': robot_description_for(robot)}),
        NodeSpec('rviz2', 'rviz2', package='rviz2', optional=True,
                 arguments=('-d', config_file('hilserl.rviz'))),
    ]


SIM = Mode(
    name='sim',
    description='A MuJoCo arm (SO-101 or Panda) behind the safety filter: send '
                'end_effector_command, watch joint_states, cameras and sim/ground_truth.',
    arguments=(
        LaunchArgument('robot', 'so101', 'Which simulated arm.', ('so101', 'panda')),
        LaunchArgument('task', 'pick_lift', 'Which task.', ('reach', 'push', 'pick_lift')),
        LaunchArgument('lock_step', 'false',
                       'Step the physics once per joint command instead of in real time.',
                       ('true', 'false')),
        LaunchArgument('rviz', 'false',
                       'Start robot_state_publisher and rviz2 (when installed).',
                       ('true', 'false')),
    ),
    build=sim_nodes,
)

MODES = {mode.name: mode for mode in (DEMO, SIM)}
