"""Start a process with a pseudo-terminal as stdin, to type keys into it from a test."""

import os
import pty
import subprocess
from typing import Sequence

from hilserl.launching.graph import NodeSpec
from hilserl.launching.runner import node_command
from hilserl_testing.processes import (default_stop_signals, ManagedProcess, mode_command,
                                       ProcessGroup)


class TerminalProcess(ManagedProcess):
    """A :class:`ManagedProcess` whose stdin is a terminal the test types into."""

    def __init__(self, command: Sequence[str], name: str, log_dir: str):
        """Start ``command`` now on a new pseudo-terminal; output goes to the log file."""
        self.name = name
        self.command = list(command)
        self.log_path = os.path.join(log_dir, f"{name.strip('/').replace('/', '.')}.log")
        self._log = open(self.log_path, 'w')
        self.master_fd, slave_fd = pty.openpty()
        try:
            self.process = subprocess.Popen(
                self.command, stdout=self._log, stderr=subprocess.STDOUT, stdin=slave_fd,
                start_new_session=True, preexec_fn=default_stop_signals)
        finally:
            os.close(slave_fd)  # the child holds its own copy

    def type(self, data: bytes) -> None:
        """Send ``data`` as if typed on the terminal."""
        os.write(self.master_fd, data)

    def stop(self, grace_s: float = 5.0) -> int:
        """Stop the process, then close the terminal."""
        status = super().stop(grace_s)
        if self.master_fd is not None:
            os.close(self.master_fd)
            self.master_fd = None
        return status


def start_node_on_terminal(group: ProcessGroup, spec: NodeSpec) -> TerminalProcess:
    """Start ``spec`` as ``hilserl launch`` would, but on a terminal; stopped with ``group``."""
    process = TerminalProcess(node_command(spec), spec.full_name, group.log_dir)
    group.processes.append(process)
    return process


def start_mode_on_terminal(group: ProcessGroup, mode: str, **arguments) -> TerminalProcess:
    """
    Start a mode through the pip-only runner with a terminal on its stdin.

    The runner is then interactive, as ``ros2 launch`` is in a terminal: a SIGINT it
    gets is taken to have reached every node from the terminal too.
    """
    process = TerminalProcess(mode_command(mode, **arguments), f'mode-{mode}', group.log_dir)
    group.processes.append(process)
    return process
