"""What one probe stream says now, per model, as a value: its health from the detector's stored state
(`probe_state`, the JSON of `bot.sources.probes.detector.State`) and its latest result. Read by the
ORM (`bot.store.probe_status`) for the bot, and without it (`bot.store.reader`) for the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.store.records import AnyResult

ALL_LANES = "*"  # the detector's lane that sees every attempt of a stream


@dataclass(frozen=True)
class StreamStatus:
    key: str  # the stream: `<probe>` or `<probe>:<model>`
    model: str | None
    health: str  # healthy | erroring | failing | misconfigured | no results yet
    failed: int  # of the last `attempts` attempts (every lane)
    attempts: int
    last: AnyResult | None

    def json(self) -> dict[str, Any]:
        last = self.last
        return {
            "stream": self.key,
            "model": self.model,
            "health": self.health,
            "recent_failed": self.failed,
            "recent_attempts": self.attempts,
            "last": None
            if last is None
            else {
                "at": last.at.isoformat().replace("+00:00", "Z"),
                "outcome": last.outcome,
                "status_code": last.status_code,
                "error_type": last.error_type,
                "latency_ms": last.latency_ms,
            },
        }


def health(state: Mapping[str, Any]) -> str:
    if state.get("config_alerted"):
        return "misconfigured"
    if state.get("open"):
        return "failing"
    return "erroring" if state.get("failures") else "healthy"


def status_of(key: str, model: str | None, state: Mapping[str, Any], last: AnyResult | None) -> StreamStatus:
    """The stream's status from its detector state (`{}` before its first attempt) and latest result."""
    window = list(state.get("lanes", {}).get(ALL_LANES, {}).get("window", ()))
    return StreamStatus(key, model, health(state), sum(window), len(window), last)
