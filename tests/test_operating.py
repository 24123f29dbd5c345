"""Living with statusbot: a quiet first run, catching up after downtime, several services routed to
their channels, other vendors' pages, metrics, health, backfill, backup, retention, JSON logs."""

from __future__ import annotations

import html
import io
import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import func, select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import ServiceSpec
from bot.demo.scenario import Scenario
from bot.logs import JsonFormatter
from bot.sources.statuspage.feed import parse_atom
from bot.sources.statuspage.parse import parse_summary
from bot.store.models import Incident, OutboxMessage, TimelineEntry
from bot.store.retention import forget_resolved
from tests.conftest import Harness, load_json, shared_path
from tests.fakes.statuspage import FakeStatuspage
from tests.slack_world import sign, slack_world

SCENARIO = Scenario.load()
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def incident_doc(n: int, status: str, start: datetime, impact: str = "minor") -> dict[str, Any]:
    at = start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    updates = [
        {
            "id": f"u{n}a",
            "status": "investigating",
            "body": f"Looking into problem {n}",
            "created_at": at,
            "display_at": at,
            "affected_components": None,
        }
    ]
    if status == "resolved":
        end = (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        updates.insert(
            0,
            {
                "id": f"u{n}b",
                "status": "resolved",
                "body": f"Problem {n} fixed",
                "created_at": end,
                "display_at": end,
                "affected_components": None,
            },
        )
    return {
        "id": f"inc{n:03d}",
        "name": f"Problem {n}",
        "status": status,
        "impact": impact,
        "created_at": at,
        "started_at": at,
        "shortlink": f"https://stspg.io/{n}",
        "incident_updates": updates,
        "components": [],
    }


def history_page(resolved: int, open_: int) -> dict[str, Any]:
    incidents = [incident_doc(n, "resolved", START - timedelta(days=n)) for n in range(1, resolved + 1)]
    incidents += [incident_doc(900 + n, "investigating", START - timedelta(hours=n)) for n in range(open_)]
    return {"page": {"id": "p"}, "incidents": sorted(incidents, key=lambda i: i["started_at"], reverse=True)}


def parents(harness: Harness) -> list[str]:
    return [line for line in harness.lines() if line.startswith("● ")]


async def test_first_start_posts_only_the_incident_in_progress(harness: Harness, page: FakeStatuspage) -> None:
    page.serve(incidents=history_page(50, 1))
    await harness.poll()
    await harness.poll()
    [thread] = parents(harness)
    assert "Problem 900" in thread and "already in progress when statusbot started" in thread
    with harness.bot.db.session() as session:
        assert session.exec(select(func.count()).select_from(Incident)).one() == 51


async def serve_minute(page: FakeStatuspage, minute: float) -> None:
    page.serve_scenario(SCENARIO, minute)


async def test_a_two_hour_downtime_posts_the_missed_updates_in_order(
    harness: Harness, page: FakeStatuspage, clock: Any
) -> None:
    for minute in (0, 3, 5.5):
        clock.set(SCENARIO.at(minute))
        await serve_minute(page, minute)
        await harness.poll()
    before = len(harness.lines())
    clock.set(SCENARIO.at(5.5) + timedelta(hours=2))  # down from 14:55 to 16:55
    await serve_minute(page, 120)
    await harness.poll()
    missed = harness.lines()[before:]
    bodies = [u["body"] for u in SCENARIO.data["incident"]["updates"] if 5.5 < u["at"] <= 120]
    assert len(missed) == len(bodies) == 4
    for line, body in zip(missed, bodies, strict=True):
        assert body in line


async def test_after_a_long_downtime_what_resolved_meanwhile_is_history(
    harness: Harness, page: FakeStatuspage, clock: Any
) -> None:
    page.serve(incidents=history_page(3, 0))
    clock.set(START)
    await harness.poll()
    later = START + timedelta(hours=8)
    page.serve(
        incidents={
            "page": {},
            "incidents": [incident_doc(7, "resolved", later - timedelta(hours=2)), *history_page(3, 0)["incidents"]],
        }
    )
    clock.set(later)
    await harness.poll()
    assert parents(harness) == []  # resolved during the 8 h the bot was away: recorded, not posted
    page.serve(
        incidents={
            "page": {},
            "incidents": [
                incident_doc(8, "resolved", later),
                incident_doc(7, "resolved", later - timedelta(hours=2)),
                *history_page(3, 0)["incidents"],
            ],
        }
    )
    clock.set(later + timedelta(minutes=1))
    await harness.poll()
    assert len(parents(harness)) == 1 and "Problem 8" in parents(harness)[0]  # running again: posted


async def test_two_services_route_to_two_channels(tmp_path: Path) -> None:
    channels = {
        "C0CLAUDE": {"name": "claude", "member": True},
        "C0OPENAI": {"name": "openai", "member": True},
        "C0INCIDENT": {"name": "incidents", "member": True},
        "C0MAJOR": {"name": "major", "member": True},
    }
    async with FakeStatuspage() as openai_page:
        services = [
            ServiceSpec(name="claude", statuspage_url="http://127.0.0.1:1", slack_channel="C0CLAUDE"),  # type: ignore[arg-type]
            ServiceSpec(
                name="openai",
                statuspage_url=openai_page.base_url,
                slack_channel="C0OPENAI",  # type: ignore[arg-type]
                routes=[{"impact": ["critical"], "slack_channel": "C0MAJOR"}],
            ),
        ]  # type: ignore[list-item]
        async with slack_world(tmp_path, channels=channels, services=services) as world:
            world.bot.pollers[0].client.base_url = world.page.base_url  # the claude page is the world's page
            world.serve_minute(SCENARIO, 3)
            openai_page.serve(
                incidents={
                    "page": {},
                    "incidents": [
                        incident_doc(1, "investigating", START),
                        incident_doc(2, "investigating", START, impact="critical"),
                    ],
                }
            )
            for poller in world.bot.pollers:
                await poller.poll()
            await world.drain()
            assert [m["text"] for m in world.slack.parents("C0CLAUDE")] == [
                "[#2] investigating, critical impact: Elevated errors on Claude.ai, API, Claude Code"
            ]
            assert ["Problem 1" in m["text"] for m in world.slack.parents("C0OPENAI")] == [True]
            assert ["Problem 2" in m["text"] for m in world.slack.parents("C0MAJOR")] == [True]
            assert world.slack.parents("C0INCIDENT") == []
            payload = world.slack.slash_command("/openai", "status")
            import urllib.parse

            body = urllib.parse.urlencode(payload)
            answer = (await world.http.post("/slack/events", content=body, headers=sign(body))).json()
            assert answer["text"].startswith("Status of openai") and "Problem 1" in answer["text"]
            everything = (await world.command("status all")).json()["text"]
            assert "claude:" in everything and "openai:" in everything


def test_other_vendors_recorded_pages_parse() -> None:
    openai = parse_summary(load_json(shared_path("openai", "openai_summary_2026-07-09.json")), "openai")
    assert len(openai.components) > 5 and openai.maintenances is None  # incident.io: no such key
    assert all(len(c.component_id) == 26 for c in openai.components)  # ULIDs
    github = parse_atom(
        shared_path("other_statuspage", "github", "githubstatus_history_2026-08-22.atom").read_text(), "github"
    )
    assert len(github) == 25 and all(e.updates and e.upstream_id.isalnum() for e in github)
    first = github[0]
    assert first.upstream_id == "bhbcjn4n3jzp" and first.status == "resolved"
    assert [u.at for u in first.updates] == sorted(u.at for u in first.updates)
    claude = parse_atom(shared_path("anthropic", "feeds", "claude_history_2026-10-08.atom").read_text(), "claude")
    assert len(claude) == 25


def feed_update(month: str, day: int, clock: str, label: str, body: str) -> str:
    return html.escape(
        f"<p><small>{month} <var data-var='date'> {day}</var>, <var data-var='time'>{clock}</var> UTC"
        f"</small><br><strong>{label}</strong> - {body}</p>",
        quote=False,
    )


def test_hand_written_feed_parses() -> None:
    content = "".join(
        (
            feed_update("Jan", 2, "01:00", "Resolved", "Fixed."),
            feed_update("Dec", 31, "23:10", "Update", "Still <b>on</b> it."),
            feed_update("Dec", 31, "23:00", "Identified", "Found it."),
        )
    )
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        "<published>2026-01-02T01:00:00Z</published>"
        '<link href="https://status.example.com/incidents/abc123"/><title>API errors</title>'
        f'<content type="html">{content}</content></entry></feed>'
    )
    [event] = parse_atom(feed, "example")
    assert [(u.at.year, u.status, u.body) for u in event.updates] == [
        (2025, "identified", "Found it."),
        (2025, "identified", "Still on it."),
        (2026, "resolved", "Fixed."),
    ]


