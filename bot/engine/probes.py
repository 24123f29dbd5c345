"""Probe incidents, and their correlation with the vendor's own incidents.

A probe outage and the vendor's Statuspage incident for the same outage are ONE incident, one
thread, whichever came first: a failing probe attaches to an open vendor incident on a component it
stands for; a new vendor incident attaches to an open probe-only incident. Both paths run inside the
engine's transactions, so two signals arriving at once still meet in one row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlmodel import Session

from bot.engine import seen_by
from bot.engine.resolution import AutoResolve
from bot.engine.streams import Stream
from bot.engine.timeline import add_entry, resolve_incident
from bot.store.enums import EntryKind, Kind, Status
from bot.store.models import Incident, TimelineEntry


class ProbeMap:
    """Which vendor components (ids or names) each probe stream stands for, by stream key; empty means 'any'."""

    def __init__(self, components: Mapping[str, Iterable[str]] | None = None) -> None:
        self.components = {name: frozenset(c.lower() for c in comps) for name, comps in (components or {}).items()}

    def covers(self, stream: str, incident_components: list[dict[str, str]]) -> bool:
        """Whether a stream (by key) stands for these components: a probe's streams stand for its
        `components`; any other stream, and a probe without them, for any."""
        wanted = self.components.get(stream, frozenset())
        if not wanted:
            return True
        return any(c["id"].lower() in wanted or c["name"].lower() in wanted for c in incident_components)

    def informational(self, incident_components: list[dict[str, str]]) -> bool:
        """A vendor incident touching none of the components our probes map is for information."""
        mapped = [p for p, comps in self.components.items() if comps]
        if not mapped or not incident_components:
            return False
        return not any(self.covers(p, incident_components) for p in mapped)


def summary(outcomes: Iterable[str]) -> str:
    counts = Counter(outcomes)
    return ", ".join(f"{name} ×{n}" for name, n in counts.most_common())


def last_stream_incident(session: Session, service: str, stream: Stream) -> Incident | None:
    return seen_by.last_incident(session, service, stream.key)


def new_stream_incident(service: str, stream: Stream, since: datetime, degraded: bool, now: datetime) -> Incident:
    what = "slow responses" if degraded else "errors"
    return Incident(
        service=service,
        source=stream.source,
        upstream_id=None,
        kind=Kind.INCIDENT,
        probe_name=stream.key,
        title=f"{service}: {_lower(stream.label)} sees {what}",
        status=Status.INVESTIGATING,
        impact="minor" if degraded else "major",
        started_at=since,
        detected_at=since,
        updated_at=now,
    )


def retitle(session: Session, incident: Incident) -> None:
    """An incident only our streams know of, seen by several, is titled by all of them:
    `claude: probe api on claude-opus-4-5 and probe api on claude-sonnet-4-6 see errors`."""
    rows = seen_by.of_incident(session, incident)
    if incident.upstream_id is not None or len(rows) < 2:
        return
    names = [_lower(Stream.of(row).label) for row in rows]
    shown = names if len(names) <= 3 else [*names[:2], f"{len(names) - 2} more streams"]
    what = "slow responses" if incident.title.endswith(" slow responses") else "errors"
    incident.title = f"{incident.service}: {', '.join(shown[:-1])} and {shown[-1]} see {what}"


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def note_failing(
    session: Session, incident: Incident, stream: Stream, since: datetime, outcomes: str, now: datetime
) -> None:
    add_entry(
        session,
        incident,
        EntryKind.PROBE,
        now,
        source=stream.source,
        upstream_id=f"{stream.key}:{since.isoformat()}",
        body=f"{stream.label} failing since {since:%H:%M:%S} UTC ({outcomes}).",
    )
    incident.detected_at = min(incident.detected_at or since, since)
    seen_by.record_failing(session, incident, stream, since, now)


def reopen(session: Session, incident: Incident, stream: Stream, since: datetime, now: datetime) -> None:
    add_entry(
        session,
        incident,
        EntryKind.REOPEN,
        now,
        source=stream.source,
        status=Status.INVESTIGATING,
        upstream_id=f"{stream.key}:reopen:{since.isoformat()}",
        body=f"{stream.label} is failing again (since {since:%H:%M:%S} UTC): reopened.",
    )
    incident.status, incident.resolved_at, incident.resolved_by = Status.INVESTIGATING, None, None


def recovered(session: Session, incident: Incident, stream: Stream, now: datetime, policy: AutoResolve) -> None:
    """A stream recovering resolves an incident once every stream that saw it has recovered, and the
    vendor's incident (when there is one) is resolved too, unless the policy is `either`."""
    seen_by.record_recovered(session, incident, stream, now)
    others = [Stream.of(row).label for row in seen_by.failing(session, incident)]
    vendor_open = incident.upstream_id is not None and incident.vendor_resolved_at is None
    wait_vendor = vendor_open and policy != AutoResolve.EITHER
    body = f"{stream.label} has recovered."
    if others:
        body += f" Still failing: {', '.join(others)}."
    elif wait_vendor:
        body += " Waiting for the vendor to resolve."
    done = not others and not wait_vendor
    add_entry(
        session,
        incident,
        EntryKind.PROBE,
        now,
        source=stream.source,
        status=Status.RESOLVED if done else None,
        body=body,
        upstream_id=f"{stream.key}:recovered:{now.isoformat()}",
    )
    if done and incident.is_open:
        resolve_incident(incident, now, stream.source)


def flapping(session: Session, incident: Incident, stream: Stream, now: datetime) -> None:
    incident.flapping = True
    add_entry(
        session,
        incident,
        EntryKind.NOTE,
        now,
        source=stream.source,
        upstream_id=f"{stream.key}:flapping:{now.isoformat()}",
        body=f"{stream.label} is flapping: further failures and recoveries stay in this incident.",
    )


def attach_vendor(
    session: Session, incident: Incident, source: str, upstream_id: str, first_update: datetime | None, now: datetime
) -> TimelineEntry:
    incident.upstream_id = upstream_id
    incident.vendor_acknowledged_at = first_update or now
    return add_entry(
        session,
        incident,
        EntryKind.NOTE,
        now,
        source=source,
        upstream_id=f"vendor:{upstream_id}",
        body="The vendor has acknowledged this outage on its status page.",
    )
