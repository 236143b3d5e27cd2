"""
The ``servo_bus_emulator`` program: servos on a pty until Ctrl-C.

``servo_bus_emulator --help`` lists the options (ids, start pose, a stable
symlink, fault injection).  With ``--hand``, lines ``ID POSITION`` typed on
stdin turn that servo's shaft to POSITION (raw ticks), as a hand moves a
torque-off arm; ``python -m hilserl_so100_driver.bus_emulator`` is the same
program.
"""

import argparse
import logging
import signal
import sys
import threading

from . import sts3215
from .bus_emulator import BusEmulator
from .servo_model import LOCK_POLICIES


def _parse_ids(text: str) -> list[int]:
    ids = []
    for part in text.replace(' ', '').split(','):
        if not part:
            continue
        if '-' in part:
            low, high = part.split('-', 1)
            ids.extend(range(int(low), int(high) + 1))
        else:
            ids.append(int(part))
    return ids


def _fault_spec(text: str, *, value_required: bool, default: float = 1.0):
    """Parse ``ID[:VALUE]`` into (id, value)."""
    servo_id, _, value = text.partition(':')
    if not value and value_required:
        raise argparse.ArgumentTypeError(f'{text!r}: expected ID:VALUE')
    try:
        return int(servo_id), float(value) if value else default
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f'{text!r}: {exc}') from None


def _vanish_spec(text: str):
    parts = text.split(':')
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f'{text!r}: expected ID:AFTER_S[:FOR_S]')
    try:
        return int(parts[0]), float(parts[1]), float(parts[2]) if len(parts) == 3 else None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f'{text!r}: {exc}') from None


def _move_by_hand_from(stream, bus: BusEmulator) -> None:
    """Apply ``ID POSITION`` lines from ``stream`` until it ends; report bad lines."""
    for line in stream:
        words = line.split()
        if not words:
            continue
        try:
            servo_id, position = int(words[0]), float(words[1])
            if len(words) != 2 or not 0 <= position < sts3215.RESOLUTION:
                raise ValueError
            bus.move_by_hand(servo_id, position)
        except (ValueError, IndexError):
            print(f'--hand: expected "ID POSITION" with POSITION 0-4095, got {line.strip()!r}',
                  file=sys.stderr, flush=True)
        except KeyError as error:
            print(f'--hand: {error.args[0]}', file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog='servo_bus_emulator',
        description='Emulate a chain of Feetech STS3215 servos on a pseudo-terminal. '
                    'Open the printed path with the Feetech SDK at 1000000 baud, as you '
                    'would /dev/ttyUSB0. Ctrl-C ends it.',
        epilog='Fault options repeat, one servo each, e.g. '
               '--delay 3:50 --corrupt 2:0.1 --vanish 5:10:3 --overheat 6')
    parser.add_argument('--ids', type=_parse_ids, default=list(range(1, 7)),
                        help='servo ids, e.g. "1-6" or "1,2,7" (default 1-6)')
    parser.add_argument('--model', choices=sorted(sts3215.MODELS), default='sts3215',
                        help='servo model (default sts3215)')
    parser.add_argument('--link', metavar='PATH',
                        help='also make PATH a symlink to the pty (a stable port name)')
    parser.add_argument('--pose', metavar='TICKS',
                        help='start positions, one for all or a comma list in --ids order '
                             '(encoder steps 0-4095, default 2048)')
    parser.add_argument('--no-reply', metavar='ID[:P]', action='append', default=[],
                        type=lambda t: _fault_spec(t, value_required=False),
                        help='servo ID executes but does not answer (with probability P)')
    parser.add_argument('--delay', metavar='ID:MS', action='append', default=[],
                        type=lambda t: _fault_spec(t, value_required=True),
                        help='servo ID answers MS milliseconds late')
    parser.add_argument('--corrupt', metavar='ID[:P]', action='append', default=[],
                        type=lambda t: _fault_spec(t, value_required=False),
                        help='servo ID answers with a wrong checksum (with probability P)')
    parser.add_argument('--vanish', metavar='ID:AFTER_S[:FOR_S]', action='append', default=[],
                        type=_vanish_spec,
                        help='servo ID leaves the bus AFTER_S seconds after start, for FOR_S '
                             'seconds (or for good)')
    parser.add_argument('--overheat', metavar='ID', action='append', default=[], type=int,
                        help='servo ID reports a temperature above its limit (OVERHEAT bit)')
    parser.add_argument('--lock-policy', choices=LOCK_POLICIES, default='volatile',
                        help='EEPROM writes while Lock=1: "volatile" take effect but are lost '
                             'at power-off (the Feetech manual), "refuse" are ignored')
    parser.add_argument('--voltage', type=float, default=None,
                        help='supply voltage, V (default the model\'s nominal 7.4)')
    parser.add_argument('--ignore-baud', action='store_true',
                        help='answer whatever bit rate the client sets on the pty')
    parser.add_argument('--seed', type=int, default=0, help='seed of the fault dice')
    parser.add_argument('--hand', action='store_true',
                        help='read lines "ID POSITION" on stdin and turn that servo to POSITION '
                             '(raw ticks), as a hand turns a torque-off joint')
    parser.add_argument('-v', '--verbose', action='count', default=0,
                        help='-v: log start-up; -vv: log every request')
    return parser


def main(argv=None) -> int:
    """Run the emulator until Ctrl-C or SIGTERM."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
                        format='%(asctime)s %(levelname)s %(message)s')
    positions = None
    if args.pose:
        try:
            positions = [float(p) for p in args.pose.split(',')]
        except ValueError:
            build_parser().error(f'--pose {args.pose!r}: expected numbers separated by commas')
    try:
        bus = BusEmulator(args.ids, model=args.model, positions=positions, link=args.link,
                          lock_policy=args.lock_policy, check_baud=not args.ignore_baud,
                          voltage=args.voltage, seed=args.seed)
        for servo_id, p in args.no_reply:
            bus.set_fault(servo_id, no_reply=p)
        for servo_id, ms in args.delay:
            bus.set_fault(servo_id, delay_ms=ms)
        for servo_id, p in args.corrupt:
            bus.set_fault(servo_id, corrupt=p)
        for servo_id, after, duration in args.vanish:
            bus.schedule_vanish(servo_id, after, duration)
        for servo_id in args.overheat:
            bus.set_fault(servo_id, overheat=True)
        bus.open()
    except (ValueError, KeyError, OSError) as exc:
        print(f'servo_bus_emulator: {exc}', file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        bus.request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f'pty: {bus.pty_path}', flush=True)
    if args.link:
        print(f'link: {args.link} -> {bus.pty_path}', flush=True)
    print(f'servos: {args.model} ids {",".join(map(str, bus.ids))}; Ctrl-C to stop',
          flush=True)
    if args.hand:
        threading.Thread(target=_move_by_hand_from, args=(sys.stdin, bus), daemon=True).start()
    try:
        bus.serve_forever()
    finally:
        bus.close()
    print('servo bus emulator stopped', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
