#!/usr/bin/env python3
"""
Servo bus speed through the real Feetech SDK against the bus emulator.

Prints `key: value` lines:
  bus_cycle_hz       full bus cycles per second; one cycle = a GroupSyncRead of
                     Present_Position from 6 servos + a GroupSyncWrite of Goal_Position
                     to the same 6 (what a 6-joint arm's control loop does each tick)
  bus_cycle_p99_ms   99th percentile of one cycle's duration, ms
  bus_errors         cycles whose sync read did not return COMM_SUCCESS (expect 0)

By default the emulator runs as its own process (`servo_bus_emulator`), as a real
bus would be outside the control process; `--in-process` serves it on a thread of
this process instead (then the SDK's busy-waiting and the emulator share the GIL).

Run inside the workspace: `make bench` or `scripts/in_env python bench/bus.py`.
"""

import argparse
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_DIR = os.path.join(REPO, 'src', 'hilserl_so100_driver')

try:
    import hilserl_so100_driver  # noqa: F401  (installed by colcon build)
except ImportError:  # not built yet: use the source tree
    sys.path.insert(0, PACKAGE_DIR)

import scservo_sdk as scs  # noqa: E402

from hilserl_so100_driver.bus_emulator import BusEmulator  # noqa: E402
from hilserl_so100_driver.sts3215 import register  # noqa: E402

IDS = list(range(1, 7))


def start_emulator_process():
    """Start `servo_bus_emulator` as a child process; return (process, pty path)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = PACKAGE_DIR + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'hilserl_so100_driver.bus_emulator', '--ids', '1-6'],
        stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline().strip()
    if not line.startswith('pty: '):
        proc.kill()
        raise RuntimeError(f'emulator did not start: {line!r}')
    return proc, line[len('pty: '):]


def measure(port_path: str, seconds: float) -> tuple[float, float, int]:
    """Run full cycles for `seconds`; return (cycles per second, p99 ms, errors)."""
    port = scs.PortHandler(port_path)
    if not port.openPort():
        raise RuntimeError(f'cannot open {port_path}')
    try:
        handler = scs.PacketHandler(0)
        present = register('Present_Position')
        goal = register('Goal_Position')
        reader = scs.GroupSyncRead(port, handler, present.address, present.size)
        writer = scs.GroupSyncWrite(port, handler, goal.address, goal.size)
        for servo_id in IDS:
            reader.addParam(servo_id)
            handler.write1ByteTxRx(port, servo_id, register('Torque_Enable').address, 1)
        durations, errors = [], 0
        start = time.perf_counter()
        cycle = 0
        while time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            if reader.txRxPacket() != scs.COMM_SUCCESS:
                errors += 1
            target = 2048 + (200 if (cycle // 50) % 2 else -200)
            for servo_id in IDS:
                data = list(goal.encode(target))
                if not writer.changeParam(servo_id, data):
                    writer.addParam(servo_id, data)
            writer.txPacket()
            durations.append(time.perf_counter() - t0)
            cycle += 1
        elapsed = time.perf_counter() - start
    finally:
        port.closePort()
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(0.99 * len(durations)))] * 1000.0
    return len(durations) / elapsed, p99, errors


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=3.0, help='measurement time')
    parser.add_argument('--in-process', action='store_true',
                        help='serve the emulator on a thread of this process')
    args = parser.parse_args()
    if args.in_process:
        with BusEmulator(IDS) as bus:
            hz, p99, errors = measure(bus.port, args.seconds)
    else:
        proc, path = start_emulator_process()
        try:
            hz, p99, errors = measure(path, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f'bus_cycle_hz: {hz:.1f}', flush=True)
    print(f'bus_cycle_p99_ms: {p99:.3f}', flush=True)
    print(f'bus_errors: {errors}', flush=True)


if __name__ == '__main__':
    main()
