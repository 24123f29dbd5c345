"""Untrusted JSON (status pages, webhooks, signals) read within limits, before any parser sees it.

`read_json` refuses a document that is too large or nested too deeply *before* parsing it (Python's
`json` would otherwise raise RecursionError, or spend memory on a hostile document), refuses what
is not UTF-8 JSON, and hands back a tree whose strings can be stored (see `bot.store.limits`) and
whose numbers are finite. Every refusal is a `BadInput` with one line fit for a log and a 4xx.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from bot.store.limits import storable

MAX_DEPTH = 32  # real Statuspage documents nest 6 deep (incidents → updates → affected components)
MAX_BYTES = 8 * 1024 * 1024  # incidents.json of a busy page is ~200 KB
_BRACKET_OR_QUOTE = re.compile(rb'[\[\]{}"]')
_REST_OF_STRING = re.compile(rb'(?:[^"\\]|\\.)*+"', re.DOTALL)


class BadInput(ValueError):
    """Input refused; the message is one line, safe to log and to answer. `kind` names the reason,
    for logging each kind of refusal at most once a minute."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def printable(text: str, limit: int = 80) -> str:
    """Text from outside, fit to echo in a log line or an answer: bounded, one line, no control
    characters, no backticks (which would end a code span around it)."""
    clean = "".join(ch if ch.isprintable() and ch != "`" else "?" for ch in text[:limit])
    return clean + ("…" if len(text) > limit else "")


def read_json(raw: bytes, what: str, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    if len(raw) > max_bytes:
        raise BadInput(f"{what}: {len(raw)} bytes is more than the {max_bytes} allowed", "too-large")
    if nesting(raw, stop_above=max_depth) > max_depth:
        raise BadInput(f"{what}: nested deeper than {max_depth} levels", "too-deep")
    try:
        tree = json.loads(raw, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BadInput(f"{what}: not UTF-8", "not-utf8") from None
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
        raise BadInput(f"{what}: not JSON ({printable(str(exc))})", "not-json") from None
    return clean(tree, what)


def nesting(raw: bytes, stop_above: int | None = None) -> int:
    """How deep the brackets of a JSON text go, strings skipped: one linear scan, no recursion
    (every byte is looked at once, so a hostile document costs no more than its length)."""
    depth = deepest = pos = 0
    while (found := _BRACKET_OR_QUOTE.search(raw, pos)) is not None:
        token, pos = found.group(), found.end()
        if token == b'"':
            rest = _REST_OF_STRING.match(raw, pos)
            if rest is None:  # an unterminated string: not JSON, json.loads will say so
                break
            pos = rest.end()
        elif token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if stop_above is not None and deepest > stop_above:
                break
        else:
            depth -= 1
    return deepest


def clean(tree: Any, what: str) -> Any:
    """Strings (keys too) made storable; infinite numbers refused. `tree` is already depth-bounded."""
    if isinstance(tree, str):
        return storable(tree)
    if isinstance(tree, dict):
        return {storable(k): clean(v, what) for k, v in tree.items()}
    if isinstance(tree, list):
        return [clean(v, what) for v in tree]
    if isinstance(tree, float) and not math.isfinite(tree):
        raise BadInput(f"{what}: a number too large to hold", "huge-number")
    return tree


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
