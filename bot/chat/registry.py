"""The chat platforms statusbot knows: one line each, the package of the platform's folder.

A platform's folder holds everything about it, behind three modules the core looks for:
- `settings.py`: `SETTINGS`, its settings model (fields, environment names, validation), mixed into
  `bot.config.Settings`; and `CHANNELS`, the one key a `[[services]]` table or route sets to send a
  service's incidents to another channel. Pydantic only: reading the configuration stays light.
- `room.py`: `ROOM`, a `bot.chat.room.Room`: whether it is configured, how to build its sink and
  command transport, its doctor checks, its loggers. Heavy imports happen inside its methods.
- `cli.py` (optional): `app`, a typer app added as `statusbot <platform> …`.
Nothing outside these folders and this list names a platform.
"""

from __future__ import annotations

PLATFORMS: list[str] = [
    "bot.chat.slack",
    "bot.chat.discord",
]
