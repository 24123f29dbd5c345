"""Synthetic probes against a strict loopback Anthropic API, in simulated time: detection, no false
alarms, config errors, our own network, flapping, correlation with the status page, maintenance."""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.demo.scenario import Scenario
from bot.sources.probes import detector
from bot.sources.probes.retention import prune
from bot.store.enums import ProbeOutcome
from bot.store.models import ProbeResult, ProbeRollup, TimelineEntry
from tests import probe_world as pw
from tests.probe_world import CLOSED_PORT_URL, outage_windows, probe_world

SCENARIO = Scenario.load()
POLICY = detector.Policy()
# the hard-outage path: the next run, its confirmations, then re-checks until `open_after` failures
RECHECKS = POLICY.open_after - 1 - len(POLICY.confirm)
DETECTION_BOUND = (POLICY.interval + sum(POLICY.confirm, timedelta()) + RECHECKS * POLICY.recheck).total_seconds()
# recovery from a hard outage: the clean attempts that gather `resolve_at` nats against a 50% rate
CLEAN = math.ceil(POLICY.resolve_at / math.log((1 - POLICY.rates.floor) / 0.5))
RESOLVE_BOUND = (POLICY.interval + CLEAN * POLICY.recheck).total_seconds()


def serve_vendor(world: pw.ProbeWorld, minute: float) -> None:
    world.page.serve_scenario(SCENARIO, minute)


def opened(world: pw.ProbeWorld) -> list[str]:
    return [line for line in world.lines() if line.startswith(("● ", "🔧 "))]


