"""One outage, one thread: which open incident a failing stream joins, and which open stream incident
a new vendor incident joins.

A failing stream joins, in this order of preference (the oldest first within each):
0. an open incident the vendor's own incident names the stream's model in, or one a stream of the
   same model already reported;
1. an open vendor incident that names no model (or, for a stream of no model, any vendor incident) on
   a component the stream stands for;
2. any other open incident only our streams know of, in the same service: two models, or a probe
   and the traffic, failing at once are one outage.
It never joins a vendor incident that names other models only: the vendor said which models fail.
Maintenance, informational incidents and incidents that affect no model in use are never joined.

A new vendor incident joins the oldest open incident only our streams know of that stands for its
components, and when it names models, only one a stream of one of those models reported. One that is
already resolved when first seen joins nothing: it is news of the past, and must not close an outage
that is going on now.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.engine import seen_by
from bot.engine.model_names import matches_any
from bot.engine.probes import ProbeMap
from bot.engine.streams import Stream
from bot.store.enums import Kind, Status
from bot.store.models import Incident


def stream_target(session: Session, service: str, stream: Stream, probes: ProbeMap) -> Incident | None:
    """The open incident a stream that starts failing joins, or None for a new one."""
    ranked = []
    for incident in _joinable(session, service):
        rank = _rank(session, incident, stream, probes)
        if rank is not None:
            ranked.append((rank, incident.started_at, incident.id or 0, incident))
    return min(ranked, key=lambda r: r[:3])[3] if ranked else None


def _rank(session: Session, incident: Incident, stream: Stream, probes: ProbeMap) -> int | None:
    if incident.models:  # the vendor said which models fail
        if stream.model is None:
            return 1 if probes.covers(stream.key, incident.components) else None
        return 0 if matches_any(incident.models, stream.model) else None
    if stream.model and any(row.model == stream.model for row in seen_by.of_incident(session, incident)):
        return 0
    if incident.upstream_id is not None:
        return 1 if probes.covers(stream.key, incident.components) else None
    return 2


def _joinable(session: Session, service: str) -> list[Incident]:
    query = select(Incident).where(
        Incident.service == service,
        Incident.status != Status.RESOLVED,
        Incident.kind == Kind.INCIDENT,
        col(Incident.informational).is_(False),
        col(Incident.unaffected).is_(False),
    )
    return [i for i in session.exec(query) if i.upstream_id is not None or seen_by.of_incident(session, i)]


def vendor_target(
    session: Session, service: str, components: list[dict[str, str]], models: list[str], probes: ProbeMap
) -> Incident | None:
    """The open incident only our streams know of that a new (open) vendor incident joins."""
    for incident in seen_by.open_stream_incidents(session, service):
        rows = seen_by.of_incident(session, incident)
        if not any(probes.covers(row.stream, components) for row in rows):
            continue
        if not models or any(matches_any(models, row.model) for row in rows):
            return incident
    return None
