"""The README's generated part: the settings table, from every setting's field (the core's, then each
registered platform's). `python -m bot.readme` rewrites it in place; a test fails while it is stale."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import CONFIG_ENV, DEFAULT_CONFIG_FILE, describe

START, END = "<!-- settings-table -->", "<!-- /settings-table -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def settings_table() -> str:
    lines = ["| environment variable | TOML key | default | meaning |", "|---|---|---|---|"]
    for row in describe():
        toml = f"`{row.toml}`" if row.toml else "—"
        default = row.default if row.default.startswith("(") else f"`{row.default}`"
        lines.append(f"| `{row.env}` | {toml} | {default} | {row.meaning} |")
    lines.append(f"| `{CONFIG_ENV}` | — | `{DEFAULT_CONFIG_FILE}` | Path of the TOML file. |")
    return "\n".join(lines)


def with_table(text: str) -> str:
    """`text` (the README) with its settings table regenerated."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{settings_table()}\n{END}{tail}"


if __name__ == "__main__":
    README.write_text(with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"rewrote the settings table in {README}\n")