async def test_metrics_parse_and_move_and_health_turns_unhealthy(
    harness: Harness, page: FakeStatuspage, clock: Any
) -> None:
    harness.bot.settings.port, harness.bot.settings.host = 0, "127.0.0.1"
    await harness.bot.start_http()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{harness.bot.http_port}") as http:
        before = metrics(await http.get("/metrics"))
        await serve_minute(page, 5.5)
        await harness.poll()
        page.fault("500")
        await harness.bot.poller.poll()
        after = metrics(await http.get("/metrics"))
        assert after[("statusbot_polls_total", (("result", "success"), ("service", "claude")))] == 1
        assert after[("statusbot_polls_total", (("result", "failure"), ("service", "claude")))] == 1
        assert after[("statusbot_deliveries_total", (("result", "delivered"), ("sink", "console")))] >= 3
        assert after[("statusbot_open_incidents", (("service", "claude"),))] == 1
        assert before[("statusbot_open_incidents", (("service", "claude"),))] == 0  # reads 0, does not vanish
        assert before[("statusbot_outbox_pending", (("sink", "console"),))] == 0
        assert (await http.get("/healthz")).status_code == 200
        clock.advance(3600)  # an hour of failed polls
        health = await http.get("/healthz")
        assert health.status_code == 503 and health.json()["pages"]["claude"]["ok"] is False


