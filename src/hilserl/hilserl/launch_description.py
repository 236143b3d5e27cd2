"""
Turn a :mod:`hilserl.modes` mode into a launch_ros LaunchDescription.

Imported only by ``launch/*.launch.py`` on a ROS install; the pip-only runner
does not need the launch packages.
"""

import os

from ament_index_python.packages import (get_package_prefix, get_package_share_directory,
                                         PackageNotFoundError)
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, LogInfo, OpaqueFunction,
                            SetEnvironmentVariable, Shutdown)
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from hilserl.dds import dds_environment
from hilserl.graph import NodeSpec
from hilserl.modes import MODES


def config_path(file_name: str) -> str:
    """Return the installed path of a parameter file under ``share/hilserl/config``."""
    return os.path.join(get_package_share_directory('hilserl'), 'config', file_name)


def shutdown_if_mode_stops(spec: NodeSpec):
    """Return the ``on_exit`` callback that applies :meth:`NodeSpec.exit_stops_mode`."""
    def on_exit(event, context):
        if spec.exit_stops_mode(event.returncode):
            return Shutdown(reason=f'{spec.full_name} exited with status {event.returncode}')
        return None
    return on_exit


def launch_node(spec: NodeSpec):
    """Return the launch_ros Node action that starts ``spec`` (a notice if it is skipped)."""
    if spec.optional:
        try:
            get_package_prefix(spec.package)
        except PackageNotFoundError:
            return LogInfo(msg=f'skipping {spec.full_name}: {spec.package} is not installed')
    parameters = [config_path(name) for name in spec.parameter_files]
    if spec.parameters:
        parameters.append(dict(spec.parameters))
    # Unset: launch's own default (the sigterm_timeout / sigkill_timeout launch
    # configurations, 5 s each unless given on the command line).
    timeouts = {name: str(value) for name, value in (('sigterm_timeout', spec.sigterm_timeout),
                                                     ('sigkill_timeout', spec.sigkill_timeout))
                if value is not None}
    return Node(
        package=spec.package,
        executable=spec.executable,
        name=spec.name,
        namespace=spec.namespace or None,
        parameters=parameters,
        remappings=list(spec.remappings),
        arguments=list(spec.arguments),
        output='screen',
        emulate_tty=True,
        on_exit=shutdown_if_mode_stops(spec),
        **timeouts,
    )


def generate_mode_launch_description(mode_name: str) -> LaunchDescription:
    """Declare the mode's arguments and start its nodes once they are known."""
    mode = MODES[mode_name]

    def nodes_for_context(context):
        values = {argument.name: LaunchConfiguration(argument.name).perform(context)
                  for argument in mode.arguments}
        return [launch_node(spec) for spec in mode.nodes(values)]

    declarations = [
        DeclareLaunchArgument(argument.name, default_value=argument.default,
                              description=argument.description,
                              **({'choices': list(argument.choices)} if argument.choices else {}))
        for argument in mode.arguments]
    config_dir = os.path.join(get_package_share_directory('hilserl'), 'config')
    environment = [SetEnvironmentVariable(name, value)
                   for name, value in dds_environment(config_dir).items()]
    return LaunchDescription(
        declarations + environment + [OpaqueFunction(function=nodes_for_context)])
