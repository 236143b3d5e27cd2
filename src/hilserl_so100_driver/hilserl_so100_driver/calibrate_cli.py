"""
``so100_calibrate``: calibrate an SO100/SO101 arm over its servo bus, step by step.

The arm's torque is switched off; the person puts the arm in the middle of
its range and presses Enter, then moves every joint through its full range
while a live table shows the lowest and highest readings, and presses Enter
again.  Then the homing offsets and position limits are saved to the
servos' EEPROM and the calibration is written as JSON (ours, and optionally
LeRobot's).  Nothing is written before the second Enter; Ctrl-C leaves the
servos as they were (torque off).  See :mod:`.guided_calibration`.
"""

import argparse
import os
import select
import sys
import time

from hilserl_common.stop_signals import StopSignals

from .calibration import CalibrationError, save_calibration, save_lerobot_calibration
from .calibration import SO101_JOINTS
from .guided_calibration import (FULL_TURN_JOINTS, middle_offsets, RangeRecorder,
                                 read_offsets, sync_read_present, write_calibration)
from .sdk_bus import BusError, SdkBus
from .servo_setup import read_present_positions, require_servos, set_torque

PROG = 'so100_calibrate'
#: Time between two readings of the arm while the ranges are recorded, s.
READ_PERIOD_S = 0.03
#: Shortest time between two prints of the table when stdout is not a terminal, s.
PRINT_PERIOD_S = 0.2
#: A servo that has not answered for this long ends the calibration, s.
SILENCE_LIMIT_S = 2.0


class CalibrationAborted(Exception):
    """A problem that ends the calibration; its text is the one line shown."""


def _ids(text: str) -> list:
    try:
        out = []
        for part in text.split(','):
            low, _, high = part.strip().partition('-')
            out += list(range(int(low), int(high or low) + 1))
        return out
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r}: expected ids like "1-6" or "1,2,3"')


def _names(text: str) -> list:
    return [name.strip() for name in text.split(',') if name.strip()]


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Calibrate an SO100/SO101 arm over its Feetech servo bus: torque off, '
                    'put the arm in the middle of its range (Enter), move every joint through '
                    'its full range (Enter). Saves homing offsets and position limits to the '
                    'servos and writes the calibration JSON the so100_follower and '
                    'so100_leader nodes read (calibration_file).')
    parser.add_argument('--port', required=True,
                        help='serial port of the bus adapter, e.g. /dev/so100_follower')
    parser.add_argument('--output', '-o', required=True, metavar='JSON',
                        help='where to write the calibration (hilserl format)')
    parser.add_argument('--lerobot-json', metavar='JSON',
                        help="also write LeRobot's calibration format here")
    parser.add_argument('--ids', type=_ids, default=list(range(1, 7)),
                        help='servo ids in joint order (default 1-6)')
    parser.add_argument('--joints', type=_names, default=list(SO101_JOINTS),
                        help='joint names in order, comma-separated (default: '
                             + ','.join(SO101_JOINTS) + ')')
    parser.add_argument('--full-turn', type=_names, default=list(FULL_TURN_JOINTS),
                        metavar='NAMES',
                        help='joints without end stops, given the whole turn as range '
                             '(default wrist_roll; "" for none)')
    parser.add_argument('--baud', type=int, default=1_000_000,
                        help='bus bit rate (default 1000000)')
    return parser


class Console:
    """Prompts on stdout, Enter on stdin; the live table redrawn in place on a terminal."""

    def __init__(self, stdin_fd: int = 0, stdout=sys.stdout):
        """Use these streams."""
        self.stdin_fd, self.stdout = stdin_fd, stdout
        self.tty = stdout.isatty()
        self._drawn = 0
        self._printed_at = -float('inf')

    def say(self, text: str = '') -> None:
        """Print a line."""
        self._drawn = 0
        print(text, file=self.stdout, flush=True)

    def wait_enter(self, timeout: float | None = None) -> bool:
        """Return True once a line came on stdin, False after ``timeout``; EOF aborts."""
        # Read the descriptor, not sys.stdin: its buffer would hide lines from select.
        ready, _, _ = select.select([self.stdin_fd], [], [], timeout)
        if not ready:
            return False
        if not os.read(self.stdin_fd, 4096):
            raise CalibrationAborted('stdin closed before Enter; nothing written')
        self._drawn = 0  # the echoed Enter moved the cursor
        return True

    def table(self, lines: list, force: bool = False) -> bool:
        """Print the rows (in place on a terminal, else at most every 0.2 s); say if shown."""
        if self.tty:
            up = f'\x1b[{self._drawn}F' if self._drawn else ''
            self.stdout.write(up + ''.join(f'\x1b[2K{line}\n' for line in lines))
            self.stdout.flush()
            self._drawn = len(lines)
            return True
        now = time.monotonic()
        if not force and now - self._printed_at < PRINT_PERIOD_S:
            return False
        self._printed_at = now
        print('\n'.join(lines) + '\n', file=self.stdout, flush=True)
        return True


