"""``hilserl lifecycle``: see and change the state of managed nodes, as ``ros2 lifecycle``."""

import argparse
import sys

from hilserl.commands import CommandError
# No ROS import at the top of that module: `--help` works before the workspace is sourced.
from hilserl.ros.lifecycle_client import TRANSITIONS

DESCRIPTION = """\
The suite's managed (lifecycle) nodes - the SO100 follower driver, the camera
publishers, the actor - take the lifecycle_msgs services: configure, activate,
deactivate, cleanup, shutdown. This is `ros2 lifecycle get|set` for machines without
ros2cli, plus `up`: configure, then activate, each node in the order given (what
`hilserl launch` does for a mode's managed nodes). Deactivating the follower holds
the arm, then switches torque off if its on_fault is torque_off; deactivating the
actor stops its commands. Exit status 1 when a node is not there or refuses."""
EPILOG = """\
examples:
  hilserl lifecycle get /so100_follower /actor
  hilserl lifecycle set /actor deactivate
  hilserl lifecycle up /so100_follower /front/camera /wrist/camera /actor"""


def register(subparsers) -> None:
    """Add the ``lifecycle`` command."""
    parser = subparsers.add_parser(
        'lifecycle', help="see and change managed nodes' states (ros2 lifecycle)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    get = actions.add_parser('get', help="print each node's state",
                             description="Print each node's lifecycle state.")
    get.add_argument('nodes', nargs='+', metavar='NODE', help='e.g. /so100_follower')
    change = actions.add_parser('set', help='make one transition',
                                description='Make one transition of one node.')
    change.add_argument('node', metavar='NODE', help='e.g. /actor')
    change.add_argument('transition', choices=TRANSITIONS, help='the transition')
    up = actions.add_parser('up', help='configure, then activate, each node in turn',
                            description='Configure, then activate, each node in the order '
                                        'given; a node already active is left alone.')
    up.add_argument('nodes', nargs='+', metavar='NODE', help='e.g. /so100_follower /actor')
    for each, wait in ((get, 10.0), (change, 10.0), (up, 60.0)):
        each.add_argument('--wait', type=float, default=wait, metavar='S',
                          help=f"seconds to wait for a node's services to appear "
                               f'(default {wait:g})')
    parser.set_defaults(run=run)


def run(options) -> int:
    """Query or change the nodes' states; 1 (one line) when one is missing or refuses."""
    if not options.wait > 0:
        raise CommandError(f'--wait must be positive, got {options.wait:g}')
    from hilserl.ros.lifecycle_client import full_node_name, LifecycleClient, LifecycleError
    try:
        with LifecycleClient(wait_s=options.wait) as client:
            if options.action == 'get':
                for node in options.nodes:
                    print(f'{full_node_name(node)}: {client.state(node)}', flush=True)
            elif options.action == 'set':
                state = client.change(options.node, options.transition)
                print(f'{full_node_name(options.node)}: {options.transition} done, now {state}',
                      flush=True)
            else:
                client.bring_up(options.nodes, say=lambda line: print(line, flush=True))
    except LifecycleError as error:
        print(f'hilserl lifecycle: error: {error}', file=sys.stderr, flush=True)
        return 1
    return 0
