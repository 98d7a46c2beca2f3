"""`kyb cri`: crictl's verbs (runp, create, ps, exec, logs, pull, ...) for any CRI v1 endpoint."""

from __future__ import annotations

import argparse

NAME = "cri"
HELP = "crictl's verbs for any CRI v1 runtime: pods, containers, exec, logs, images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kyb.crictl import cli

    cli.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from kyb.crictl import cli

    return cli.run(args)
