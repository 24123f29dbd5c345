"""Mistakes a person can fix, each said in one line with the exit status the README documents:

- 2: the command line or a setting is wrong (a bad option, an unknown key, a driver the URL needs);
- 1: the command was right but could not be done (no such incident, a read-only folder, a taken port).

Nothing here imports more than the standard library: the CLI loads it before anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

USAGE = 2
RUNTIME = 1


class Problem(Exception):
    """Something the user can fix; `str()` is one line that says what is wrong and how to fix it."""

    def __init__(self, message: str, code: int = RUNTIME) -> None:
        super().__init__(" ".join(message.split()))
        self.code = code


def say(message: str, code: int) -> int:
    print(f"statusbot: {' '.join(message.split())}", file=sys.stderr)
    return code


def reported(call: Callable[[], Any]) -> int:
    """Run a command; the exit status it ends with, a Problem or a file error said in one line."""
    try:
        result = call()
    except Problem as exc:
        return say(str(exc), exc.code)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file the command could not read or write
        where = f"{exc.filename}: " if exc.filename else ""
        return say(f"{where}{exc.strerror or exc}", RUNTIME)
    return result if isinstance(result, int) else 0
