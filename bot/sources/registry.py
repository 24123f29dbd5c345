"""The kinds of status source statusbot runs: one line each, the module whose `sources(context)`
builds them (a `bot.sources.source.Context` in, a list of `Source`s out). A source's folder holds its
client, its parsing, its settings and its checks; the engine knows it only by the events' `source`."""

from __future__ import annotations

SOURCES: list[str] = [
    "bot.sources.statuspage.sources",
    "bot.sources.probes.sources",
    "bot.sources.signals.sources",
]
