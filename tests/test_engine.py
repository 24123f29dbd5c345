"""The engine core and its collaborators: entries carry the event's own source, a page closes only
what its own source opened, and every entry kind has one label every chat shows."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.chat.base import Delivery, ThreadRef
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.engine.events import IncidentObserved, PageSnapshot, UpdateObserved
from bot.engine.incidents import IncidentEngine
from bot.engine.views import ENTRY_LABEL, card, entry_view
from bot.store.db import Database
from bot.store.enums import EntryKind, Kind
from bot.store.models import Incident, TimelineEntry

T0 = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)


def event(source: str, upstream: str) -> IncidentObserved:
    return IncidentObserved(
        service="claude",
        source=source,
        upstream_id=upstream,
        title=f"Errors seen by {source}",
        status="investigating",
        impact="major",
        started_at=T0,
        updates=(UpdateObserved(f"{upstream}-u1", "investigating", "Looking", T0),),
    )


@pytest.fixture
def engine(tmp_path: Path) -> IncidentEngine:
    db = Database(f"sqlite:///{tmp_path / 'engine.db'}")
    db.upgrade()
    return IncidentEngine(db, ["console"], ManualClock(T0))


def test_entries_carry_the_events_source_and_a_page_closes_only_its_own(engine: IncidentEngine) -> None:
    engine.apply_incident(event("rss", "feed-1"))
    engine.apply_incident(event("statuspage", "page-1"))
    # The Statuspage poll lists neither (twice: one absence never closes): only its own incident vanished.
    for _ in range(2):
        engine.apply_snapshot(PageSnapshot(service="claude", source="statuspage", incidents=()))
    with engine.db.session() as session:
        by_source = {i.source: i for i in session.exec(select(Incident))}
        sources = {e.source for e in session.exec(select(TimelineEntry).where(TimelineEntry.kind == "vendor_update"))}
    assert sources == {"rss", "statuspage"}
    assert by_source["rss"].is_open and not by_source["statuspage"].is_open
    assert by_source["statuspage"].resolved_by == "statusbot"


async def test_every_entry_kind_has_a_label_and_the_console_survives_an_unknown_one(engine: IncidentEngine) -> None:
    assert set(ENTRY_LABEL) == set(EntryKind) - {EntryKind.VENDOR_UPDATE}
    engine.apply_incident(event("statuspage", "page-1"))
    with engine.db.session() as session:
        incident = session.exec(select(Incident)).one()
        entry = session.exec(select(TimelineEntry)).one()
        view, shown = card(incident), entry_view(entry)
    assert shown.label == "Investigating" and view.icon == "🔴"
    assert replace(view, kind=Kind.MAINTENANCE, status="in_progress").icon == "🔧"
    out = io.StringIO()
    sink = ConsoleSink(out, colour=False)
    thread = ThreadRef(channel="stdout", parent=str(view.id))
    for kind in (*ENTRY_LABEL, "a_kind_from_a_newer_version"):
        await sink.post_update(thread, view, replace(shown, kind=kind), Delivery(key=kind))
    lines = out.getvalue().splitlines()
    assert "acknowledged" in lines[0] and "a kind from a newer version" in lines[-1]
    assert len(lines) == len(ENTRY_LABEL) + 1
