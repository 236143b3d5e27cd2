"""Start nodes and modes as real subprocesses, and always stop them."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence

from hilserl.launching.graph import NodeSpec
from hilserl.launching.runner import node_command

# A learner's Ctrl-C writes its final checkpoint (buffers included), draws the final
# plots and finishes wandb; on a loaded 2-core machine that has taken over 5 s.
LEARNER_STOP_GRACE_S = 30.0


def mode_command(mode: str, **arguments) -> List[str]:
    """Return the command line of ``hilserl launch <mode> name:=value ...``."""
    words = [f'{name}:={value}' for name, value in arguments.items()]
    return [sys.executable, '-m', 'hilserl', 'launch', mode, *words]


def default_stop_signals() -> None:
    """
    Give SIGINT and SIGTERM their default actions in a child, as a terminal's shell does.

    A test run started in the background by a non-interactive shell (``make test &`` in a
    CI script) ignores SIGINT, and children inherit that: the processes a test starts
    should meet signals as a user's do, whatever started the test run.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


class ManagedProcess:
    """A subprocess in its own process group whose output goes to a log file."""

    def __init__(self, command: Sequence[str], name: str, log_dir: Optional[str] = None):
        """Start ``command`` now."""
        self.name = name
        self.command = list(command)
        log_dir = log_dir or tempfile.mkdtemp(prefix='hilserl-test-')
        self.log_path = os.path.join(log_dir, f"{name.strip('/').replace('/', '.')}.log")
        self._log = open(self.log_path, 'w')
        self.process = subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=default_stop_signals)

    @property
    def pid(self) -> int:
        """Return the process ID."""
        return self.process.pid

    def output(self) -> str:
        """Return everything the process has printed so far (also after :meth:`stop`)."""
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, errors='replace') as stream:
            return stream.read()

    def alive(self) -> bool:
        """Return whether the process is still running."""
        return self.process.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit by itself and return its exit status."""
        return self.process.wait(timeout=timeout)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the whole process group."""
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, grace_s: float = 5.0) -> int:
        """Stop the group: SIGINT, then SIGTERM, then SIGKILL; return the exit status."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            if self.process.poll() is not None:
                break
            self.send_signal(signum)
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                continue
        if self.process.poll() is None:
            self.send_signal(signal.SIGKILL)
            self.process.wait()
        # Children a node may have started live in its group; make sure none survive.
        self.send_signal(signal.SIGKILL)
        self._log.close()
        return self.process.returncode


class ProcessGroup:
    """Every process a test started, stopped together in reverse order."""

    def __init__(self, log_dir: str):
        """Write process logs under ``log_dir``."""
        self.log_dir = log_dir
        self.processes: List[ManagedProcess] = []

    def start(self, command: Sequence[str], name: str) -> ManagedProcess:
        """Start an arbitrary command."""
        process = ManagedProcess(command, name, self.log_dir)
        self.processes.append(process)
        return process

    def start_node(self, spec: NodeSpec) -> ManagedProcess:
        """Start a node exactly as ``hilserl launch`` would start it."""
        return self.start(node_command(spec), spec.full_name)

    def start_mode(self, mode: str, **arguments) -> ManagedProcess:
        """Start a whole mode through the pip-only runner."""
        return self.start(mode_command(mode, **arguments), f'mode-{mode}')

    def stop_all(self) -> None:
        """Stop every process, newest first."""
        for process in reversed(self.processes):
            process.stop()


def wait_for_output(process: ManagedProcess, text: str, timeout: float) -> str:
    """Wait until ``text`` appears in the process output; return the output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = process.output()
        if text in output:
            return output
        if not process.alive():
            break
        time.sleep(0.05)
    raise AssertionError(f"'{text}' not printed by {process.name} within {timeout} s; "
                         f'output:\n{process.output()}')
