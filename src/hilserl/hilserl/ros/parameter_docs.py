"""
What each node executable declares: its parameters read from the node itself, for docs/.

:func:`collect` starts every node class of the installed executables (the
``console_scripts`` of ``hilserl`` and ``hilserl_so100_driver`` that live in a
``nodes`` module) in this process, one after another, and reads back what it
declared: name, type, description and read-only flag as ``ros2 param describe``
reports them, and the default the node passed to ``declare_parameter`` (not the
value a start override gave it). A node is started as ``ros2 run`` would start it,
with these differences, which the page states: the values of :data:`START_VALUES`
(a scratch directory or file where a node needs one, ``autostart:=false`` so a
managed node stays unconfigured and opens no hardware, ``run_own_episodes:=true``
so the scripted human declares the parameters of its own episodes), stdin is a
pseudo-terminal (the teleop nodes read keys from one), and discovery is off, so
nothing on a running graph sees these nodes. Nodes are created, never spun, then
destroyed; what they print or log is not shown. The page itself is written by
:mod:`hilserl.ros.parameter_page`.
"""

import contextlib
from dataclasses import dataclass
import importlib
import importlib.metadata
import inspect
import io
import os
import pty
import shutil
import sys
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from rcl_interfaces.msg import ParameterValue
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter, parameter_value_to_python

from hilserl.ros.parameter_page import NodeParameters, ParameterInfo

# The packages whose node executables are documented, in page order.
PACKAGES = ('hilserl', 'hilserl_so100_driver')


class ParameterDocsError(Exception):
    """A node that cannot be started or read for the page; the message is one line."""


@dataclass(frozen=True)
class StartValue:
    """A parameter value a node is started with for the page: ``make(scratch_dir)``."""

    name: str
    shown: str   # how the page says it, e.g. '`autostart:=false`'
    make: Callable[[str], Any]


def _constant(value) -> Callable[[str], Any]:
    return lambda _scratch: value


def _scratch_path(name: str) -> Callable[[str], str]:
    return lambda scratch: os.path.join(scratch, name)


def _robot_file_copy(scratch: str) -> str:
    """Copy the so101 robot file into ``scratch`` (the joint limit finder writes into it)."""
    from hilserl.arm.robot_registry import robot_file_path
    copy = os.path.join(scratch, 'so101.yaml')
    shutil.copyfile(robot_file_path('so101'), copy)
    return copy


def _default_robot_parameter(name: str) -> Callable[[str], Any]:
    """Return a maker of the safety filter's parameter ``name`` for the default robot."""
    def make(_scratch):
        from hilserl.arm.robot_registry import default_robot, load_robot
        return load_robot(default_robot()).safety_filter_parameters()[name]
    return make


def _untrained_classifier(scratch: str) -> str:
    """Save an untrained reward classifier (the default architecture) under ``scratch``."""
    from hilserl_learning.reward_classifier import (ClassifierConfig, RewardClassifier,
                                                    save_classifier)
    directory = os.path.join(scratch, 'classifier')
    save_classifier(RewardClassifier(ClassifierConfig(), threshold=0.5), directory)
    return directory


# The safety filter and the leader teleop need a description and a TCP frame.
_DEFAULT_ROBOT_GEOMETRY = tuple(StartValue(name, f'`{name}` of the default robot file',
                                           _default_robot_parameter(name))
                                for name in ('robot_description_path', 'tcp_frame'))
_UNCONFIGURED = (StartValue('autostart', '`autostart:=false`', _constant(False)),)
_NEW_DIRECTORY = 'set to a new directory'
START_VALUES: Dict[str, Sequence[StartValue]] = {
    'actor': _UNCONFIGURED,
    'camera_publisher': _UNCONFIGURED,
    'so100_follower': _UNCONFIGURED,
    'episode_recorder': (StartValue('dataset_dir', f'`dataset_dir` {_NEW_DIRECTORY}',
                                    _scratch_path('dataset')),),
    'find_joint_limits': (StartValue(
        'safety_params_file', '`safety_params_file` set to a copy of the so101 robot file',
        _robot_file_copy),),
    'learner': (StartValue('run_dir', f'`run_dir` {_NEW_DIRECTORY}', _scratch_path('run')),),
    'reward_classifier': (StartValue(
        'model_path', '`model_path` set to an untrained classifier', _untrained_classifier),),
    'scripted_human': (StartValue('run_own_episodes', '`run_own_episodes:=true`',
                                  _constant(True)),),
    'safety_filter': _DEFAULT_ROBOT_GEOMETRY,
    'leader_teleop': _DEFAULT_ROBOT_GEOMETRY,
    'sim_arm': (StartValue('render_cameras', '`render_cameras:=false`', _constant(False)),),
}


@dataclass(frozen=True)
class Executable:
    """A node executable: its package, name and the ``module:function`` it runs."""

    package: str
    name: str
    target: str


def node_executables(packages: Sequence[str] = PACKAGES) -> List[Executable]:
    """Return the installed node executables of ``packages``, sorted by name per package."""
    found = []
    for package in packages:
        try:
            entry_points = importlib.metadata.distribution(package).entry_points
        except importlib.metadata.PackageNotFoundError:
            raise ParameterDocsError(f'{package} is not installed (build the workspace: '
                                     'colcon build --symlink-install)') from None
        executables = (Executable(package, entry.name, _target(entry))
                       for entry in entry_points if entry.group == 'console_scripts')
        found.extend(sorted((executable for executable in executables
                             if '.nodes.' in executable.target.partition(':')[0]),
                            key=lambda executable: executable.name))
    return found


