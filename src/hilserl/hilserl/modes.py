"""
The modes of the suite: which nodes run, with which parameter files.

One function per mode returns its :class:`~hilserl.graph.NodeSpec` list; the
launch files and the pip-only runner both start exactly these nodes.
"""

from typing import Dict, List

from hilserl.graph import LaunchArgument, Mode, NodeSpec, argument_as_float

DEMO_CAMERAS = ('front', 'wrist')


def demo_nodes(args: Dict[str, str]) -> List[NodeSpec]:
    """Two test-pattern cameras, the image processor and a monitor of its output."""
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

MODES = {mode.name: mode for mode in (DEMO,)}
