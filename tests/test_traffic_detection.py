"""The leader's traffic detector run, driven explicitly in simulated time over the real route and store:
failing calls open one incident for their model, the caller's own errors and silence change nothing,
recovery resolves, and a decision committed but not acted on (a crash) is acted on by the next run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import select

from bot.sources.probes import detector
from bot.sources.signals import detection
from bot.sources.signals.job import JOB_ID, TrafficDetector
from bot.store.models import Incident, ProbeState, TimelineEntry, TrafficRollup
from tests.signal_world import MODEL, SignalWorld, call, signal_world

STREAM = f"traffic:checkout:{MODEL}"


def detector_of(world: SignalWorld) -> TrafficDetector:
    assert world.bot.traffic is not None
    return world.bot.traffic


async def send(world: SignalWorld, ok: int, failed: int, status: int = 529, **extra: Any) -> None:
    """`ok` good calls and `failed` answered with `status`, spread over the last few seconds."""
    now = world.clock.now()
    calls = [call(now - timedelta(milliseconds=10 * i)) for i in range(ok)]
    calls += [call(now - timedelta(milliseconds=10 * i + 5), status, **extra) for i in range(failed)]
    sender = f"pod-{world.clock.now().timestamp()}"
    response = await world.post({"sender": sender, "source": "checkout", "calls": calls})
    assert response.status_code == 202, response.text


async def run(world: SignalWorld, seconds: float = 5.0) -> list[detection.Due]:
    """The detector's next run, `seconds` later, and delivery of what it changed."""
    world.clock.advance(seconds)
    done = await detector_of(world).run()
    await world.bot.worker.drain()
    return done


def incidents(world: SignalWorld) -> list[Incident]:
    with world.bot.db.session() as session:
        return list(session.exec(select(Incident)))


def state(world: SignalWorld) -> dict[str, Any]:
    with world.bot.db.session() as session:
        row = session.get(ProbeState, STREAM)
        return dict(row.state) if row else {}


async def test_failing_calls_open_one_incident_for_their_model_and_recovery_resolves_it(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        await send(world, 40, 0)
        assert await run(world) == [] and incidents(world) == []
        await send(world, 0, 30, error_type="overloaded_error")
        [opened] = await run(world)
        assert opened.decision.action == detector.Action.OPEN and opened.stream == STREAM
        [incident] = incidents(world)
        assert incident.is_open and incident.probe_name == STREAM and incident.source == "traffic"
        with world.bot.db.session() as session:
            [first] = session.exec(select(TimelineEntry).where(TimelineEntry.incident_id == incident.id))
            assert "overloaded_error ×30" in first.body
            rows = session.exec(select(TrafficRollup)).all()
            assert all((r.fed_ok, r.fed_failures) == (r.ok, r.failures) for r in rows)  # fed, with the state
        assert state(world)["open"] is True and detection.DUE not in state(world)
        assert any(MODEL in line for line in world.out.getvalue().splitlines())
        await send(world, 0, 30, error_type="overloaded_error")
        assert await run(world) == [] and len(incidents(world)) == 1  # still failing: the same incident
        await send(world, 50, 0)
        [resolved] = await run(world)
        assert resolved.decision.action == detector.Action.RESOLVE
        assert not incidents(world)[0].is_open and incidents(world)[0].resolved_by == "traffic"


async def test_the_callers_own_errors_and_throttling_never_open_anything(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        for status, kind in ((400, "invalid_request_error"), (401, "authentication_error"), (429, "rate_limit_error")):
            for _ in range(5):
                await send(world, 0, 200, status, error_type=kind)
                assert await run(world) == []
        assert incidents(world) == [] and state(world) == {}  # not even observed
        assert sum(r.caller + r.throttled for r in world.rollups()) == 3 * 5 * 200


async def test_silence_neither_opens_nor_resolves(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        await send(world, 0, 30)
        await run(world)
        [incident] = incidents(world)
        for _ in range(24):  # ten minutes of runs without a call
            assert await run(world, 25) == []
        assert incidents(world)[0].is_open and state(world)["open"] is True
        await send(world, 20, 0)
        await run(world)
        assert not incidents(world)[0].is_open and incidents(world)[0].id == incident.id


async def test_a_decision_committed_but_not_acted_on_is_acted_on_by_the_next_leader(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        await send(world, 0, 30)
        world.clock.advance(5)
        with world.bot.db.session() as session:  # the run's transaction, then the process dies
            [due] = detection.step(session, world.clock.now(), detector_of(world).policy, lambda _s, _k: False)
            session.commit()
        assert due.decision.action == detector.Action.OPEN and state(world)[detection.DUE]
        assert incidents(world) == []
        successor = TrafficDetector(world.bot.engine, world.bot.db, world.clock, detector_of(world).policy, 5.0)
        [acted] = await successor.run()
        await world.bot.worker.drain()
        assert acted == due and len(incidents(world)) == 1 and detection.DUE not in state(world)
        assert await successor.run() == [] and len(incidents(world)) == 1  # acted on once


async def test_it_runs_only_while_scheduled_by_the_leader_and_only_with_a_token(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        scheduler = AsyncIOScheduler(timezone="UTC")
        detector_of(world).start(scheduler)
        assert scheduler.get_job(JOB_ID) is not None
        detector_of(world).stop()
        assert scheduler.get_job(JOB_ID) is None
        assert detector_of(world).health().ok
    (tmp_path / "off").mkdir()
    async with signal_world(tmp_path / "off", signals_token=None) as world:
        assert world.bot.traffic is None
