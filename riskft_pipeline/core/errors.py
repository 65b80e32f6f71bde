"""Errors the user can act on. The CLI turns :class:`InputError` into one line on stderr and exit code 2."""


class InputError(ValueError):
    """An input file (or argument) that cannot be used at all: the message names the problem in one line."""
