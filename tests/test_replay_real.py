"""The 26 real recorded status.claude.com incidents.json snapshots, replayed in time order through a
loopback page: the console threads must match the real updates — one thread per real incident, one
line per real update, in order, none twice. The expectation is computed from the raw JSON here,
independently of the bot's parser."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.chat.console.sink import clean
from bot.clock import parse_time
from bot.store.models import Incident
from tests.conftest import Harness, load_json, shared_path
from tests.fakes.statuspage import FakeStatuspage

RESOLVED = ("resolved", "postmortem")
LINE = re.compile(r"^    #(\d+) \S+ \S+  (\S+)\s+(.*)$")


ALWAYS_UP = timedelta(days=365)  # the bot ran all along; the archive only sampled the page now and then


def snapshots() -> list[tuple[Path, Any]]:
    folder = shared_path("anthropic", "incidents_json_snapshots")
    return [(path, load_json(path)) for path in sorted(folder.glob("*.json"))]


def expected_threads(docs: list[Any]) -> dict[str, list[str]]:
    """Incident id -> the bodies of its real updates in time order, for every incident that is not
    resolved history at the first poll."""
    baseline = {i["id"] for i in docs[0]["incidents"] if i["status"] in RESOLVED}
    updates: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for doc in docs:
        for incident in doc["incidents"]:
            if incident["id"] in baseline:
                continue
            for update in incident.get("incident_updates") or []:
                updates[incident["id"]][update["id"]] = (update["display_at"] or update["created_at"], update["body"])
    return {
        iid: [body for _, body in sorted(u.values(), key=lambda pair: parse_time(pair[0]))]
        for iid, u in updates.items()
    }


def printed_threads(lines: list[str], numbers: dict[int, str]) -> tuple[dict[str, list[str]], list[str]]:
    threads: dict[str, list[str]] = defaultdict(list)
    parents = [line for line in lines if line.startswith("● #")]
    for line in lines:
        match = LINE.match(line)
        if match and match.group(2) != "closed":
            threads[numbers[int(match.group(1))]].append(match.group(3))
    return threads, parents


async def test_real_snapshots_replay_as_one_thread_per_incident(
    harness: Harness, page: FakeStatuspage, clock: Any
) -> None:
    docs = []
    harness.bot.poller.catchup = ALWAYS_UP
    for _path, doc in snapshots():
        docs.append(doc)
        page.serve(incidents=doc)
        clock.set(parse_time(doc["page"]["updated_at"]))
        await harness.poll()
        await harness.poll()  # the same document again (ETag, 304): nothing new may appear
    with harness.bot.db.session() as session:
        numbers = {i.id: i.upstream_id for i in session.exec(select(Incident)) if i.id is not None}
    expected = expected_threads(docs)
    threads, parents = printed_threads(harness.lines(), numbers)

    assert len(parents) == len(expected) == len(set(threads))
    for incident_id, bodies in expected.items():
        printed = threads[incident_id]
        assert len(printed) == len(bodies), incident_id
        for line, body in zip(printed, bodies, strict=True):
            assert line.startswith(clean(body)), (incident_id, line, body)


async def test_incident_deleted_from_the_page_is_closed_with_a_note(
    harness: Harness, page: FakeStatuspage, clock: Any
) -> None:
    harness.bot.poller.catchup = ALWAYS_UP
    for _path, doc in snapshots():
        page.serve(incidents=doc)
        clock.set(parse_time(doc["page"]["updated_at"]))
        await harness.poll()
    with harness.bot.db.session() as session:
        vanished = session.exec(select(Incident).where(Incident.upstream_id == "qzfvhfg85r6t")).one()
        unresolved = session.exec(select(Incident).where(Incident.status != "resolved")).all()
    assert vanished.resolved_by == "statusbot"
    assert unresolved == []
    closed = [line for line in harness.lines() if f"#{vanished.id} " in line and "closed" in line]
    assert len(closed) == 1 and "No longer on the status page" in closed[0]


async def test_thirty_two_real_incidents_are_history_after_the_first_poll(
    harness: Harness, page: FakeStatuspage
) -> None:
    first = snapshots()[1][1]  # 2026-04-15T15:02: 49 resolved, one critical incident in progress
    page.serve(incidents=first)
    await harness.poll()
    parents = [line for line in harness.lines() if line.startswith("● #")]
    assert len(parents) == 1
    assert "Elevated errors on Claude.ai, API, Claude Code" in parents[0]
    assert "already in progress when statusbot started" in parents[0]