async def test_an_outage_opens_within_the_settings_and_recovers(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        outage_windows(world, (600, 1200, "server_error"))
        await world.run_until(1200 + RESOLVE_BOUND + 60)
        [incident] = world.incidents()
        lag = (incident.detected_at - pw.START).total_seconds() - 600
        with world.bot.db.session() as session:  # when the incident was opened: its first probe entry
            opened_at = session.exec(
                select(TimelineEntry.at).where(TimelineEntry.incident_id == incident.id).order_by(TimelineEntry.id)
            ).first()
        assert opened_at is not None and opened_at > incident.detected_at
        assert 0 <= lag <= POLICY.interval.total_seconds()
        assert (opened_at - pw.START).total_seconds() - 600 <= DETECTION_BOUND
        assert incident.resolved_by == "probe" and incident.resolved_at is not None
        assert (incident.resolved_at - pw.START).total_seconds() - 1200 <= RESOLVE_BOUND
        [parent] = opened(world)
        assert "probe api sees errors" in parent and "not yet acknowledged by the vendor" in parent
        with world.bot.db.session() as session:
            failures = session.exec(select(ProbeResult).where(ProbeResult.outcome == "failure")).all()
        assert {f.error_type for f in failures} == {"api_error"} and all(f.request_id for f in failures)


async def test_timeouts_are_failures(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        outage_windows(world, (60, 400, "stall"))
        await world.run_until(60 + DETECTION_BOUND + POLICY.open_after * 0.3)  # each attempt waits its timeout
        [incident] = world.incidents()
        with world.bot.db.session() as session:
            kinds = {r.error_type for r in session.exec(select(ProbeResult).where(ProbeResult.outcome == "failure"))}
        assert kinds == {"timeout"} and incident.is_open


async def test_one_percent_random_errors_over_four_hours_open_nothing(tmp_path: Path) -> None:
    # every lane of the stream (messages, count_tokens, models): ~3,400 attempts; 30 days are bench/detection.py's
    async with probe_world(tmp_path, error_rate=0.01, seed=3) as world:
        await world.run_until(4 * 3600)
        failures = sum(outcome == ProbeOutcome.FAILURE for _, outcome in world.outcomes)
        assert failures >= 15  # the background errors really happened
        assert world.incidents() == []


async def test_a_401_is_one_config_alert_and_never_an_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with probe_world(tmp_path) as world:
        outage_windows(world, (0, 900, "unauthorized"))
        with caplog.at_level(logging.ERROR):
            await world.run_until(600)
        alerts = [r.getMessage() for r in caplog.records if "configuration is wrong" in r.getMessage()]
        assert len(alerts) == 1 and "401" in alerts[0] and "ANTHROPIC_API_KEY" in alerts[0]
        assert pw.KEY not in caplog.text
        assert world.incidents() == []


async def test_our_own_network_down_is_not_the_vendor(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with probe_world(tmp_path) as world:
        outage_windows(world, (60, 600, "drop"))
        world.bot.probes.settings.connectivity_url = CLOSED_PORT_URL  # type: ignore[assignment]
        with caplog.at_level(logging.WARNING):
            await world.run_until(500)
        assert world.incidents() == []
        assert {o for _, o in world.outcomes if _ > pw.START + timedelta(seconds=60)} == {ProbeOutcome.LOCAL}
        assert sum("our network, not the vendor" in r.getMessage() for r in caplog.records) == 1


async def test_flapping_collapses_into_one_incident(tmp_path: Path) -> None:
    # the hysteresis keeps an intermittent outage open through short gaps, so mark flapping from the
    # second open in the window: the first gap is long enough to resolve, the next bursts reopen it
    async with probe_world(tmp_path, probe_flap_cycles=1) as world:
        windows = [(start, start + 90, "overloaded") for start in range(300, 300 + 8 * 840, 840)]
        outage_windows(world, *windows)
        await world.run_until(300 + 8 * 840 + 3000)
        [incident] = world.incidents()
        assert incident.flapping and incident.resolved_at is not None
        assert len(opened(world)) == 1
        assert any("flapping" in line for line in world.lines())


async def test_probe_first_then_vendor_is_one_incident_with_lead_time(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        outage_windows(world, (0, 3600, "overloaded"))
        serve_vendor(world, 0)
        await world.poll()
        await world.run_until(170)
        serve_vendor(world, 3)
        world.clock.set(SCENARIO.at(3))
        await world.poll()
        [incident] = world.incidents()
        assert incident.probe_name == "api" and incident.upstream_id == "demo0outage1"
        assert incident.detected_at == pw.START
        assert incident.vendor_acknowledged_at == SCENARIO.at(3)
        assert len(opened(world)) == 1
        assert any("acknowledged this outage on its status page" in line for line in world.lines())


async def test_vendor_first_then_probe_is_one_incident(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        serve_vendor(world, 3)
        world.clock.set(SCENARIO.at(3))
        await world.poll()
        outage_windows(world, (180, 3600, "server_error"))
        world.next_run = SCENARIO.at(3)
        await world.run_until(400)
        [incident] = world.incidents()
        assert incident.probe_name == "api" and incident.upstream_id == "demo0outage1"
        assert len(opened(world)) == 1


async def test_probe_and_vendor_in_the_same_instant_are_one_incident(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        serve_vendor(world, 0)
        await world.poll()
        outage_windows(world, (0, 3600, "server_error"))
        await world.step()
        await world.step()  # two failures: the next one opens
        serve_vendor(world, 3)
        world.clock.set(world.next_run)
        await asyncio.gather(world.bot.poller.poll(), world.bot.probes.run("api"))
        await world.bot.worker.drain()
        assert len(world.incidents()) == 1
        assert len(opened(world)) == 1


async def test_unrelated_vendor_incident_is_informational(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        doc = SCENARIO.documents(3)["/api/v2/incidents.json"]
        outage = doc["incidents"][0]
        outage["components"] = [c for c in outage["components"] if c["name"] == "Claude Code"]
        world.page.serve(incidents=doc)
        await world.poll()
        outage_windows(world, (0, 3600, "server_error"))
        await world.run_until(120)
        vendor, ours = sorted(world.incidents(), key=lambda i: i.upstream_id is None)
        assert vendor.informational and vendor.probe_name is None
        assert ours.upstream_id is None and ours.probe_name == "api"


async def test_vendor_maintenance_suppresses_probe_incidents(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with probe_world(tmp_path) as world:
        summary = SCENARIO.documents(0)["/api/v2/summary.json"]
        summary["scheduled_maintenances"] = [
            {
                "id": "maint0001",
                "name": "Database upgrade",
                "status": "in_progress",
                "impact": "maintenance",
                "created_at": "2026-04-15T14:00:00Z",
                "scheduled_for": "2026-04-15T14:45:00Z",
                "scheduled_until": "2026-04-15T16:00:00Z",
                "incident_updates": [],
                "components": [{"id": "demo0api0000", "name": "Claude API (api.anthropic.com)"}],
            }
        ]
        world.page.serve(summary=summary)
        await world.poll()
        outage_windows(world, (0, 3600, "server_error"))
        with caplog.at_level(logging.INFO):
            await world.run_until(300)
        assert world.incidents() == []
        assert sum("maintenance window: recorded, not alerted" in r.getMessage() for r in caplog.records) == 1


async def test_raw_results_roll_up_and_storage_stays_bounded(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        with world.bot.db.session() as session:
            for n in range(10 * 24 * 60):  # ten days of one result a minute
                at = pw.START + timedelta(minutes=n)
                session.add(
                    ProbeResult(
                        probe="api", at=at, outcome="failure" if n % 100 == 0 else "ok", latency_ms=100.0 + n % 50
                    )
                )
            session.commit()
        prune(world.bot.db, pw.START + timedelta(days=10), keep_days=7)
        prune(world.bot.db, pw.START + timedelta(days=10), keep_days=7)  # idempotent
        with world.bot.db.session() as session:
            raw = session.exec(select(func.count()).select_from(ProbeResult)).one()
            rollups = session.exec(select(ProbeRollup)).all()
        assert raw == 7 * 24 * 60
        assert len(rollups) == 3 * 24 * 60 and sum(r.count for r in rollups) == 3 * 24 * 60
        assert sum(r.failures for r in rollups) == len([n for n in range(3 * 24 * 60) if n % 100 == 0])
        assert all(r.latency_max_ms is not None for r in rollups if r.failures < r.count)
        prune(world.bot.db, pw.START + timedelta(days=200), keep_days=7)
        with world.bot.db.session() as session:
            hourly = session.exec(select(ProbeRollup).where(ProbeRollup.seconds == 3600)).all()
        hours = {(pw.START + timedelta(minutes=n)).replace(minute=0) for n in range(10 * 24 * 60)}
        assert sum(r.count for r in hourly) == 10 * 24 * 60 and len(hourly) == len(hours)


def test_detector_opens_on_a_failure_streak_over_the_span_and_resolves_on_evidence() -> None:
    state, now = detector.State(), pw.START
    for _ in range(POLICY.open_after - 1):
        state, decisions = detector.observe(state, now, ProbeOutcome.FAILURE, POLICY)
        assert decisions == []
        now += POLICY.open_span / (POLICY.open_after - 1)
    state, decisions = detector.observe(state, now, ProbeOutcome.FAILURE, POLICY)
    assert [d.action for d in decisions] == ["open"] and decisions[0].reason.startswith("every attempt failing")
    state, decisions = detector.observe(state, now, ProbeOutcome.THROTTLED, POLICY)  # a 429 changes nothing
    assert decisions == [] and state.open
    resolved_after = 0
    while state.open:
        now += POLICY.recheck
        state, decisions = detector.observe(state, now, ProbeOutcome.OK, POLICY)
        resolved_after += 1
    assert [d.action for d in decisions] == ["resolve"]
    assert POLICY.resolve_after <= resolved_after <= CLEAN  # after a hard outage, a handful of clean attempts
    assert detector.State.from_json(state.to_json()) == state


async def test_probe_state_survives_a_restart(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        outage_windows(world, (0, 3600, "server_error"))
        await world.run_until(80)
        assert len(world.incidents()) == 1
        world.bot.probes = type(world.bot.probes)(world.bot.settings, world.bot.engine, world.bot.db, world.clock)
        await world.run_until(300)  # a new runner reads the saved state: still open, not opened again
        assert len(world.incidents()) == 1 and len(opened(world)) == 1
        await world.bot.probes.aclose()
