"""What each probe stream says now, read through the ORM: what `/claude status` and a probe
incident's card show (in words: `bot.engine.probe_lines`). The value and its rules are in
`bot.store.stream_status`; `bot.store.reader` reads the same for the CLI without the ORM."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from bot.store.models import ProbeResult, ProbeState
from bot.store.stream_status import StreamStatus, status_of


def statuses(session: Session, streams: Iterable[tuple[str, str | None]]) -> list[StreamStatus]:
    """The status of each (stream key, model), in the order given."""
    found = []
    for key, model in streams:
        row = session.get(ProbeState, key)
        last = session.exec(
            select(ProbeResult).where(ProbeResult.probe == key).order_by(col(ProbeResult.id).desc()).limit(1)
        ).first()
        found.append(status_of(key, model, row.state if row else {}, last))
    return found
