"""The signals' `statusbot doctor` check: with a token set, signals should arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import Settings, view
from bot.doctor import NOT_CONFIGURED, Check, Doctor, Spec, failed, in_daemon_thread, passed, skipped
from bot.sources.signals.health import freshness
from bot.sources.signals.settings import SignalSettings


def checks(settings: Settings) -> list[Spec]:
    return [Spec("signals", check_signals, "check DATABASE_URL")]


async def check_signals(doctor: Doctor) -> Check:
    """With a signal token set, signals should arrive: none for a while means a reporter is misconfigured."""
    settings = view(doctor.settings, SignalSettings)
    if not settings.signal_tokens():
        return skipped(f"{NOT_CONFIGURED} (no STATUSBOT_SIGNALS_TOKEN)")
    stale = timedelta(minutes=settings.signals_stale_minutes)
    found = await in_daemon_thread(lambda: freshness(doctor.settings.database_url, datetime.now(UTC), stale))
    return passed(found.detail) if found.ok else failed(found.detail, found.fix or "")
