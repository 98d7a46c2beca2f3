"""The one error type subcommands raise for failures a person can act on."""


class CommandError(Exception):
    """Printed by `kyb` as a single line on stderr; the process exits with code 1."""
