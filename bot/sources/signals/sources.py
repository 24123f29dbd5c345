"""The traffic source: the leader's detector run over the signals that arrived (none without a token)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.config import Settings, view
from bot.sources.probes import detector
from bot.sources.probes.runner import policy_from as probe_policy
from bot.sources.signals.job import TrafficDetector
from bot.sources.signals.settings import SignalSettings
from bot.sources.source import Context, Source


def policy_from(settings: Settings) -> detector.Policy:
    """The probes' policy, but for two things. The run's interval is the detector's. And a stream resolves
    on the error-rate test's evidence of recovery alone (`resolve_after` 1): a run's counts always mix
    good calls and failures, and at 100 calls/s even a 2% background puts a failure in nearly every run,
    so asking for `probe_resolve_after` clean runs in a row would keep an incident open for ever."""
    every = timedelta(seconds=view(settings, SignalSettings).signals_detect_interval)
    return replace(probe_policy(settings), interval=every, recheck=every, resolve_after=1)


def sources(context: Context) -> list[Source]:
    settings = view(context.settings, SignalSettings)
    if not settings.signal_tokens():
        return []
    policy = policy_from(context.settings)
    return [TrafficDetector(context.engine, context.db, context.clock, policy, settings.signals_detect_interval)]