def metrics(response: httpx.Response) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


async def test_backfill_imports_paged_history_without_posting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: FakeStatuspage
) -> None:
    page.history = [incident_doc(n, "resolved", START - timedelta(days=n)) for n in range(1, 251)]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    monkeypatch.setenv("STATUSPAGE_URL", page.base_url)
    import asyncio

    result = await asyncio.to_thread(CliRunner().invoke, cli, ["backfill"])
    assert result.exit_code == 0, result.output
    assert "250 incidents imported as history (nothing posted)" in result.output
    pages = sorted({path for path, _ in page.requests})
    assert pages == ["/api/v2/incidents.json"] and len(page.requests) == 3  # 100 + 100 + 50
    since = (START - timedelta(days=30)).date().isoformat()
    again = await asyncio.to_thread(CliRunner().invoke, cli, ["backfill", "--since", since])
    assert "30 incidents imported" in again.output
    db = sqlite3.connect(tmp_path / "b.db")
    assert db.execute("SELECT count(*) FROM incident").fetchone()[0] == 250
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    db.close()


def test_db_backup_is_a_working_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'live.db'}")
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    assert CliRunner().invoke(cli, ["ack", "1", "--by", "x"]).exit_code == 1  # no such incident, schema works
    result = CliRunner().invoke(cli, ["db", "backup", str(tmp_path / "copy.db")])
    assert result.exit_code == 0, result.output
    from bot.store.db import current_revision

    live, copied = (f"sqlite:///{tmp_path / name}" for name in ("live.db", "copy.db"))
    assert current_revision(copied) == current_revision(live) is not None
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT count(*) FROM incident").fetchone()[0] == 0
    copy.close()


async def test_retention_forgets_old_timelines_but_keeps_incidents(
    harness: Harness, page: FakeStatuspage, clock: Any
) -> None:
    await serve_minute(page, 200)
    clock.set(SCENARIO.at(200))
    await harness.poll()
    forget_resolved(harness.bot.db, SCENARIO.at(200) - timedelta(days=1))
    with harness.bot.db.session() as session:
        assert session.exec(select(func.count()).select_from(TimelineEntry)).one() > 0  # resolved only today
    forget_resolved(harness.bot.db, SCENARIO.at(200) + timedelta(days=1))
    with harness.bot.db.session() as session:
        assert session.exec(select(func.count()).select_from(TimelineEntry)).one() == 0
        assert session.exec(select(func.count()).select_from(Incident)).one() == 2
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == 0


def test_json_logs_carry_incident_and_source_and_no_secret() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.warning("delivery of #%s failed", 7, extra={"incident": 7, "source": "statuspage"})
    line = json.loads(stream.getvalue())
    assert line["message"] == "delivery of #7 failed" and line["incident"] == 7 and line["source"] == "statuspage"
    assert line["level"] == "warning" and line["ts"].endswith("+00:00")
    logger.removeHandler(handler)