def _target(entry: importlib.metadata.EntryPoint) -> str:
    """Return the ``module:function`` an entry point runs, behind its console script."""
    # The console scripts are hilserl_common.entry.console_script functions (in a light
    # module, imported here), which name the module they import and run.
    return getattr(entry.load(), 'target', entry.value)


def node_class(executable: Executable) -> type:
    """Return the one Node subclass defined in the executable's module."""
    module_name = executable.target.partition(':')[0]
    module = importlib.import_module(module_name)
    classes = [value for value in vars(module).values()
               if inspect.isclass(value) and issubclass(value, Node)
               and value.__module__ == module_name]
    if len(classes) != 1:
        raise ParameterDocsError(f'{executable.name}: {module_name} defines '
                                 f'{len(classes)} Node classes, not one')
    return classes[0]


def _recording(cls: type, defaults: Dict[str, Any]) -> type:
    """Return a subclass of ``cls`` that notes the default of each parameter it declares."""
    def declare_parameters(self, namespace, parameters, ignore_override=False):
        # declare_parameter comes here too, with [(name, value, descriptor)].
        for declared in parameters:
            name = f'{namespace}.{declared[0]}' if namespace else declared[0]
            defaults[name] = declared[1] if len(declared) > 1 else None
        return cls.declare_parameters(self, namespace, parameters, ignore_override)
    return type(cls.__name__, (cls,), {'declare_parameters': declare_parameters})


@contextlib.contextmanager
def _terminal_stdin() -> Iterator[None]:
    """Make ``sys.stdin`` a fresh pseudo-terminal for the duration."""
    leader, follower = pty.openpty()
    saved = sys.stdin
    try:
        with open(follower, 'r', closefd=True) as terminal:
            sys.stdin = terminal
            yield
    finally:
        sys.stdin = saved
        os.close(leader)


@contextlib.contextmanager
def _discovery_off() -> Iterator[None]:
    """Keep the nodes started here off every graph (ROS_AUTOMATIC_DISCOVERY_RANGE=OFF)."""
    saved = {name: os.environ.get(name)
             for name in ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_STATIC_PEERS')}
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'OFF'
    os.environ.pop('ROS_STATIC_PEERS', None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _describe(executable: Executable, context, scratch: str,
              framework: frozenset) -> NodeParameters:
    """Start the executable's node, read what it declared, destroy it."""
    starts = START_VALUES.get(executable.name, ())
    scratch = os.path.join(scratch, executable.name)
    os.makedirs(scratch)
    overrides = [Parameter(start.name, value=start.make(scratch)) for start in starts]
    defaults: Dict[str, Any] = {}
    cls = _recording(node_class(executable), defaults)
    node = None
    said = io.StringIO()   # what the node prints (help lines, status), not for this page
    try:
        with _terminal_stdin(), contextlib.redirect_stdout(said), \
                contextlib.redirect_stderr(said):
            try:
                node = cls(context=context, parameter_overrides=overrides)
            except Exception as error:
                raise ParameterDocsError(f'{executable.name} did not start: '
                                         f'{type(error).__name__}: {error}') from None
            names = [name for name in defaults if name not in framework]
            descriptors = node.describe_parameters(names)
            node_name = node.get_fully_qualified_name()
    finally:
        if node is not None:
            with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                node.destroy_node()
    parameters = tuple(
        ParameterInfo(name=name, type=descriptor.type, default=_plain(defaults[name]),
                      description=descriptor.description, read_only=descriptor.read_only)
        for name, descriptor in zip(names, descriptors))
    return NodeParameters(package=executable.package, executable=executable.name,
                          node_name=node_name, parameters=parameters,
                          started_with=tuple(start.shown for start in starts))


def _plain(default) -> Any:
    """Return a declared default as a plain value (None: declared by type, no value)."""
    if isinstance(default, Parameter.Type) or default is None:
        return None
    if isinstance(default, ParameterValue):
        return _plain(parameter_value_to_python(default))
    return list(default) if isinstance(default, (list, tuple)) else default


def collect(executables: Optional[Sequence[str]] = None) -> List[NodeParameters]:
    """
    Start each node executable (all, or those named) and return what it declares.

    Raise ParameterDocsError for an unknown executable or a node that does not start.
    """
    found = node_executables()
    if executables is not None:
        unknown = sorted(set(executables) - {executable.name for executable in found})
        if unknown:
            raise ParameterDocsError(f"no node executable {', '.join(unknown)}; the nodes "
                                     f"are {', '.join(e.name for e in found)}")
        found = [executable for executable in found if executable.name in executables]
    with _discovery_off(), tempfile.TemporaryDirectory(prefix='hilserl_docs_') as scratch:
        context = rclpy.Context()
        # Quiet: a driver's failure to open its port is expected here.
        rclpy.init(context=context, args=['--ros-args', '--log-level', 'fatal'])
        try:
            framework: Dict[str, Any] = {}   # rclpy's own parameters, e.g. use_sim_time
            _recording(Node, framework)('parameter_docs', context=context).destroy_node()
            return [_describe(executable, context, scratch, frozenset(framework))
                    for executable in found]
        finally:
            rclpy.try_shutdown(context=context)
