"""Arguments typed by people (chat commands, the CLI), checked before they reach the database.

An incident number is ASCII digits, optionally after one `#`, within the range of the database's
integer column (PostgreSQL's `integer` is 32-bit): `²`, `٣` and `99999999999999999999` are refused
with a clear message instead of failing inside `int()` or the database driver.
"""

from __future__ import annotations

from bot.engine.events import ActionError
from bot.inputs import printable
from bot.store.limits import INT4_MAX


class BadArgument(ActionError):
    """A typed argument that cannot be what it claims to be; the message is meant for the user."""


def incident_number(text: str) -> int:
    """`12` or `#12` → 12. Raises BadArgument (with a message for people) for anything else."""
    raw = text[1:] if text.startswith("#") else text
    if not (raw.isascii() and raw.isdigit()):
        raise BadArgument(f"`{printable(text)}` is not an incident number.")
    if len(raw) > len(str(INT4_MAX)) or not 1 <= int(raw) <= INT4_MAX:
        raise BadArgument(f"There is no incident #{printable(raw)}.")
    return int(raw)


def bounded_int(text: str, low: int, high: int, what: str) -> int:
    """A whole number of ASCII digits in [low, high], e.g. minutes to snooze."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)) or not low <= int(text) <= high:
        raise BadArgument(f"`{printable(text)}` is not {what} ({low} to {high}).")
    return int(text)
