"""The servo_bus_emulator program: help, start-up line, link, faults, clean Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import pytest

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, **kwargs):
    env = dict(os.environ)
    env['PYTHONPATH'] = PACKAGE_DIR + os.pathsep + env.get('PYTHONPATH', '')
    return subprocess.Popen([sys.executable, '-m', 'hilserl_so100_driver.bus_emulator', *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            **kwargs)


def test_help():
    proc = run_cli('--help')
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    for option in ('--ids', '--model', '--link', '--pose', '--no-reply', '--delay', '--corrupt',
                   '--vanish', '--overheat'):
        assert option in out


def test_bad_fault_option_is_a_usage_error():
    proc = run_cli('--delay', '3')
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert 'ID:VALUE' in err and 'Traceback' not in err


def test_serves_the_sdk_and_stops_cleanly_on_ctrl_c(tmp_path):
    scs = pytest.importorskip('scservo_sdk')
    link = str(tmp_path / 'so100_bus')
    proc = run_cli('--ids', '1-3', '--link', link, '--pose', '1000,2000,3000',
                   '--overheat', '2', '--no-reply', '3')
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith('pty: /dev/pts/'), first
        assert proc.stdout.readline().strip() == f'link: {link} -> {first[5:]}'
        assert os.path.realpath(link) == first[5:]
        port = scs.PortHandler(link)
        assert port.openPort()
        ph = scs.PacketHandler(0)
        try:
            assert ph.ping(port, 1) == (777, scs.COMM_SUCCESS, 0)
            _, result, error = ph.ping(port, 2)
            assert result == scs.COMM_SUCCESS and error & scs.ERRBIT_OVERHEAT
            assert ph.read2ByteTxRx(port, 1, 56) == (1000, scs.COMM_SUCCESS, 0)
            assert ph.ping(port, 3)[1] == scs.COMM_RX_TIMEOUT  # --no-reply
            assert ph.ping(port, 4)[1] == scs.COMM_RX_TIMEOUT
        finally:
            port.closePort()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert 'Traceback' not in err
    assert 'stopped' in out
    assert not os.path.lexists(link)


def test_hand_turns_servos_from_stdin(tmp_path):
    scs = pytest.importorskip('scservo_sdk')
    link = str(tmp_path / 'so100_bus')
    proc = run_cli('--ids', '1-2', '--link', link, '--hand', stdin=subprocess.PIPE)
    try:
        assert proc.stdout.readline().startswith('pty: ')
        proc.stdin.write('9 100\n2 1000\n')  # servo 9 is not on the bus: reported, no harm
        proc.stdin.flush()
        port = scs.PortHandler(link)
        assert port.openPort()
        ph = scs.PacketHandler(0)
        try:
            deadline = time.monotonic() + 10
            while ph.read2ByteTxRx(port, 2, 56)[0] != 1000:
                assert time.monotonic() < deadline, 'servo 2 never read 1000'
                time.sleep(0.02)
            assert ph.read2ByteTxRx(port, 1, 56)[0] == 2048
        finally:
            port.closePort()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert '--hand: no servo with id 9' in err and 'Traceback' not in err
