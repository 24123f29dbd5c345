"""What the database can hold, checked before anything from outside is written.

Plain `int` columns are `integer` in the migrations: 32-bit in PostgreSQL (SQLite's are 64-bit, so
the narrower bound is the one that keeps both working). Text columns cannot hold a lone UTF-16
surrogate (SQLite's driver cannot encode it; neither can PostgreSQL's) nor NUL (PostgreSQL refuses
it in text), so such characters are replaced before they are stored.
"""

from __future__ import annotations

import re

INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with NUL dropped and lone surrogates replaced by U+FFFD; unchanged (the same object) when clean."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, text)
