"""The traffic source: the leader's detector run over the signals that arrived (none without a token)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.config import Settings
from bot.sources.probes import detector
from bot.sources.probes.runner import policy_from as probe_policy
from bot.sources.signals.job import TrafficDetector
from bot.sources.source import Context, Source


def policy_from(settings: Settings) -> detector.Policy:
    """The probes' hysteresis settings; the run's interval is the detector's."""
    every = timedelta(seconds=settings.signals_detect_interval)
    return replace(probe_policy(settings), interval=every, recheck=every)


def sources(context: Context) -> list[Source]:
    settings = context.settings
    if not settings.signal_tokens():
        return []
    policy = policy_from(settings)
    return [TrafficDetector(context.engine, context.db, context.clock, policy, settings.signals_detect_interval)]
