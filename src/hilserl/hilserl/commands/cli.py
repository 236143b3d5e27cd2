"""The ``hilserl`` command: run modes and tools without the ``ros2`` CLI."""

import argparse
import sys
from typing import List, Optional

from hilserl.commands import CommandError, register_all
from hilserl.launching.graph import GraphError, parse_assignments
from hilserl.launching.modes import MODES
from hilserl_common import EXIT_INTERRUPTED
from hilserl_common.stop_signals import StopSignals


def _describe_modes() -> str:
    lines = ['modes and their arguments (name:=value):']
    for mode in MODES.values():
        lines.append(f'  {mode.name}: {mode.description}')
        for argument in mode.arguments:
            choices = f" (one of {', '.join(argument.choices)})" if argument.choices else ''
            lines.append(f"      {argument.name}:={argument.default!r:<14} "
                         f"{argument.description}{choices}")
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``hilserl`` command."""
    parser = argparse.ArgumentParser(
        prog='hilserl',
        description='Human-in-the-loop RL for robot arms on ROS 2. On a ROS install '
                    '`ros2 launch hilserl <mode>.launch.py` does what `hilserl launch` does.')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    launch = commands.add_parser(
        'launch', help='start a mode: all its nodes as processes',
        description='Start every node of a mode, as `ros2 launch hilserl <mode>.launch.py` '
                    'would, and stop them all on Ctrl-C or when a required node exits.',
        epilog=_describe_modes(), formatter_class=argparse.RawDescriptionHelpFormatter)
    launch.add_argument('mode', choices=sorted(MODES), help='which mode to start')
    launch.add_argument('arguments', nargs='*', metavar='name:=value',
                        help='mode arguments, as with ros2 launch')
    launch.add_argument('--show-args', action='store_true',
                        help="list the mode's nodes and arguments and exit")
    launch.add_argument('-n', '--noninteractive', action='store_true',
                        help='on Ctrl-C also send SIGINT to every node, as `ros2 launch` '
                             'does without a terminal (the default when stdin is not a '
                             'terminal); with one, the terminal sends it to every node')
    launch.set_defaults(run=_launch)
    register_all(commands)
    return parser


def _launch(options) -> int:
    # Imported here so that `hilserl --help` works before the workspace is sourced.
    from hilserl.launching.runner import is_installed, node_command, run_mode
    mode = MODES[options.mode]
    arguments = parse_assignments(options.arguments)
    if options.show_args:
        print(_describe_modes())
        print(f'\nnodes of {mode.name}:')
        for spec in mode.nodes(arguments):
            if spec.optional and not is_installed(spec.package):
                print(f'  {spec.full_name}: skipped, {spec.package} is not installed')
            else:
                print(f'  {spec.full_name}: ' + ' '.join(node_command(spec)))
        return 0
    return run_mode(mode, arguments, interactive=False if options.noninteractive else None)


def main(argv: Optional[List[str]] = None) -> int:
    """
    Run the ``hilserl`` command; errors are one line on stderr and exit status 2.

    Ctrl-C or SIGTERM interrupt a command (exit status 130), also while its arguments
    are read (the parser imports every command's module); more of them while it cleans
    up are reported, not raised (:class:`hilserl_common.stop_signals.StopSignals`).
    One while this module imports is the console script's
    (:mod:`hilserl.launching.executables`): the same status, no traceback.
    """
    signals = StopSignals('hilserl')
    try:
        with signals:
            options = build_parser().parse_args(argv)
            signals.name = f'hilserl {options.command}'
            return options.run(options)
    except (GraphError, CommandError) as error:
        print(f'{signals.name}: error: {error}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'{signals.name}: interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
