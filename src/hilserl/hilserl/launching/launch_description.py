"""
Turn a :mod:`hilserl.launching.modes` mode into a launch_ros LaunchDescription.

Imported only by ``launch/*.launch.py`` on a ROS install; the pip-only runner
does not need the launch packages.

Managed nodes (:attr:`hilserl.launching.graph.NodeSpec.lifecycle`) are launch_ros
``LifecycleNode`` actions started with ``autostart:=false`` and brought up in graph
order by lifecycle events, as ``hilserl launch`` does: the first is configured, each
is activated once it is inactive, and the next is configured once it is active. One
that fails to configure or activate shuts the launch down.
"""

import os

from ament_index_python.packages import (get_package_prefix, get_package_share_directory,
                                         PackageNotFoundError)
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction,
                            RegisterEventHandler, SetEnvironmentVariable, Shutdown)
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState, StateTransition
from lifecycle_msgs.msg import Transition

from hilserl.launching.graph import NodeSpec
from hilserl.launching.modes import MODES
from hilserl.transport.dds import dds_environment


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
    if spec.node_parameters():
        parameters.append(spec.node_parameters())
    # Unset: launch's own default (the sigterm_timeout / sigkill_timeout launch
    # configurations, 5 s each unless given on the command line).
    timeouts = {name: str(value) for name, value in (('sigterm_timeout', spec.sigterm_timeout),
                                                     ('sigkill_timeout', spec.sigkill_timeout))
                if value is not None}
    options = dict(
        package=spec.package,
        executable=spec.executable,
        name=spec.name,
        parameters=parameters,
        remappings=list(spec.remappings),
        arguments=list(spec.arguments),
        output='screen',
        emulate_tty=True,
        on_exit=shutdown_if_mode_stops(spec),
        **timeouts,
    )
    if spec.lifecycle:
        return LifecycleNode(namespace=spec.namespace, **options)
    return Node(namespace=spec.namespace or None, **options)


def change_state(node: LifecycleNode, transition_id: int) -> EmitEvent:
    """Return the action that asks the managed ``node`` for a transition."""
    return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                       transition_id=transition_id))


# (from, to) of a configure or activate transition that did not succeed.
_FAILED = {('configuring', 'unconfigured'), ('configuring', 'errorprocessing'),
           ('activating', 'inactive'), ('activating', 'errorprocessing')}


def bring_up_in_order(managed):
    """
    Return the actions that bring ``managed`` ((spec, LifecycleNode) pairs) up in order.

    Put them after the node actions. A node's failure stops the launch until it is
    active; afterwards its transitions are the user's (``ros2 lifecycle set``).
    """
    actions = []
    for index, (spec, node) in enumerate(managed):
        failure = OnStateTransition(
            matcher=lambda event, node=node: (
                isinstance(event, StateTransition) and event.action is node
                and (event.start_state, event.goal_state) in _FAILED),
            entities=[Shutdown(reason=f'{spec.full_name} could not be configured and '
                                      'activated')],
            handle_once=True)

        def forget(context, failure=failure):
            try:
                context.unregister_event_handler(failure)
            except ValueError:   # already gone
                pass
        when_active = [OpaqueFunction(function=forget)]
        if index + 1 < len(managed):
            when_active.append(change_state(managed[index + 1][1],
                                            Transition.TRANSITION_CONFIGURE))
        actions += [
            RegisterEventHandler(failure),
            RegisterEventHandler(OnStateTransition(
                target_lifecycle_node=node, start_state='configuring', goal_state='inactive',
                entities=[change_state(node, Transition.TRANSITION_ACTIVATE)],
                handle_once=True)),
            RegisterEventHandler(OnStateTransition(
                target_lifecycle_node=node, start_state='activating', goal_state='active',
                entities=when_active, handle_once=True)),
        ]
    if managed:
        actions.append(change_state(managed[0][1], Transition.TRANSITION_CONFIGURE))
    return actions


def generate_mode_launch_description(mode_name: str) -> LaunchDescription:
    """Declare the mode's arguments and start its nodes once they are known."""
    mode = MODES[mode_name]

    def nodes_for_context(context):
        values = {argument.name: LaunchConfiguration(argument.name).perform(context)
                  for argument in mode.arguments}
        specs = mode.nodes(values)
        actions = [launch_node(spec) for spec in specs]
        managed = [(spec, action) for spec, action in zip(specs, actions)
                   if isinstance(action, LifecycleNode)]
        return actions + bring_up_in_order(managed)

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
