"""
Start a mode's nodes as processes without the ROS launch packages.

``hilserl launch <mode> name:=value ...`` does what ``ros2 launch hilserl
<mode>.launch.py`` does on a full ROS install, from the same node graph and
parameter files: every node in its own process, output prefixed with the node
name, a required node's exit or Ctrl-C shuts everything down, and no node
process is left behind.

It stops the nodes with launch's signal sequence (launch.LaunchService and
launch.actions.ExecuteLocal), so that what is tested here is what ``ros2 launch``
users see. The nodes run in the runner's process group, as under launch, so a
terminal's Ctrl-C reaches every one of them. When the mode stops, each node still
running gets SIGINT, except after a SIGINT in interactive use (stdin is a terminal:
the nodes got the terminal's already); ``--noninteractive`` (the default without
a terminal) sends it anyway, as ``ros2 launch`` does. A node still running
``sigterm_timeout`` seconds later gets SIGTERM, and SIGKILL ``sigkill_timeout``
seconds after that (:meth:`hilserl.launching.graph.NodeSpec.stop_timeouts`). Further
signals to the runner while the nodes stop are reported and ignored. Unlike
``ros2 launch``, whose SIGTERM leaves its nodes running, the runner treats its
own SIGTERM as a stop: the nodes get SIGINT and the same escalation.

Managed (lifecycle) nodes (:attr:`hilserl.launching.graph.NodeSpec.lifecycle`) start with
``autostart:=false``; once every node is started, ``hilserl lifecycle up`` configures
and activates them one after another in graph order (output prefixed
``[lifecycle]``), as the launch files' lifecycle events do. If one of them cannot be
brought up, the mode stops with its reason.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, TextIO

from ament_index_python.packages import (PackageNotFoundError, get_package_prefix,
                                         get_package_share_directory)

from hilserl.launching.graph import GraphError, Mode, NodeSpec
from hilserl_common import EXIT_INTERRUPTED
from hilserl_common.stop_signals import signal_name, STOP_SIGNALS
from hilserl.transport.dds import dds_environment

POLL_PERIOD_S = 0.05
# How long `hilserl lifecycle up` waits for each managed node's services to appear: a
# node may take a while to start on a loaded machine (the actor imports torch).
LIFECYCLE_WAIT_S = 120.0
# The bring-up's process, in the runner's output and stop sequence like a node's.
BRING_UP = NodeSpec('hilserl', 'lifecycle')


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
    for name, value in spec.node_parameters().items():
        # JSON is YAML too, and unlike yaml.dump it writes a scalar on one line.
        command += ['-p', f'{name}:={json.dumps(value)}']
    for source, target in spec.remappings:
        command += ['-r', f'{source}:={target}']
    return command


def bring_up_command(names: Sequence[str]) -> List[str]:
    """Return the command that configures and activates the managed nodes ``names``."""
    return [sys.executable, '-m', 'hilserl', 'lifecycle', 'up', '--wait',
            f'{LIFECYCLE_WAIT_S:g}', *names]


def stdin_is_terminal() -> bool:
    """Return whether stdin is a terminal: ``ros2 launch`` is interactive then."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):   # closed or detached
        return False


def catches_signal(pid: int, signum: int) -> bool:
    """
    Return whether process ``pid`` has a handler for ``signum`` (Linux: /proc/PID/status).

    SIGUSR1 kills a process that does not handle it, so the runner asks it of those
    that do (our nodes: run_node registers one) and of no other; False where /proc
    cannot tell.
    """
    try:
        with open(f'/proc/{pid}/status', encoding='ascii') as status:
            for line in status:
                if line.startswith('SigCgt:'):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


class _NodeProcess:
    """One node's process, its output pump and its place in the stop sequence."""

    def __init__(self, spec: NodeSpec, command: Sequence[str], env: Dict[str, str], output):
        self.spec = spec
        self.label = spec.full_name.lstrip('/').replace('/', '.')
        # In the runner's process group, as launch starts its processes.
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, text=True, bufsize=1)
        self.reported = False
        self.escalation: List[tuple] = []   # (when, signal, why) still to send while stopping
        self._pump = threading.Thread(target=self._copy_output, args=(output,), daemon=True)
        self._pump.start()

    def _copy_output(self, output) -> None:
        for line in self.process.stdout:
            output.write(f'[{self.label}] {line}')
            output.flush()

    def signal(self, signum: int) -> None:
        """Send ``signum`` to this node's process (not to its group: that is the runner's)."""
        if self.process.poll() is None:
            try:
                self.process.send_signal(signum)
            except ProcessLookupError:
                pass

    def finish(self) -> None:
        self._pump.join(timeout=2.0)


