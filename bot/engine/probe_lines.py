"""A probe stream's status in words, per model: one line of `/claude status` and of a probe incident's card."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.engine.durations import human_duration

if TYPE_CHECKING:
    from bot.store.records import AnyResult
    from bot.store.stream_status import StreamStatus


def stream_name(status: StreamStatus) -> str:
    """`api on claude-sonnet-4-6`: the probe and its model (as the engine's `Stream.label` names it)."""
    probe = status.key.split(":", 1)[0]
    return f"{probe} on {status.model}" if status.model else probe


def stream_line(status: StreamStatus, now: datetime, last: bool = True) -> str:
    """`Probe api on claude-sonnet-4-6: failing, 12 of the last 60 attempts failed (last: failure ...)`;
    for a card, which is not redrawn at every attempt, only `Probe api on ...: 12 of the last 60 attempts failed`."""
    if status.last is None:
        return f"Probe {stream_name(status)}: no results yet"
    rate = f"{status.failed} of the last {status.attempts} attempts failed" if status.attempts else ""
    if not last:  # the card says whether the stream is failing; this says how much
        return f"Probe {stream_name(status)}: {rate or 'no attempts yet'}"
    rate = f", {rate}" if rate else ""
    return f"Probe {stream_name(status)}: {status.health}{rate} (last: {result_words(status.last, now)})"


def result_words(result: AnyResult, now: datetime) -> str:
    """`failure api_error, HTTP 500, 45 ms, 3s ago`."""
    why = f" {result.error_type}" if result.error_type else ""
    code = f", HTTP {result.status_code}" if result.status_code else ""
    latency = f", {result.latency_ms:.0f} ms" if result.latency_ms is not None else ""
    return f"{result.outcome}{why}{code}{latency}, {human_duration(now - result.at)} ago"