def record_ranges(bus, recorder: RangeRecorder, console: Console) -> None:
    """Read the arm until Enter (with every joint moved); update ``recorder``."""
    last_heard = {servo_id: time.monotonic() for servo_id in recorder.ids}
    pending = False
    console.table(recorder.table(), force=True)
    while True:
        if console.wait_enter(READ_PERIOD_S):
            unmoved = recorder.unmoved()
            if not unmoved:
                console.table(recorder.table(), force=True)
                return
            console.say(f'not moved yet: {", ".join(unmoved)}; move them through their range, '
                        'then press Enter (Ctrl-C to give up)')
        present = sync_read_present(bus, recorder.ids)
        now = time.monotonic()
        for servo_id in present:
            last_heard[servo_id] = now
        silent = [i for i, t in last_heard.items() if now - t > SILENCE_LIMIT_S]
        if silent:
            raise CalibrationAborted(f'servo(s) {silent} stopped answering; nothing written')
        pending = recorder.update(present) or pending
        if pending or console.tty:
            pending = not console.table(recorder.table())


def calibrate(args, console: Console) -> None:
    """Run the whole guided calibration; CalibrationAborted/BusError end it."""
    if len(args.ids) != len(args.joints):
        raise CalibrationAborted(f'{len(args.ids)} ids for {len(args.joints)} joints')
    if not os.path.exists(args.port):
        raise CalibrationAborted(f'port {args.port} does not exist (adapter plugged in? '
                                 'see the udev rule in docs/arms.md)')
    bus = SdkBus(args.port, args.baud)
    bus.open()
    try:
        require_servos(bus, args.ids)
        set_torque(bus, args.ids, False, checked=True)
        console.say(f'Torque is off on servos {args.ids} ({", ".join(args.joints)}).')
        console.say('Step 1: put the arm in the middle of its range (every joint half-way '
                    'between its limits, the gripper half open), then press Enter.')
        console.wait_enter()
        old_offsets = read_offsets(bus, args.ids)
        present = read_present_positions(bus, args.ids)
        recorder = RangeRecorder(args.joints, args.ids, old_offsets,
                                 middle_offsets(present, old_offsets))
        console.say('Step 2: move every joint through its full range, one after the other '
                    f'({", ".join(args.full_turn) or "no joint"} turns freely and is given '
                    'the whole turn); press Enter when done.')
        record_ranges(bus, recorder, console)
        try:
            calibration = recorder.calibration(full_turn=args.full_turn)
        except CalibrationError as error:
            raise CalibrationAborted(f'{error}; nothing written') from None
        written = write_calibration(bus, calibration)
        console.say(f'Saved homing offsets and position limits to servos {written} '
                    '(the others already held them).' if written != args.ids else
                    f'Saved homing offsets and position limits to servos {written}.')
    finally:
        bus.close()
    for path in (args.output, args.lerobot_json):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    save_calibration(calibration, args.output)
    console.say(f'Wrote {args.output}')
    if args.lerobot_json:
        save_lerobot_calibration(calibration, args.lerobot_json)
        console.say(f'Wrote {args.lerobot_json} (LeRobot format)')


def main(argv=None) -> int:
    """Run ``so100_calibrate``; one line on stderr and status 1 when it fails."""
    args = build_parser().parse_args(argv)
    args.output = os.path.expanduser(args.output)
    if args.lerobot_json:
        args.lerobot_json = os.path.expanduser(args.lerobot_json)
    console = Console()
    try:
        # A second Ctrl-C (or SIGTERM) while the bus closes waits for it.
        with StopSignals(PROG):
            calibrate(args, console)
    except (CalibrationAborted, BusError, CalibrationError, OSError) as error:
        print(f'{PROG}: {error}', file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f'\n{PROG}: interrupted; nothing written, torque stays off', file=sys.stderr,
              flush=True)
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
