"""The harness itself: processes are always torn down, with their children."""

import sys
import time

from hilserl_testing.processes import wait_for_output

STUBBORN = '''
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])
print('ready', child.pid, flush=True)
time.sleep(120)
'''


def test_a_process_that_ignores_sigint_and_sigterm_is_killed_with_its_children(processes):
    stubborn = processes.start([sys.executable, '-c', STUBBORN], 'stubborn')
    output = wait_for_output(stubborn, 'ready', timeout=30)
    child_pid = int(output.split()[1])
    stubborn.stop(grace_s=0.5)
    assert not stubborn.alive()
    # SIGKILL is asynchronous: give the kernel a moment to retire the orphaned child.
    deadline = time.monotonic() + 5
    while _running(child_pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _running(child_pid)


def _running(pid):
    try:
        with open(f'/proc/{pid}/stat') as stream:
            return not stream.read().split(') ')[1].startswith('Z')
    except FileNotFoundError:
        return False
