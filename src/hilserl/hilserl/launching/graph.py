"""
The node graph of each mode, described once as plain data; no ROS import.

``launch/<mode>.launch.py`` turns a :class:`Mode` into launch_ros actions
(:mod:`hilserl.launching.launch_description`), and ``hilserl launch <mode>`` turns the
same description into processes on machines without the launch package
(:mod:`hilserl.launching.runner`). Both read the parameter files under ``config/``.
"""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

# EXIT_BAD_CONFIG: the exit status of a node that refused its configuration (sysexits'
# EX_CONFIG), with which the nodes exit through hilserl_common.node_support.run_node.
from hilserl_common import EXIT_BAD_CONFIG

# How a mode stops a node, as launch's ExecuteProcess does: SIGINT (unless the node got
# it from the terminal), SIGTERM sigterm_timeout seconds later if it is still running,
# SIGKILL sigkill_timeout seconds after that. launch's defaults:
DEFAULT_SIGTERM_TIMEOUT_S = 5.0
DEFAULT_SIGKILL_TIMEOUT_S = 5.0


class GraphError(ValueError):
    """A mode or argument that does not exist or does not fit."""


@dataclass(frozen=True)
class LaunchArgument:
    """
    A ``name:=value`` argument of a mode, as ``DeclareLaunchArgument`` declares it.

    ``default_value`` is the default, or a function that returns it: a default read from
    a file (the registry's default robot) is read when it is needed, not when the modes
    are imported.
    """

    name: str
    default_value: Union[str, Callable[[], str]]
    description: str
    choices: Tuple[str, ...] = ()

    @property
    def default(self) -> str:
        """Return the default value (asking its function now, if it has one)."""
        value = self.default_value
        return value() if callable(value) else value


@dataclass(frozen=True)
class NodeSpec:
    """One node process of a mode."""

    executable: str
    name: str
    package: str = 'hilserl'
    namespace: str = ''
    # File names under the hilserl share directory's config/ folder, applied in order.
    parameter_files: Tuple[str, ...] = ()
    # Values applied after the files, e.g. from launch arguments.
    parameters: Mapping[str, object] = field(default_factory=dict)
    remappings: Tuple[Tuple[str, str], ...] = ()
    # Command-line arguments before --ros-args (e.g. rviz2's -d <config>).
    arguments: Tuple[str, ...] = ()
    # When a required node exits, the whole mode shuts down (launch's on_exit=Shutdown()).
    required: bool = False
    # An optional node (rviz2, robot_state_publisher) is skipped with a notice when its
    # package is not installed; the suite never needs it.
    optional: bool = False
    # Seconds from SIGINT to SIGTERM, and from SIGTERM to SIGKILL, when the mode stops;
    # None: launch's default (5 s, or a `sigterm_timeout:=` given to ros2 launch). A node
    # whose cleanup takes longer (the learner's final checkpoint) sets more.
    sigterm_timeout: Optional[float] = None
    sigkill_timeout: Optional[float] = None
    # A managed (lifecycle) node: started with autostart:=false, then configured and
    # activated by the launcher, one after another in graph order (a driver before the
    # actor that commands it). The mode that builds the spec sets it: the robot file's
    # driver.managed for a driver, always for hilserl's camera_publisher and actor. A
    # NodeSpec made by hand (a test) keeps the node's own autostart.
    lifecycle: bool = False

    def node_parameters(self) -> Dict[str, object]:
        """Return the values applied after the files: ``parameters``, and a managed node's."""
        if self.lifecycle:
            return {**self.parameters, 'autostart': False}
        return dict(self.parameters)

    def exit_stops_mode(self, returncode: int) -> bool:
        """
        Return whether this node exiting with ``returncode`` must stop its whole mode.

        A required node always does; any node that refused its configuration does too,
        since the others would wait for it forever (a learner that cannot resume, say).
        """
        return self.required or returncode == EXIT_BAD_CONFIG

    def stop_timeouts(self) -> Tuple[float, float]:
        """Return ``(sigterm_timeout, sigkill_timeout)`` in seconds, defaults applied."""
        return (DEFAULT_SIGTERM_TIMEOUT_S if self.sigterm_timeout is None
                else self.sigterm_timeout,
                DEFAULT_SIGKILL_TIMEOUT_S if self.sigkill_timeout is None
                else self.sigkill_timeout)

    @property
    def full_name(self) -> str:
        """Return the node's fully qualified name, e.g. ``/front/camera``."""
        namespace = self.namespace.strip('/')
        return f'/{namespace}/{self.name}' if namespace else f'/{self.name}'


@dataclass(frozen=True)
class Mode:
    """A named set of nodes with the arguments that shape it."""

    name: str
    description: str
    arguments: Tuple[LaunchArgument, ...]
    build: Callable[[Dict[str, str]], List[NodeSpec]]

    def resolve_arguments(self, given: Mapping[str, str]) -> Dict[str, str]:
        """Return every argument's value: ``given`` ones checked, the rest defaulted."""
        known = {argument.name: argument for argument in self.arguments}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise GraphError(
                f"mode '{self.name}' has no argument {', '.join(unknown)}; "
                f"it takes: {', '.join(known) or 'none'}")
        values = {}
        for name, argument in known.items():
            value = str(given[name]) if name in given else argument.default
            if argument.choices and value not in argument.choices:
                raise GraphError(f"{name}:={value} is not one of {', '.join(argument.choices)}")
            values[name] = value
        return values

    def nodes(self, given: Mapping[str, str]) -> List[NodeSpec]:
        """Return the mode's nodes for the given argument values."""
        return self.build(self.resolve_arguments(given))


def parse_assignments(words: Sequence[str]) -> Dict[str, str]:
    """Parse ``name:=value`` words as ``ros2 launch`` does."""
    values = {}
    for word in words:
        name, separator, value = word.partition(':=')
        if not separator or not name:
            raise GraphError(f"expected name:=value, got '{word}'")
        values[name] = value
    return values


def argument_as_float(values: Mapping[str, str], name: str) -> float:
    """Return argument ``name`` as a number, or a clear error."""
    try:
        return float(values[name])
    except ValueError:
        raise GraphError(f"{name}:={values[name]} is not a number") from None
