"""A validated batch into per-minute rollups, in one transaction, idempotently.

- counts: the sender's running totals for a minute replace the row when their total is larger (a repeat
  or a late retry of an older total changes nothing);
- calls: summed per source, model and minute into the sender's row; the batch's digest is recorded in
  the same transaction, so the same batch sent twice (a retry after a lost reply) is taken once.
Rows are read `FOR UPDATE` (PostgreSQL; SQLite serialises writers), so two replicas taking batches of
one sender at once do not lose either.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.outcomes import Verdict, call_verdict, error_key, verdict
from bot.sources.signals.batch import Batch, Call
from bot.store.models import SignalReceipt, TrafficRollup

MINUTE = 60


@dataclass
class Tally:
    ok: int = 0
    by_verdict: Counter[Verdict] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.ok + sum(self.by_verdict.values())

    def p95(self) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else None
        return round(statistics.quantiles(self.latencies, n=20, method="inclusive")[-1], 1)


@dataclass(frozen=True)
class Taken:
    accepted: int
    ignored: int


Key = tuple[str, str, datetime]  # (source, model, minute)


def store(session: Session, service: str, batch: Batch, now: datetime, digest: str) -> Taken:
    """Write the batch, whose body has this `digest` (the caller commits; on an IntegrityError, another
    replica took the same batch or row at once: roll back, store again). Returns items taken and had."""
    if batch.counts is not None:
        return _store_counts(session, service, batch, now)
    return _store_calls(session, service, batch, now, digest)


def _store_counts(session: Session, service: str, batch: Batch, now: datetime) -> Taken:
    accepted, sender = 0, f"counts:{batch.sender}"
    counts = batch.counts or []
    rows = _rows(session, service, sender, [c.minute for c in counts])
    for count in counts:
        tally = Tally(ok=count.ok, errors=Counter(count.errors))
        for key, n in count.errors.items():
            tally.by_verdict[verdict(key)] += n
        pk = (service, batch.source_of(count), count.model, count.minute, MINUTE, sender)
        row = rows.get(pk)
        if row is not None and row.calls >= tally.calls:
            continue  # a repeat, or an older total arriving late
        row = row or _new_row(pk)
        _set(row, tally, now)
        row.latency_p95_ms = count.p95_ms
        session.add(row)
        accepted += 1
    return Taken(accepted, len(batch.counts or []) - accepted)


def _store_calls(session: Session, service: str, batch: Batch, now: datetime, digest: str) -> Taken:
    calls = batch.calls or []
    if session.get(SignalReceipt, (service, digest)) is not None:
        return Taken(0, len(calls))
    session.add(SignalReceipt(service=service, digest=digest, received_at=now))
    groups, sender = _aggregate(batch, calls), f"calls:{batch.sender}"
    rows = _rows(session, service, sender, [minute for _, _, minute in groups])
    for (source, model, minute), tally in groups.items():
        pk = (service, source, model, minute, MINUTE, sender)
        row = rows.get(pk)
        if row is None:
            row = _new_row(pk)
            _set(row, tally, now)
            row.latency_p95_ms = tally.p95()
        else:
            _add(row, tally, now)
        session.add(row)
    return Taken(len(calls), 0)


Pk = tuple[str, str, str, datetime, int, str]


def _rows(session: Session, service: str, sender: str, minutes: list[datetime]) -> dict[Pk, TrafficRollup]:
    """The sender's rows of these minutes, in one query, locked for this transaction (PostgreSQL)."""
    if not minutes:
        return {}
    query = (
        select(TrafficRollup)
        .where(
            TrafficRollup.service == service,
            TrafficRollup.sender == sender,
            TrafficRollup.seconds == MINUTE,
            TrafficRollup.start >= min(minutes),
            TrafficRollup.start <= max(minutes),
        )
        .with_for_update()
    )
    return {(r.service, r.source, r.model, r.start, r.seconds, r.sender): r for r in session.exec(query)}


def _aggregate(batch: Batch, calls: list[Call]) -> dict[Key, Tally]:
    """The calls summed per source, model and minute: the hot path of a raw batch (5,000 calls), so a
    minute is an integer until the end and each distinct answer is judged once."""
    groups: dict[tuple[str, str, int], Tally] = defaultdict(Tally)
    judged: dict[tuple[int | None, str | None], tuple[Verdict, str]] = {}  # a batch has few distinct answers
    default = batch.source or ""
    for call in calls:
        answer = (call.status, call.error_type)
        judgement = judged.get(answer)
        if judgement is None:
            judgement = judged[answer] = (call_verdict(*answer), error_key(*answer) or "api_error")
        group = groups[(call.source or default, call.model, int(call.at.timestamp()) // MINUTE)]
        if judgement[0] == Verdict.OK:
            group.ok += 1
            if call.latency_ms is not None:
                group.latencies.append(call.latency_ms)
        else:
            group.by_verdict[judgement[0]] += 1
            group.errors[judgement[1]] += 1
    return {
        (source, model, datetime.fromtimestamp(minute * MINUTE, UTC)): tally
        for (source, model, minute), tally in groups.items()
    }


def body_digest(body: bytes) -> str:
    """A batch's identity: its bytes (a retry sends the very same ones)."""
    return hashlib.sha256(body).hexdigest()


def _new_row(pk: Pk) -> TrafficRollup:
    service, source, model, start, seconds, sender = pk
    return TrafficRollup(service=service, source=source, model=model, start=start, seconds=seconds, sender=sender)


def _set(row: TrafficRollup, tally: Tally, now: datetime) -> None:
    row.ok = tally.ok
    row.failures = tally.by_verdict[Verdict.FAILURE]
    row.throttled = tally.by_verdict[Verdict.THROTTLED]
    row.caller = tally.by_verdict[Verdict.CALLER]
    row.errors = dict(tally.errors)
    row.received_at = now


def _add(row: TrafficRollup, tally: Tally, now: datetime) -> None:
    """Sums stay exact; the p95 of a minute filled by several batches is their call-weighted mean."""
    p95 = tally.p95()
    if p95 is not None:
        old = row.latency_p95_ms
        row.latency_p95_ms = p95 if old is None else round((old * row.ok + p95 * tally.ok) / (row.ok + tally.ok), 1)
    row.ok += tally.ok
    row.failures += tally.by_verdict[Verdict.FAILURE]
    row.throttled += tally.by_verdict[Verdict.THROTTLED]
    row.caller += tally.by_verdict[Verdict.CALLER]
    row.errors = dict(Counter(row.errors) + tally.errors)
    row.received_at = now
