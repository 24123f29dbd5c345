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

from sqlmodel import Session, col, select

from bot.engine import seen_by
from bot.engine.resolution import AutoResolve
from bot.engine.streams import Stream
from bot.engine.timeline import add_entry, resolve_incident
from bot.store.models import EntryKind, Incident, Kind, Status, TimelineEntry


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


def open_vendor_incident(session: Session, service: str, stream: Stream, probes: ProbeMap) -> Incident | None:
    query = (
        select(Incident)
        .where(
            Incident.service == service,
            Incident.status != Status.RESOLVED,
            Incident.kind == Kind.INCIDENT,
            col(Incident.upstream_id).is_not(None),
            col(Incident.informational).is_(False),
        )
        .order_by(col(Incident.started_at).desc())
    )
    return next((i for i in session.exec(query) if probes.covers(stream.key, i.components)), None)


def open_probe_incident(
    session: Session, service: str, components: list[dict[str, str]], probes: ProbeMap
) -> Incident | None:
    """An open incident only our streams know of, one of whose streams stands for these components."""
    for incident in seen_by.open_stream_incidents(session, service):
        if any(probes.covers(row.stream, components) for row in seen_by.of_incident(session, incident)):
            return incident
    return None


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
        title=f"{service}: {stream.label[0].lower()}{stream.label[1:]} sees {what}",
        status=Status.INVESTIGATING,
        impact="minor" if degraded else "major",
        started_at=since,
        detected_at=since,
        updated_at=now,
    )


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
    others = [seen_by.stream_of(row).label for row in seen_by.failing(session, incident)]
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
