"""
``hilserl docs``: pages of docs/ generated from the code.

``parameters`` writes docs/parameters.md from the parameters every node declares
(:mod:`hilserl.ros.parameter_docs` starts each node in this process and asks it);
with ``--check`` it writes nothing and exits 1, naming what differs, when the page is
stale.
"""

import os
import sys

from hilserl.commands import CommandError
from hilserl.ros.parameter_page import PAGE

PARAMETERS_DESCRIPTION = """\
Write docs/parameters.md: every parameter of every node executable of hilserl and
hilserl_so100_driver (name, type, default, description, read-only), read from the nodes
themselves. Each node is started in this process with discovery off, asked what it
declared and destroyed; this takes some seconds. With --check, compare instead and exit 1
(naming each difference) when the page is stale."""


def default_page() -> str:
    """Return docs/parameters.md of the source tree this module belongs to."""
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.join(here, '..', '..', '..', '..', *PAGE.split('/'))


def register(subparsers) -> None:
    """Add ``docs parameters`` to the ``hilserl`` command."""
    parser = subparsers.add_parser('docs', help='write or check the generated docs pages',
                                   description='Pages of docs/ generated from the code.')
    pages = parser.add_subparsers(dest='docs_page', required=True, metavar='PAGE')
    parameters = pages.add_parser('parameters', help='the node parameters page',
                                  description=PARAMETERS_DESCRIPTION)
    parameters.add_argument('--check', action='store_true',
                            help='write nothing; exit 1 and say what differs when the page '
                                 'is not what the nodes declare')
    parameters.add_argument('--output', metavar='PATH',
                            help='the page to write or check (default: docs/parameters.md '
                                 'of this source tree)')
    parameters.add_argument('--node', action='append', metavar='EXECUTABLE',
                            help='with --check: check only the section of this executable '
                                 '(repeatable)')
    parameters.set_defaults(run=run_parameters)


def run_parameters(options) -> int:
    """Write or check the parameters page; return 0, or 1 for a stale page."""
    from hilserl.ros.parameter_docs import collect, ParameterDocsError
    from hilserl.ros.parameter_page import differences, render
    path = os.path.normpath(options.output or default_page())
    if options.node and not options.check:
        raise CommandError('--node needs --check (the page holds every node)')
    if options.check and not os.path.isfile(path):
        raise CommandError(f'{path}: no such page (run hilserl docs parameters to write it)')
    try:
        nodes = collect(options.node)
    except ParameterDocsError as error:
        raise CommandError(str(error)) from None
    if not options.check:
        with open(path, 'w', encoding='utf-8') as page:
            page.write(render(nodes))
        print(f'wrote {path}: {sum(len(n.parameters) for n in nodes)} parameters of '
              f'{len(nodes)} nodes')
        return 0
    with open(path, encoding='utf-8') as page:
        found = differences(page.read(), nodes, only=options.node)
    if not found:
        print(f'{path} is up to date ({len(nodes)} nodes)')
        return 0
    print(f'{path} is stale ({len(found)} differences); run `hilserl docs parameters` to '
          'write it again:', file=sys.stderr)
    for line in found:
        print(f'  {line}', file=sys.stderr)
    return 1
