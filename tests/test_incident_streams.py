"""An incident records every stream that saw it (`incident_stream`), and recovery and the `agree`
policy wait for all of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.engine import seen_by
from bot.engine.events import IncidentObserved, UpdateObserved
from bot.engine.incidents import IncidentEngine
from bot.engine.resolution import AutoResolve
from bot.engine.streams import Stream
from bot.store.db import Database, upgrade
from bot.store.models import Incident, IncidentStream, TimelineEntry

T0 = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
API = Stream.probe_model("api", "claude-opus-4-5")
TRAFFIC = Stream.traffic("checkout", "claude-opus-4-5")


def vendor(status: str = "investigating", at: datetime = T0) -> IncidentObserved:
    return IncidentObserved(
        service="claude",
        source="statuspage",
        upstream_id="v1",
        title="Elevated errors on Claude Opus 4.5",
        status=status,
        impact="minor",
        started_at=T0,
        updates=(UpdateObserved(f"v1-{status}", status, status.capitalize(), at),),
    )


def make_engine(tmp_path: Path, policy: AutoResolve) -> IncidentEngine:
    db = Database(f"sqlite:///{tmp_path / 'streams.db'}")
    db.upgrade()
    return IncidentEngine(db, ["console"], ManualClock(T0), auto_resolve=policy)


def the_incident(engine: IncidentEngine) -> tuple[Incident, list[IncidentStream], list[str]]:
    with engine.db.session() as session:
        incident = session.exec(select(Incident)).one()
        rows = seen_by.of_incident(session, incident)
        bodies = [e.body for e in session.exec(select(TimelineEntry).order_by(TimelineEntry.id))]
    return incident, rows, bodies


def both_fail(engine: IncidentEngine) -> None:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    engine.apply_incident(vendor())
    clock.advance(60)
    engine.stream_failing("claude", API, T0, ["failure"] * 3)
    clock.advance(60)
    engine.stream_failing("claude", TRAFFIC, T0 + timedelta(seconds=30), ["failure"])


def test_every_stream_that_saw_it_is_recorded_and_recovery_waits_for_all(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, AutoResolve.EITHER)
    both_fail(engine)
    incident, rows, _ = the_incident(engine)
    assert [(r.stream, r.source, r.model, r.state) for r in rows] == [
        ("api", "probe", "claude-opus-4-5", "failing"),
        ("traffic:checkout:claude-opus-4-5", "traffic", "claude-opus-4-5", "failing"),
    ]
    assert rows[0].first_seen == T0 + timedelta(seconds=60) and rows[0].failing_since == T0
    engine.stream_recovered("claude", API)
    incident, rows, bodies = the_incident(engine)
    assert incident.is_open and [r.state for r in rows] == ["recovered", "failing"]
    assert bodies[-1] == "Probe api has recovered. Still failing: Traffic from checkout on claude-opus-4-5."
    engine.stream_recovered("claude", TRAFFIC)
    incident, rows, bodies = the_incident(engine)
    assert not incident.is_open and incident.resolved_by == "traffic"  # `either`: ours all recovered
    assert bodies[-1] == "Traffic from checkout on claude-opus-4-5 has recovered."


def test_agree_holds_the_vendors_resolution_while_any_stream_still_fails(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, AutoResolve.AGREE)
    both_fail(engine)
    engine.stream_recovered("claude", API)
    engine.apply_incident(vendor("resolved", T0 + timedelta(minutes=5)))
    incident, _, _ = the_incident(engine)
    assert incident.is_open and incident.status == "monitoring"  # the traffic still fails
    engine.stream_recovered("claude", TRAFFIC)
    incident, _, bodies = the_incident(engine)
    assert not incident.is_open and bodies[-1] == "Traffic from checkout on claude-opus-4-5 has recovered."


def test_a_stream_that_recovers_after_a_person_resolved_only_records_its_state(tmp_path: Path) -> None:
    from bot.engine.events import Actor

    engine = make_engine(tmp_path, AutoResolve.VENDOR)
    engine.stream_failing("claude", API, T0, ["failure"] * 3)
    incident, _, before = the_incident(engine)
    assert incident.id is not None
    engine.resolve(incident.id, Actor(name="alice", platform="cli"))
    engine.stream_recovered("claude", API)
    _, rows, bodies = the_incident(engine)
    assert [r.state for r in rows] == ["recovered"] and bodies == [*before, "Resolved by alice"]


def test_migration_0009_turns_each_probe_name_into_the_incidents_first_stream(any_db_url: str) -> None:
    upgrade(any_db_url, "0008")
    database = Database(any_db_url)
    insert = (
        "INSERT INTO incident (id, service, source, kind, title, status, impact, components, announced, preexisting,"
        " flapping, informational, probe_name, started_at, detected_at, updated_at) VALUES (:id, 'claude', 'probe',"
        " 'incident', 't', :status, 'major', '[]', :yes, :no, :no, :no, :probe, :at, :at, :at)"
    )
    at = datetime(2026, 1, 1)
    with database.engine.begin() as conn:
        for number, status, probe in [
            (1, "investigating", "api"),
            (2, "investigating", "traffic:checkout:claude-opus-4-5"),
            (3, "resolved", "web"),
            (4, "investigating", "api:claude-sonnet-4-6"),
        ]:
            conn.execute(
                text(insert), {"id": number, "status": status, "probe": probe, "at": at, "yes": True, "no": False}
            )
        conn.execute(
            text("INSERT INTO probe_state (probe, state) VALUES ('api', :s), ('web', :s)"), {"s": '{"open": true}'}
        )
    upgrade(any_db_url)
    with database.session() as session:
        rows = {r.incident_id: r for r in session.exec(select(IncidentStream))}
    database.dispose()
    assert {n: (r.stream, r.source, r.model, r.probe, r.state) for n, r in rows.items()} == {
        1: ("api", "probe", None, "api", "failing"),  # open, and its detector still says so
        2: ("traffic:checkout:claude-opus-4-5", "traffic", "claude-opus-4-5", None, "recovered"),
        3: ("web", "probe", None, "web", "recovered"),  # the incident is resolved
        4: ("api:claude-sonnet-4-6", "probe", "claude-sonnet-4-6", "api", "recovered"),
    }
    assert rows[1].first_seen == at.replace(tzinfo=UTC)


@pytest.mark.parametrize("policy", list(AutoResolve))
def test_a_stream_alone_still_resolves_its_own_incident(tmp_path: Path, policy: AutoResolve) -> None:
    engine = make_engine(tmp_path, policy)
    engine.stream_failing("claude", API, T0, ["failure"] * 3)
    engine.stream_recovered("claude", API)
    incident, rows, bodies = the_incident(engine)
    assert not incident.is_open and bodies[-1] == "Probe api has recovered." and rows[0].state == "recovered"


def test_a_vendor_incident_resolved_when_first_seen_never_closes_an_open_probe_incident(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, AutoResolve.VENDOR)
    engine.stream_failing("claude", API, T0, ["failure"] * 3)
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(600)
    engine.apply_incident(vendor("resolved", T0 - timedelta(hours=3)))  # an old outage, posted after the fact
    with engine.db.session() as session:
        ours = session.exec(select(Incident).where(col(Incident.upstream_id).is_(None))).one()
        theirs = session.exec(select(Incident).where(Incident.upstream_id == "v1")).one()
    assert ours.is_open and ours.resolved_at is None
    assert not theirs.is_open and theirs.id != ours.id
