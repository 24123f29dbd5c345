"""What each probe stream says now, per model: read from the detector's stored state (`probe_state`,
the JSON of `bot.sources.probes.detector.State`) and the stream's latest result. Read-only; what
`/claude status`, a probe incident's card (in words: `bot.engine.probe_lines`) and `statusbot status
--json` show."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from bot.store.models import ProbeResult, ProbeState

ALL_LANES = "*"  # the detector's lane that sees every attempt of a stream


@dataclass(frozen=True)
class StreamStatus:
    key: str  # the stream: `<probe>` or `<probe>:<model>`
    model: str | None
    health: str  # healthy | erroring | failing | misconfigured | no results yet
    failed: int  # of the last `attempts` attempts (every lane)
    attempts: int
    last: ProbeResult | None

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


def health(state: dict[str, Any]) -> str:
    if state.get("config_alerted"):
        return "misconfigured"
    if state.get("open"):
        return "failing"
    return "erroring" if state.get("failures") else "healthy"


def statuses(session: Session, streams: Iterable[tuple[str, str | None]]) -> list[StreamStatus]:
    """The status of each (stream key, model), in the order given."""
    found = []
    for key, model in streams:
        row = session.get(ProbeState, key)
        state = row.state if row else {}
        window = list(state.get("lanes", {}).get(ALL_LANES, {}).get("window", ()))
        last = session.exec(
            select(ProbeResult).where(ProbeResult.probe == key).order_by(col(ProbeResult.id).desc()).limit(1)
        ).first()
        found.append(StreamStatus(key, model, health(state), sum(window), len(window), last))
    return found
