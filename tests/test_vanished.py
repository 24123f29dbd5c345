"""A page that omits or garbles an incident never closes it: only a page read completely can say an
incident is gone, and it must say so twice; one closed for vanishing reopens when it is back."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from sqlmodel import select

from bot.clock import ManualClock
from bot.demo.scenario import Scenario
from bot.store.models import Incident
from tests.conftest import Harness
from tests.fakes.statuspage import FakeStatuspage

OUTAGE = "demo0outage1"


def documents(minute: float) -> dict[str, Any]:
    return copy.deepcopy(Scenario.load().documents(minute))


def serve(page: FakeStatuspage, docs: dict[str, Any]) -> None:
    page.serve(incidents=docs["/api/v2/incidents.json"], summary=docs["/api/v2/summary.json"])


def outage(docs: dict[str, Any]) -> dict[str, Any]:
    return next(i for i in docs["/api/v2/incidents.json"]["incidents"] if i["id"] == OUTAGE)


def stored(harness: Harness) -> Incident:
    with harness.bot.db.session() as session:
        return session.exec(select(Incident).where(Incident.upstream_id == OUTAGE)).one()


async def poll(harness: Harness, clock: ManualClock) -> None:
    clock.advance(30)
    await harness.poll()


async def test_a_garbled_record_never_closes_its_incident(
    harness: Harness, page: FakeStatuspage, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    serve(page, documents(20))
    await harness.poll()
    assert stored(harness).is_open
    garbled = documents(20)
    outage(garbled)["incident_updates"][0]["id"] = 12345  # `incident_updates.0.id: Input should be a valid string`
    with caplog.at_level(logging.WARNING):
        for minute in (21, 22, 23):
            garbled["/api/v2/incidents.json"]["page"]["updated_at"] = f"2026-04-15T15:{minute}:00Z"  # a new ETag
            serve(page, garbled)
            await poll(harness, clock)
    assert stored(harness).is_open
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and OUTAGE in skipped[0] and "incident_updates.0.id" in skipped[0]
    serve(page, documents(30))
    await poll(harness, clock)
    incident = stored(harness)
    assert incident.is_open and incident.resolved_by is None
    assert not [line for line in harness.lines() if "closed" in line]


def without_outage(minute: float, stamp: str) -> dict[str, Any]:
    docs = documents(minute)
    listing = docs["/api/v2/incidents.json"]
    listing["incidents"] = [i for i in listing["incidents"] if i["id"] != OUTAGE]
    listing["page"]["updated_at"] = stamp  # a new document, not a 304
    return docs


async def test_an_incident_must_be_missing_from_two_complete_polls_to_close(
    harness: Harness, page: FakeStatuspage, clock: ManualClock
) -> None:
    serve(page, documents(20))
    await harness.poll()
    serve(page, without_outage(20, "2026-04-15T15:21:00Z"))
    await poll(harness, clock)
    assert stored(harness).is_open  # missing once: a page glitch or a deploy in progress
    serve(page, documents(20))
    await poll(harness, clock)
    serve(page, without_outage(20, "2026-04-15T15:22:00Z"))
    await poll(harness, clock)
    assert stored(harness).is_open  # the count started again when it was listed
    await poll(harness, clock)  # 304 Not Modified: the page still leaves it out
    incident = stored(harness)
    assert not incident.is_open and incident.resolved_by == "statusbot"
    closed = [line for line in harness.lines() if "closed" in line and "No longer on the status page" in line]
    assert len(closed) == 1


async def test_an_incident_closed_for_vanishing_reopens_when_listed_again(
    harness: Harness, page: FakeStatuspage, clock: ManualClock
) -> None:
    serve(page, documents(20))
    await harness.poll()
    for stamp in ("2026-04-15T15:21:00Z", "2026-04-15T15:22:00Z"):
        serve(page, without_outage(20, stamp))
        await poll(harness, clock)
    assert not stored(harness).is_open
    serve(page, documents(30))  # back, still open, with a new update
    await poll(harness, clock)
    incident = stored(harness)
    assert incident.is_open and incident.resolved_at is None and incident.resolved_by is None
    lines = harness.lines()
    reopened = [n for n, line in enumerate(lines) if "Listed open again on the status page; reopened." in line]
    assert len(reopened) == 1
    later = [line for line in lines[reopened[0] :] if line.startswith(f"    #{incident.id} ")]
    assert len(later) >= 2  # the note, then the update posted while it was gone, in the same thread
    for stamp in ("2026-04-15T15:31:00Z", "2026-04-15T15:32:00Z"):  # it can vanish (and close) again
        serve(page, without_outage(30, stamp))
        await poll(harness, clock)
    assert stored(harness).resolved_by == "statusbot"
