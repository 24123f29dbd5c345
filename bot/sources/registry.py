"""The kinds of status source statusbot runs: one line each, the package of the kind's folder.

A kind's folder holds its client, its parsing and whatever it runs, and may hold three modules the
core looks for (see bot/sources/kind.py):
- `settings.py`: `SETTINGS`, its settings model (fields, environment names, validation), mixed into
  `bot.config.Settings`. Pydantic only: reading the configuration stays light;
- `sources.py`: `sources(context)`, the `Source`s it runs on the leader (a `bot.sources.source.Context`
  in, a list of `Source`s out);
- `checks.py`: `checks(settings)`, its `statusbot doctor` checks.
The engine knows a source only by the events' `source`.
"""

from __future__ import annotations

SOURCES: list[str] = [
    "bot.sources.statuspage",
    "bot.sources.probes",
    "bot.sources.signals",
    "bot.sources.alertmanager",
]
