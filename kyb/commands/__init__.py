"""Subcommands of `kyb`, one module each.

Every module here is a subcommand and exposes:

- ``NAME``: the word typed after ``kyb``;
- ``HELP``: one line for ``kyb --help``;
- ``add_arguments(parser)``: fills its own ``argparse`` parser;
- ``run(args) -> int``: does the work and returns the exit code.

New subcommands are added by adding a module, so the issues that bring them never edit a shared
list.
"""