class GraphRunner:
    """Run a mode's node processes until a required one exits or we are told to stop."""

    def __init__(self, mode: Mode, arguments: Dict[str, str], output: TextIO = sys.stdout,
                 interactive: Optional[bool] = None):
        """
        Resolve every node's command now, so a bad graph fails before anything starts.

        ``interactive`` None: whether stdin is a terminal, as ``ros2 launch`` decides.
        """
        self.mode = mode
        self.interactive = stdin_is_terminal() if interactive is None else interactive
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
        self._managed = [spec.full_name for spec in self._specs if spec.lifecycle]
        self._bring_up: Optional[_NodeProcess] = None
        # Appended by request_stop, read by the loop, which polls: a signal handler that
        # set a threading.Event could deadlock on the lock the interrupted wait holds.
        self._signals: List[int] = []
        self._signals_seen = 0
        self.failed = False

    @property
    def interrupted(self) -> bool:
        """Return whether a signal (or :meth:`request_stop`) stopped the mode."""
        return bool(self._signals)

    def _say(self, message: str) -> None:
        self._output.write(f'[hilserl launch] {message}\n')
        self._output.flush()

    def request_stop(self, signum: int = signal.SIGINT, _frame=None) -> None:
        """
        Stop the mode as that signal to the runner does (a signal handler).

        It only takes note: the supervising loop acts, and reports, on its own thread.
        """
        self._signals.append(signum)

    def run(self) -> int:
        """Start every node, supervise them, and return an exit status."""
        try:
            for spec, command in zip(self._specs, self._commands):
                if self._signals:
                    break
                self._processes.append(_NodeProcess(spec, command, self._env, self._output))
                self._say(f'started {spec.full_name} [pid {self._processes[-1].process.pid}]')
            if self._managed and not self._signals:
                self._bring_up = _NodeProcess(BRING_UP, bring_up_command(self._managed),
                                              self._env, self._output)
                self._say('configuring and activating the managed nodes in order: '
                          + ' '.join(self._managed))
            self._supervise()
        finally:
            self.shutdown()
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 1 if self.failed else 0

    def _supervise(self) -> None:
        """Return when a stop was asked for, a node's exit stops the mode, or none is left."""
        while not self._signals:
            running = False
            for node in self._processes:
                code = node.process.poll()
                if code is None:
                    running = True
                elif not node.reported:
                    self._report_exit(node, code)
                    if node.spec.exit_stops_mode(code):
                        self._say(f'{node.spec.full_name} exited; shutting down')
                        return
            if not running or not self._bring_up_went_well():
                return
            time.sleep(POLL_PERIOD_S)

    def _bring_up_went_well(self) -> bool:
        """Say when the managed nodes are up; return False if bringing them up failed."""
        helper = self._bring_up
        if helper is None or helper.reported:
            return True
        code = helper.process.poll()
        if code is None:
            return True
        helper.reported = True
        if code == 0:
            self._say('managed nodes active')
            return True
        self.failed = True
        self._say(f'the managed nodes could not be brought up (hilserl lifecycle exit status '
                  f'{code}); shutting down')
        return False

    def _report_exit(self, node: _NodeProcess, code: int) -> None:
        node.reported = True
        pid = node.process.pid
        if code == 0:
            self._say(f'{node.spec.full_name} finished cleanly [pid {pid}]')
        else:
            self.failed = True
            self._say(f'{node.spec.full_name} died with exit code {code} [pid {pid}]')

    def _report_new_signals(self) -> None:
        """Say what each signal that came since the last call does (the first: a stop)."""
        while self._signals_seen < len(self._signals):
            signum = self._signals[self._signals_seen]
            name = signal_name(signum)
            if self._signals_seen == 0:
                how = ('the nodes got it from the terminal' if self._sigint_from_terminal()
                       else 'sending SIGINT to every node')
                self._say(f'{name}: stopping the mode; {how}')
            else:
                again = ' again' if signum in self._signals[:self._signals_seen] else ''
                self._say(f'{name}{again}: ignored, the nodes are stopping (each gets '
                          'SIGTERM after its sigterm_timeout, then SIGKILL)')
            self._signals_seen += 1

    def _sigint_from_terminal(self) -> bool:
        """Return whether the nodes got the stopping SIGINT from the terminal themselves."""
        return self.interactive and self._signals[:1] == [signal.SIGINT]

    def shutdown(self) -> None:
        """Stop every node still running: SIGINT, then SIGTERM, then SIGKILL, on their timers."""
        self._report_new_signals()
        now = time.monotonic()
        send_sigint = not self._sigint_from_terminal()
        helper = [] if self._bring_up is None else [self._bring_up]
        for node in self._processes + helper:
            if node.process.poll() is not None:
                continue
            sigterm_s, sigkill_s = node.spec.stop_timeouts()
            node.escalation = [(now + sigterm_s, signal.SIGTERM, f'{sigterm_s:g} s after SIGINT'),
                               (now + sigterm_s + sigkill_s, signal.SIGKILL,
                                f'{sigkill_s:g} s after SIGTERM')]
            if send_sigint:
                node.signal(signal.SIGINT)
        while True:
            self._report_new_signals()
            running = False
            for node in self._processes + helper:
                code = node.process.poll()
                if code is not None:
                    if not node.reported and node is not self._bring_up:
                        self._report_exit(node, code)
                    continue
                running = True
                if node.escalation and time.monotonic() >= node.escalation[0][0]:
                    _, signum, waited = node.escalation.pop(0)
                    self._say(f'{node.spec.full_name} still running {waited}: sending '
                              f'{signal_name(signum)}')
                    if catches_signal(node.process.pid, signal.SIGUSR1):
                        # Our nodes print where each thread is on SIGUSR1 (run_node), so
                        # that a node that does not stop says why.
                        node.signal(signal.SIGUSR1)
                    node.signal(signum)
            if not running:
                break
            time.sleep(POLL_PERIOD_S)
        for node in self._processes + helper:
            node.finish()


def run_mode(mode: Mode, arguments: Dict[str, str], output: TextIO = sys.stdout,
             interactive: Optional[bool] = None) -> int:
    """
    Run ``mode`` in the foreground; Ctrl-C or SIGTERM shut it down cleanly.

    Return 0 when its required node finished and every node exited cleanly, 1 when a
    node failed, and ``EXIT_INTERRUPTED`` when a signal stopped it (so that a caller
    running several modes in a row stops too). ``interactive``: see
    :class:`GraphRunner`.
    """
    runner = GraphRunner(mode, arguments, output, interactive)
    previous: Dict[int, Optional[object]] = {}
    for signum in STOP_SIGNALS:
        previous[signum] = signal.signal(signum, runner.request_stop)
    try:
        return runner.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
