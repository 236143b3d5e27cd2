"""
Start a mode's nodes as processes without the ROS launch packages.

``hilserl launch <mode> name:=value ...`` does what ``ros2 launch hilserl
<mode>.launch.py`` does on a full ROS install, from the same node graph and
parameter files: every node in its own process, output prefixed with the node
name, a required node's exit or Ctrl-C shuts everything down, and no child
process is left behind.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence

from ament_index_python.packages import (PackageNotFoundError, get_package_prefix,
                                         get_package_share_directory)

from hilserl.dds import dds_environment
from hilserl.graph import GraphError, Mode, NodeSpec

# Seconds a node gets to exit after SIGINT, then after SIGTERM, before SIGKILL.
# Exit status of a mode stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report).
EXIT_INTERRUPTED = 130
GRACE_PERIODS_S = (5.0, 2.0)


def executable_path(package: str, executable: str) -> str:
    """Return ``<prefix>/lib/<package>/<executable>``, as ``ros2 run`` finds it."""
    try:
        prefix = get_package_prefix(package)
    except PackageNotFoundError:
        raise GraphError(f"package '{package}' is not installed; build the workspace and "
                         'source install/setup.bash') from None
    path = os.path.join(prefix, 'lib', package, executable)
    if not os.access(path, os.X_OK):
        raise GraphError(f"package '{package}' has no executable '{executable}' ({path})")
    return path


def is_installed(package: str) -> bool:
    """Return whether ``package`` is in the ament index."""
    try:
        get_package_prefix(package)
    except PackageNotFoundError:
        return False
    return True


def node_command(spec: NodeSpec) -> List[str]:
    """Return the command line that starts ``spec`` with its name, parameters and remappings."""
    config_dir = os.path.join(get_package_share_directory('hilserl'), 'config')
    command = [executable_path(spec.package, spec.executable), *spec.arguments, '--ros-args',
               '-r', f'__node:={spec.name}']
    if spec.namespace:
        command += ['-r', f"__ns:=/{spec.namespace.strip('/')}"]
    for file_name in spec.parameter_files:
        path = os.path.join(config_dir, file_name)
        if not os.path.isfile(path):
            raise GraphError(f'parameter file {path} does not exist')
        command += ['--params-file', path]
    for name, value in spec.parameters.items():
        # JSON is YAML too, and unlike yaml.dump it writes a scalar on one line.
        command += ['-p', f'{name}:={json.dumps(value)}']
    for source, target in spec.remappings:
        command += ['-r', f'{source}:={target}']
    return command


class _NodeProcess:
    def __init__(self, spec: NodeSpec, command: Sequence[str], env: Dict[str, str], output):
        self.spec = spec
        self.label = spec.full_name.lstrip('/').replace('/', '.')
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True, text=True, bufsize=1)
        self._pump = threading.Thread(target=self._copy_output, args=(output,), daemon=True)
        self._pump.start()

    def _copy_output(self, output) -> None:
        for line in self.process.stdout:
            output.write(f'[{self.label}] {line}')
            output.flush()

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def finish(self) -> None:
        self._pump.join(timeout=2.0)


class GraphRunner:
    """Run a mode's node processes until a required one exits or we are told to stop."""

    def __init__(self, mode: Mode, arguments: Dict[str, str], output=sys.stdout):
        """Resolve every node's command now, so a bad graph fails before anything starts."""
        self.mode = mode
        self._output = output
        self._specs = []
        for spec in mode.nodes(arguments):
            if spec.optional and not is_installed(spec.package):
                self._say(f'skipping {spec.full_name}: package {spec.package} is not installed')
                continue
            self._specs.append(spec)
        self._commands = [node_command(spec) for spec in self._specs]
        config_dir = os.path.join(get_package_share_directory('hilserl'), 'config')
        # Colour and unbuffered logs, as `ros2 launch` gives with emulate_tty.
        self._env = dict(os.environ, RCUTILS_COLORIZED_OUTPUT=os.environ.get(
            'RCUTILS_COLORIZED_OUTPUT', '1' if output.isatty() else '0'),
            PYTHONUNBUFFERED='1', **dds_environment(config_dir))
        self._processes: List[_NodeProcess] = []
        self._stop = threading.Event()
        self.interrupted = False

    def _say(self, message: str) -> None:
        self._output.write(f'[hilserl launch] {message}\n')
        self._output.flush()

    def request_stop(self, signum=None, _frame=None) -> None:
        """Ask the runner to shut the graph down (signal-handler compatible)."""
        self.interrupted = self.interrupted or signum is not None
        self._stop.set()

    def run(self) -> int:
        """Start every node, supervise them, and return an exit status."""
        failed = False
        try:
            for spec, command in zip(self._specs, self._commands):
                self._processes.append(_NodeProcess(spec, command, self._env, self._output))
                self._say(f'started {spec.full_name} [pid {self._processes[-1].process.pid}]')
            running = list(self._processes)
            while running and not self._stop.is_set():
                for node in list(running):
                    code = node.process.poll()
                    if code is None:
                        continue
                    running.remove(node)
                    if code != 0:
                        failed = True
                        self._say(f'{node.spec.full_name} died with exit code {code}')
                    if node.spec.exit_stops_mode(code):
                        self._say(f'{node.spec.full_name} exited; shutting down')
                        self._stop.set()
                self._stop.wait(0.1)
        finally:
            self.shutdown()
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 1 if failed else 0

    def shutdown(self) -> None:
        """Stop every node: SIGINT, then SIGTERM, then SIGKILL, waiting in between."""
        for signum, grace_s in zip((signal.SIGINT, signal.SIGTERM), GRACE_PERIODS_S):
            alive = [node for node in self._processes if node.process.poll() is None]
            for node in alive:
                node.signal(signum)
            deadline = time.monotonic() + grace_s
            for node in alive:
                try:
                    node.process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        for node in self._processes:
            if node.process.poll() is None:
                self._say(f'{node.spec.full_name} ignored SIGINT and SIGTERM; killing it')
                node.signal(signal.SIGKILL)
                node.process.wait()
            node.finish()


def run_mode(mode: Mode, arguments: Dict[str, str], output=sys.stdout) -> int:
    """
    Run ``mode`` in the foreground; Ctrl-C or SIGTERM shut it down cleanly.

    Return 0 when its required node finished, 1 when a node failed, and
    ``EXIT_INTERRUPTED`` when a signal stopped it (so that a caller running several
    modes in a row stops too).
    """
    runner = GraphRunner(mode, arguments, output)
    previous: Dict[int, Optional[object]] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, runner.request_stop)
    try:
        return runner.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
