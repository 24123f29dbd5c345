"""The Alertmanager receiver over a real socket, with the documented version-4 payload: firing, repeats,
resolved, wrong secrets and bad payloads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.demo.scenario import Scenario
from bot.store.models import AlertState, Incident, TimelineEntry
from tests.conftest import FIXTURES, load_json
from tests.fakes.statuspage import FakeStatuspage
from tests.signal_world import SignalWorld, signal_world

SECRET = "am-secret-0123456789"
FIRING = load_json(FIXTURES / "alertmanager" / "firing.json")
RESOLVED = load_json(FIXTURES / "alertmanager" / "resolved.json")
STREAM = "alert:AnthropicErrorRateHigh:claude-opus-4-5"
SCENARIO = Scenario.load()


async def notify(world: SignalWorld, payload: Any, path: str = f"/alertmanager/{SECRET}") -> dict[str, Any]:
    response = await world.http.post(path, json=payload)
    await world.bot.worker.drain()
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return {"status": response.status_code, **(response.json() if is_json else {})}


def incidents(world: SignalWorld) -> list[Incident]:
    with world.bot.db.session() as session:
        return list(session.exec(select(Incident)))


def entries(world: SignalWorld) -> list[TimelineEntry]:
    with world.bot.db.session() as session:
        return list(session.exec(select(TimelineEntry).order_by(TimelineEntry.id)))


async def test_firing_then_resolved_opens_and_resolves_one_incident(tmp_path: Path) -> None:
    async with signal_world(tmp_path, alertmanager_secret=SECRET) as world:
        assert await notify(world, FIRING) == {"status": 200, "ok": True, "taken": 1, "ignored": 1}
        [incident] = incidents(world)  # DiskFull carries no vendor="anthropic": not ours
        assert incident.probe_name == STREAM and incident.is_open and incident.source == "alertmanager"
        assert incident.started_at.isoformat().startswith("2026-04-15T13:04:30")
        assert any("AnthropicErrorRateHigh" in line for line in world.out.getvalue().splitlines())
        before = len(entries(world))
        for _ in range(3):  # Alertmanager's repeat_interval and retries
            assert (await notify(world, FIRING))["taken"] == 0
        assert len(entries(world)) == before and len(incidents(world)) == 1
        assert (await notify(world, RESOLVED))["taken"] == 1
        [incident] = incidents(world)
        assert not incident.is_open and incident.resolved_by == "alertmanager"
        assert (await notify(world, RESOLVED))["taken"] == 0
        late = await notify(world, FIRING)  # a late retry of the old firing notification
        assert late["taken"] == 0 and not incidents(world)[0].is_open
        with world.bot.db.session() as session:
            state = session.get(AlertState, ("claude", "8c3d6b0c4f1e2a97"))
        assert state is not None and state.status == "resolved" and state.ends_at is not None


async def test_it_fires_anew_and_a_stream_resolves_when_its_last_alert_does(tmp_path: Path) -> None:
    async with signal_world(tmp_path, alertmanager_secret=SECRET) as world:
        second = copy.deepcopy(FIRING)
        second["alerts"][0]["fingerprint"] = "1111222233334444"
        second["alerts"][0]["labels"]["job"] = "billing-api"
        await notify(world, FIRING)
        await notify(world, second)
        assert len(incidents(world)) == 1  # two alerts of one stream: one incident
        await notify(world, RESOLVED)
        assert incidents(world)[0].is_open  # billing-api's alert still fires
        resolved = copy.deepcopy(second)
        resolved["alerts"][0].update(status="resolved", endsAt="2026-04-15T13:30:00Z")
        await notify(world, resolved)
        assert not incidents(world)[0].is_open
        again = copy.deepcopy(FIRING)
        again["alerts"][0]["startsAt"] = "2026-04-15T14:00:00Z"
        assert (await notify(world, again))["taken"] == 1
        assert any(i.is_open for i in incidents(world))


async def test_wrong_secret_or_service_is_404_and_the_route_is_off_without_a_secret(tmp_path: Path) -> None:
    async with signal_world(tmp_path, alertmanager_secret=SECRET) as world:
        assert (await notify(world, FIRING, "/alertmanager/nope"))["status"] == 404
        assert (await notify(world, FIRING, f"/alertmanager/other/{SECRET}"))["status"] == 404
        assert (await notify(world, FIRING, f"/alertmanager/claude/{SECRET}"))["status"] == 200
    (tmp_path / "off").mkdir()  # statusbot never creates a database's folder
    async with signal_world(tmp_path / "off") as world:
        assert (await notify(world, FIRING))["status"] == 404
        assert incidents(world) == []


async def test_a_payload_that_is_not_version_4_is_400_and_changes_nothing(tmp_path: Path) -> None:
    bad: list[tuple[Any, str]] = [
        ({**FIRING, "version": "3"}, "version"),
        ({**FIRING, "alerts": [{**FIRING["alerts"][0], "fingerprint": None}]}, "alerts.0.fingerprint"),
        ({**FIRING, "alerts": [{**FIRING["alerts"][0], "startsAt": "yesterday"}]}, "alerts.0.startsAt"),
        ({**FIRING, "alerts": [{**FIRING["alerts"][0], "status": "pending"}]}, "alerts.0.status"),
        ({**FIRING, "alerts": "all"}, "alerts"),
        ([FIRING], "Input should be"),
    ]
    async with signal_world(tmp_path, alertmanager_secret=SECRET) as world:
        for payload, names in bad:
            answer = await notify(world, payload)
            assert answer["status"] == 400 and names in answer["error"], names
        response = await world.http.post(f"/alertmanager/{SECRET}", content=b"{oops")
        assert response.status_code == 400
        assert incidents(world) == []


async def test_an_alert_and_the_vendors_incident_are_one_incident_resolved_as_the_policy_says(tmp_path: Path) -> None:
    async with (
        FakeStatuspage() as page,
        signal_world(tmp_path, alertmanager_secret=SECRET, statuspage_url=page.base_url) as world,
    ):

        async def vendor_at(minute: float) -> list[Incident]:
            page.serve_scenario(SCENARIO, minute)
            world.clock.set(max(world.clock.now(), SCENARIO.at(minute)))
            await world.bot.poller.poll()
            await world.bot.worker.drain()
            return [i for i in incidents(world) if i.announced]

        assert await vendor_at(0) == []
        await notify(world, FIRING)
        [incident] = [i for i in incidents(world) if i.announced]
        [merged] = await vendor_at(3)  # the vendor's incident joins the alert's: one thread
        assert merged.id == incident.id and merged.upstream_id == "demo0outage1"
        await notify(world, RESOLVED)
        [waiting] = [i for i in incidents(world) if i.announced]
        assert waiting.is_open  # the default policy: our recovery waits for the vendor's
        [resolved] = await vendor_at(173)
        assert not resolved.is_open and resolved.id == incident.id
