"""What arrived since the detector last looked: per traffic stream, the new good and failed calls.

Every replica writes rollups; the leader's detector run takes, in one transaction with the detector's
state, the difference between each recently written row and what was already fed from it (`fed_ok`,
`fed_failures`), and marks it fed. So a row updated ten times (running totals, more raw batches) is
counted once in all, a restart neither forgets nor repeats, and the run reads only rows received in
the last `HORIZON` (an index on `received_at`). Calls of a minute older than `HORIZON` when they
arrive (a sender's backlog) are stored and shown, but never fed: old news does not open incidents.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.outcomes import Verdict, verdict
from bot.store.models import TrafficRollup

HORIZON = timedelta(minutes=10)
TRAFFIC = "traffic"


@dataclass
class Delta:
    service: str
    source: str
    model: str
    ok: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # the failures by kind (an estimate: see _kinds)

    @property
    def stream(self) -> str:
        return f"{TRAFFIC}:{self.source}:{self.model}"


def take(session: Session, now: datetime, horizon: timedelta = HORIZON) -> list[Delta]:
    """The new calls per stream, marking them fed (the caller commits with the detector's state)."""
    query = (
        select(TrafficRollup)
        .where(TrafficRollup.received_at >= now - horizon, TrafficRollup.seconds == 60)
        .with_for_update()
    )
    deltas: dict[tuple[str, str, str], Delta] = {}
    for row in session.exec(query):
        ok, failed = max(0, row.ok - row.fed_ok), max(0, row.failures - row.fed_failures)
        if not ok and not failed:
            continue
        row.fed_ok, row.fed_failures = max(row.ok, row.fed_ok), max(row.failures, row.fed_failures)
        session.add(row)
        if row.start < now - horizon:
            continue
        delta = deltas.setdefault((row.service, row.source, row.model), Delta(row.service, row.source, row.model))
        delta.ok += ok
        delta.failed += failed
        delta.errors.update(_kinds(row.errors, failed))
    return sorted(deltas.values(), key=lambda d: (d.service, d.stream))


def _kinds(errors: dict[str, int], failed: int) -> Counter[str]:
    """`failed` new failures shared out over the row's failure kinds in proportion (a row keeps counts
    by kind, not which of them are new)."""
    kinds = {key: n for key, n in errors.items() if verdict(key) == Verdict.FAILURE and n > 0}
    total = sum(kinds.values())
    if not failed or not total:
        return Counter({"failure": failed} if failed else {})
    shares = Counter({key: failed * n // total for key, n in kinds.items()})
    shares[max(kinds, key=lambda k: kinds[k])] += failed - sum(shares.values())
    return +shares
