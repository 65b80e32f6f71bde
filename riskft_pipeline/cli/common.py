"""What the command modules share: the one-line user error and JSON printing."""

from __future__ import annotations

import json


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))
