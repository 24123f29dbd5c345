"""Poll and webhook feed one normaliser: one thread per incident, one line per update, none twice.

The hand-written scenario shipped for `statusbot demo` (bot/demo/scenario.json) is the fixture here,
so these run where ../shared is absent; the real Zulip-recorded webhooks run where it is present.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from bot.demo.scenario import Scenario
from bot.store.models import Incident, OutboxMessage, TimelineEntry
from tests.conftest import SECRET, Harness, load_json, shared_path
from tests.fakes.statuspage import FakeStatuspage


def webhook(incident: dict[str, Any]) -> dict[str, Any]:
    """The subscriber webhook's incident kind wraps the same incident object the API returns."""
    return {
        "meta": {"unsubscribe": "https://example.invalid/unsub", "generated_at": incident.get("updated_at")},
        "page": {"id": "demo0page0id", "status_indicator": "critical", "status_description": "Major outage"},
        "incident": incident,
    }


def the_incident(scenario: Scenario, minute: float) -> dict[str, Any]:
    docs = scenario.documents(minute)["/api/v2/incidents.json"]
    return next(i for i in docs["incidents"] if i["id"] == scenario.data["incident"]["id"])


def update_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("    #")]


async def serve_minute(page: FakeStatuspage, scenario: Scenario, minute: float) -> None:
    page.serve_scenario(scenario, minute)


async def test_scenario_polled_twice_per_step_prints_each_update_once(harness: Harness, page: FakeStatuspage) -> None:
    scenario = Scenario.load()
    for minute in [0, *scenario.moments()]:
        await serve_minute(page, scenario, minute)
        await harness.poll()
        await harness.poll()
    lines = harness.lines()
    bodies = [u["body"] for u in scenario.data["incident"]["updates"]]
    assert [line for line in lines if line.startswith("● ")] == [lines[0]]
    assert len(update_lines(lines)) == len(bodies)
    for line, body in zip(update_lines(lines), bodies, strict=True):
        assert body in line
    assert lines[-2].startswith("✔ #2 claude  resolved by vendor after 2h 50m")
    assert lines[-1].startswith("📝 #2 claude  postmortem draft:")
    assert any(status == 304 for _, status in page.requests)


async def test_webhooks_interleaved_with_polls_give_one_line_per_update(
    harness: Harness, page: FakeStatuspage, served: httpx.AsyncClient
) -> None:
    scenario = Scenario.load()
    await serve_minute(page, scenario, 0)
    await harness.poll()
    for step, minute in enumerate(scenario.moments()):
        payload = webhook(the_incident(scenario, minute))
        answer = await served.post(f"/webhooks/statuspage/{SECRET}", json=payload)
        assert answer.status_code == 200
        if step % 2:  # the page catches up every other step; the webhook said it first
            await serve_minute(page, scenario, minute)
            await harness.poll()
        await harness.bot.worker.drain()
    await serve_minute(page, scenario, scenario.moments()[-1])
    await harness.poll()
    answer = await served.post(f"/webhooks/statuspage/{SECRET}", json=payload)  # a late duplicate
    await harness.bot.worker.drain()
    assert len(update_lines(harness.lines())) == len(scenario.data["incident"]["updates"])
    assert sum(line.startswith("✔") for line in harness.lines()) == 1


