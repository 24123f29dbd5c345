"""While the page's JSON API keeps failing, its Atom feed keeps the threads current: new updates and
new incidents come through once, nothing already posted is posted again when the JSON API is back,
past history is not announced late, and the feed is read conditionally (ETag / 304)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

from bot.clock import ManualClock
from bot.sources.statuspage.feed import parse_atom
from tests.conftest import Harness, shared_path
from tests.fakes.statuspage import FakeStatuspage


def when(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def update(uid: str, status: str, body: str, at: datetime) -> dict[str, Any]:
    return {"id": uid, "status": status, "body": body, "created_at": when(at), "display_at": when(at)}


def incident(code: str, name: str, status: str, start: datetime, updates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": code,
        "name": name,
        "status": status,
        "impact": "major",
        "created_at": when(start),
        "started_at": when(start),
        "shortlink": f"https://stspg.io/{code}",
        "incident_updates": sorted(updates, key=lambda u: u["display_at"], reverse=True),
        "components": [],
    }


def entry(code: str, title: str, updates: list[tuple[datetime, str, str]]) -> str:
    """One Atom entry as Statuspage writes it: its updates newest first, minutes only."""
    content = "".join(
        f"<p><small>{at:%b} <var data-var='date'>{at.day}</var>, <var data-var='time'>{at:%H:%M}</var> UTC"
        f"</small><br><strong>{label}</strong> - {body}</p>"
        for at, label, body in sorted(updates, reverse=True)
    )
    published = max(at for at, _, _ in updates)
    return (
        f"<entry><published>{published:%Y-%m-%dT%H:%M:%SZ}</published>"
        f'<link rel="alternate" type="text/html" href="https://status.example.com/incidents/{code}"/>'
        f'<title>{title}</title><content type="html">{html.escape(content, quote=False)}</content></entry>'
    )


def feed(*entries: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">{"".join(entries)}</feed>'


async def api_fails(harness: Harness, clock: ManualClock, polls: int) -> None:
    for _ in range(polls):
        clock.advance(600)  # past any backoff
        await harness.poll()


async def read_feed(harness: Harness) -> None:
    await harness.bot.feeds[0].poll()
    await harness.bot.worker.drain()


async def test_the_feed_stands_in_while_the_json_api_fails_and_nothing_is_posted_twice(
    harness: Harness, page: FakeStatuspage, clock: ManualClock
) -> None:
    t0 = clock.now()
    looking = update("u1a", "investigating", "Looking into errors on the API.", t0 + timedelta(seconds=5))
    page.serve(
        incidents={"page": {"id": "p"}, "incidents": [incident("abc1", "API errors", "investigating", t0, [looking])]}
    )
    await harness.poll()  # the JSON API answers: the incident's thread opens
    assert sum("Looking into errors" in line for line in harness.lines()) == 1

    page.api_down = True
    page.feed = feed(
        entry(
            "abc1",
            "API errors",
            [
                (t0, "Investigating", "Looking into errors on the API."),
                (t0 + timedelta(minutes=10), "Identified", "The cause is a bad deploy."),
            ],
        ),
        entry("xyz2", "Console slow", [(t0 + timedelta(minutes=12), "Investigating", "The console is slow.")]),
        entry("old9", "Last month", [(t0 - timedelta(days=30), "Resolved", "Long fixed.")]),
    )
    await api_fails(harness, clock, 2)
    await read_feed(harness)
    assert not any("bad deploy" in line for line in harness.lines()), "read only once the API keeps failing"
    await api_fails(harness, clock, 1)
    await read_feed(harness)
    lines = harness.lines()
    assert sum("The cause is a bad deploy." in line for line in lines) == 1
    assert sum("Looking into errors" in line for line in lines) == 1  # the same update, read twice: once
    assert sum("Console slow" in line and line.startswith("●") for line in lines) == 1
    assert not any("Last month" in line or "Long fixed" in line for line in lines)  # history, not news
    health = harness.bot.health()
    # the JSON API has failed for half an hour, but the feed stands in: no restart would mend the vendor
    assert health["ok"] is True and health["feeds"]["claude"]["ok"] is True  # type: ignore[index]
    assert health["pages"]["claude"]["failures"] == 3  # type: ignore[index]
    await read_feed(harness)  # unchanged: a 304
    assert page.requests[-1] == ("/history.atom", 304)

    page.api_down = False  # back: the JSON view says what the feed said, with seconds and its own ids
    identified = update("u1b", "identified", "The cause is a bad deploy.", t0 + timedelta(minutes=10, seconds=20))
    resolved = update("u1c", "resolved", "Fixed.", t0 + timedelta(minutes=40))
    slow = update("u2a", "investigating", "The console is slow.", t0 + timedelta(minutes=12, seconds=3))
    page.serve(
        incidents={
            "page": {"id": "p"},
            "incidents": [
                incident("abc1", "API errors", "resolved", t0, [looking, identified, resolved]),
                incident("xyz2", "Console slow", "investigating", t0 + timedelta(minutes=12), [slow]),
            ],
        }
    )
    clock.advance(600)
    await harness.poll()
    await read_feed(harness)
    lines = harness.lines()
    assert sum("The cause is a bad deploy." in line for line in lines) == 1
    assert sum("The console is slow." in line for line in lines) == 1
    assert sum("Fixed." in line for line in lines) == 1
    assert harness.bot.feeds[0].active is False


async def test_the_real_feed_as_a_first_start_during_an_api_outage(
    harness: Harness, page: FakeStatuspage, clock: ManualClock
) -> None:
    text = shared_path("anthropic", "feeds", "claude_history_2026-10-08.atom").read_text()
    expected = parse_atom(text, "claude")
    clock.set(max(u.at for e in expected for u in e.updates) + timedelta(hours=1))
    page.api_down, page.feed = True, text
    await api_fails(harness, clock, 3)
    await read_feed(harness)
    from sqlmodel import select

    from bot.store.models import Incident, TimelineEntry

    with harness.bot.db.session() as session:
        stored = {i.upstream_id: i for i in session.exec(select(Incident))}
        entries = session.exec(select(TimelineEntry)).all()
    assert set(stored) == {e.upstream_id for e in expected}
    assert len(entries) == sum(len(e.updates) for e in expected)
    resolved = [e.upstream_id for e in expected if e.is_resolved]
    assert all(not stored[code].is_open and not stored[code].announced for code in resolved)  # history
    assert not any(line.startswith("●") and stored[code].title in line for code in resolved for line in harness.lines())
