"""
Console-script entry points: a stop signal while the program imports is a quiet stop.

Each case runs a real Python process whose program module sends the signal to its own
process from inside its import (so the signal is known to land there), through
:func:`hilserl_common.entry.run`, as an installed console script does.
"""

import os
import signal
import subprocess
import sys
import textwrap

from hilserl_common.entry import console_script

RUN = ('import sys\nfrom hilserl_common.entry import run\n'
       'sys.exit(run("program:main", name="program", stopped_status={status}))\n')


def run_program(tmp_path, body, status=0, ignore=()):
    """Run a program module whose import executes ``body``; return (exit status, output)."""
    (tmp_path / 'program.py').write_text(textwrap.dedent(body))

    def inherit_ignored():
        # Start as from a terminal, whatever this process inherited (a test run started in
        # the background by a non-interactive shell ignores SIGINT), then ignore ``ignore``.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN if signum in ignore else signal.SIG_DFL)

    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get('PYTHONPATH')])]))
    result = subprocess.run([sys.executable, '-c', RUN.format(status=status)],
                            capture_output=True, text=True, timeout=60, env=environment,
                            preexec_fn=inherit_ignored)
    return result.returncode, result.stdout + result.stderr


def test_sigint_during_the_import_exits_with_the_stop_status_without_a_traceback(tmp_path):
    status, output = run_program(tmp_path, '''
        import os, signal, time
        print('importing', flush=True)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)   # a long import: never finished
        print('imported')
        def main():
            return 5
    ''')
    assert status == 0
    assert output == 'importing\n[program] SIGINT while starting: stopped\n'


def test_sigterm_during_the_import_exits_with_the_status_a_command_gives_a_stop(tmp_path):
    status, output = run_program(tmp_path, '''
        import os, signal, time
        try:   # a library that swallows whatever its import raises cannot keep it going
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        except BaseException:
            pass
        print('imported')
    ''', status=130)
    assert status == 130
    assert output == '[program] SIGTERM while starting: stopped\n'


def test_after_the_import_main_runs_with_the_handlers_it_started_with(tmp_path):
    status, output = run_program(tmp_path, '''
        import signal, sys
        def main():
            print(signal.getsignal(signal.SIGINT) is signal.default_int_handler,
                  signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
            return 3
    ''')
    assert (status, output) == (3, 'True True\n')


def test_a_signal_inherited_as_ignored_stays_ignored(tmp_path):
    # nohup, or a background job of a non-interactive shell: SIGINT is ignored.
    status, output = run_program(tmp_path, '''
        import os, signal, time
        os.kill(os.getpid(), signal.SIGINT)
        print('SIGINT ignored', flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    ''', ignore=(signal.SIGINT,))
    assert status == 0
    assert output == 'SIGINT ignored\n[program] SIGTERM while starting: stopped\n'


def test_console_script_names_what_it_runs():
    main = console_script('hilserl_common.log_throttle:main', stopped_status=130)
    assert main.target == 'hilserl_common.log_throttle:main'