async def test_wrong_secret_is_404_and_stores_nothing(
    harness: Harness, served: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    payload = webhook(the_incident(Scenario.load(), 20))
    with caplog.at_level(logging.WARNING):
        answer = await served.post("/webhooks/statuspage/not-the-secret", json=payload)
    assert answer.status_code == 404
    assert SECRET not in caplog.text and "not-the-secret" not in caplog.text
    assert "wrong secret" in caplog.text
    with harness.bot.db.session() as session:
        assert session.exec(select(func.count()).select_from(Incident)).one() == 0


async def test_webhook_route_is_off_without_a_secret(harness: Harness) -> None:
    harness.bot.settings.port, harness.bot.settings.host = 0, "127.0.0.1"
    await harness.bot.start_http()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{harness.bot.http_port}") as client:
        answer = await client.post("/webhooks/statuspage/anything", json={"incident": {}})
        health = await client.get("/healthz")
    assert answer.status_code == 404
    assert health.status_code == 200 and health.json()["ok"] is True


async def test_garbage_webhook_is_one_log_line_and_no_incident(
    harness: Harness, served: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        bad_json = await served.post(
            f"/webhooks/statuspage/{SECRET}", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        no_kind = await served.post(f"/webhooks/statuspage/{SECRET}", json={"meta": {}, "page": {}})
        no_id = await served.post(f"/webhooks/statuspage/{SECRET}", json={"incident": {"name": "x"}})
    assert (bad_json.status_code, no_kind.status_code, no_id.status_code) == (400, 400, 400)
    assert len([r for r in caplog.records if "webhook" in r.getMessage()]) == 3
    assert "Traceback" not in caplog.text
    with harness.bot.db.session() as session:
        assert session.exec(select(func.count()).select_from(Incident)).one() == 0


async def test_real_zulip_recorded_webhooks(harness: Harness, served: httpx.AsyncClient) -> None:
    folder = shared_path("statuspage_webhooks")
    created = load_json(folder / "zulip_incident_created.json")
    updated = load_json(folder / "zulip_incident_update.json")
    component = load_json(folder / "zulip_component_status_update.json")
    for payload in (created, updated, updated, component, created):
        answer = await served.post(f"/webhooks/statuspage/{SECRET}", json=payload)
        assert answer.status_code == 200
    await harness.bot.worker.drain()
    update_ids = {u["id"] for p in (created, updated) for u in p["incident"]["incident_updates"]}
    with harness.bot.db.session() as session:
        incidents = session.exec(select(Incident)).all()
        entries = session.exec(select(TimelineEntry)).all()
    assert len(incidents) == len({created["incident"]["id"], updated["incident"]["id"]})
    assert sorted(e.upstream_id for e in entries) == sorted(update_ids)
    assert len(update_lines(harness.lines())) == len(update_ids)


BAD_PAGES = {
    "html": "not JSON (text/html",
    "truncated": "not JSON (application/json",
    "500": "HTTP 500",
    "stall": "timed out",
    "drop": "RemoteProtocolError",
}


@pytest.mark.parametrize("fault", sorted(BAD_PAGES))
async def test_a_bad_page_is_one_log_line_and_loses_nothing(
    fault: str, harness: Harness, page: FakeStatuspage, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = Scenario.load()
    await serve_minute(page, scenario, 20)
    await harness.poll()
    before = list(harness.lines())
    page.stall_seconds = 2.0  # the client's timeout is 1 s
    await serve_minute(page, scenario, 40)  # an update the bad answer hides
    page.fault(fault)
    with caplog.at_level(logging.WARNING, logger="bot"):
        assert await harness.bot.poller.poll() is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert BAD_PAGES[fault] in warnings[0].getMessage() and warnings[0].exc_info is None
    assert harness.lines() == before
    harness.bot.poller.tracker._next_try = None  # skip the backoff: the page is healthy again
    await harness.poll()
    assert len(update_lines(harness.lines())) == len(update_lines(before)) + 1
    assert "The API has recovered" in harness.lines()[-1]


async def test_unknown_fields_and_missing_updates_are_tolerated(
    harness: Harness, page: FakeStatuspage, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = Scenario.load()
    docs = copy.deepcopy(scenario.documents(20))
    incidents = docs["/api/v2/incidents.json"]
    incidents["brand_new_top_level_field"] = {"x": 1}
    for incident in incidents["incidents"]:
        incident["some_future_field"] = [1, 2, 3]
    history = incidents["incidents"][1]
    del history["incident_updates"]
    incidents["incidents"].append({"name": "no id, so it cannot be tracked", "status": "investigating"})
    page.serve(incidents=incidents, summary=docs["/api/v2/summary.json"])
    with caplog.at_level(logging.WARNING):
        await harness.poll()
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and "id" in skipped[0]
    assert len(update_lines(harness.lines())) == 3  # the outage's updates up to minute 20


async def test_not_a_statuspage_document_keeps_the_data(
    harness: Harness, page: FakeStatuspage, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = Scenario.load()
    await serve_minute(page, scenario, 20)
    await harness.poll()
    page.serve(incidents={"page": {}, "incidents": "oops"})
    with caplog.at_level(logging.WARNING):
        await harness.poll()
    assert "no 'incidents' list" in caplog.text
    with harness.bot.db.session() as session:
        open_ = session.exec(select(Incident).where(Incident.status != "resolved")).all()
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.delivered_at == None)).all()  # noqa: E711
    assert len(open_) == 1 and queued == []
