"""The probe source: one runner for every declared probe."""

from __future__ import annotations

from bot.sources.probes.runner import ProbeRunner
from bot.sources.source import Context, Source

KIND = "probes"


def sources(context: Context) -> list[Source]:
    runner = ProbeRunner(
        context.settings,
        context.engine,
        context.db,
        context.clock,
        transport=context.transports.get(KIND),
        metrics=context.metrics,
    )
    return [runner]
