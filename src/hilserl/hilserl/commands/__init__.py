"""
Subcommands of the ``hilserl`` command other than ``launch``, one module each.

A command module defines ``register(subparsers)``, which adds its parser and sets
``run`` (a function of the parsed options returning an exit status) as the parser's
default. Modules are imported only when their command runs or ``--help`` is asked, so
a missing optional dependency of one command never breaks another. A command reports
bad input by raising :class:`CommandError`: one line on stderr, exit status 2.
"""

import importlib

# Module names under hilserl.commands, in the order `hilserl --help` lists them.
COMMAND_MODULES = (
    'dataset',
    'crop',
    'classifier',
    'demo',
    'encoder',
    'lifecycle',
    'docs',
)


class CommandError(Exception):
    """Bad input or configuration for a command, reported as one line."""


def register_all(subparsers) -> None:
    """Add every command module's parser to `subparsers`."""
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f'hilserl.commands.{name}')
        except ModuleNotFoundError as error:
            if error.name != f'hilserl.commands.{name}':
                raise
            continue   # a command still being written; nothing to register
        module.register(subparsers)
