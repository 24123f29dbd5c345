"""From the first alert to the postmortem: acknowledgment, reminders and escalation in simulated time,
TTA/TTR and lead time, the draft and its chart, stats over a seeded history."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot import stats
from bot.clock import ManualClock, parse_time
from bot.engine.durations import human_duration
from bot.engine.events import Actor, IncidentObserved, UpdateObserved
from bot.engine.incidents import IncidentEngine
from bot.engine.probes import ProbeMap
from bot.engine.reminders import ReminderPolicy
from bot.postmortem.data import gather
from bot.postmortem.draft import TemplateProblem, build, render
from bot.store.db import Database
from bot.store.enums import EntryKind
from bot.store.models import OutboxMessage, ProbeResult, TimelineEntry
from tests import probe_world as pw
from tests.conftest import load_json, shared_path
from tests.probe_world import outage_windows, probe_world

APRIL = ("2026-04-15T15-02-18Z.json", "2026-04-15T16-57-22Z.json", "2026-04-15T18-05-43Z.json")
T0 = (datetime.now(UTC) - timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def test_a_real_incident_with_probes_acked_resolved_and_drafted(tmp_path: Path) -> None:
    folder = shared_path("anthropic", "incidents_json_snapshots")
    docs = [load_json(folder / name) for name in APRIL]
    real = next(i for i in docs[-1]["incidents"] if i["id"] == "f00h6l76tsjs")
    async with probe_world(tmp_path) as world:
        world.page.serve(incidents=load_json(folder / "2026-04-15T13-13-26Z.json"))
        await world.poll()  # first start: the page's history is recorded silently
        end_of_outage = (parse_time("2026-04-15T17:30:00Z") - pw.START).total_seconds()
        outage_windows(world, (0, end_of_outage, "overloaded"))
        events = [(parse_time(d["page"]["updated_at"]), d) for d in docs] + [(pw.START + timedelta(minutes=20), None)]
        for moment, doc in sorted(events, key=lambda e: e[0]):
            await world.run_until((moment - pw.START).total_seconds())
            world.clock.set(moment)
            if doc is None:
                world.bot.engine.acknowledge(world.incidents()[0].id, Actor("alice", "U0ALICE", "slack"))
                continue
            world.page.serve(incidents=doc)
            await world.poll()
        [incident] = world.incidents()
        detected = pw.START  # the first failing probe
        assert incident.upstream_id == "f00h6l76tsjs" and incident.detected_at == detected
        assert incident.acknowledged_at - detected == timedelta(minutes=20)  # TTA
        assert incident.resolved_at == parse_time(real["resolved_at"])
        assert incident.resolved_at - detected == parse_time(real["resolved_at"]) - detected  # TTR
        first_update = parse_time(real["incident_updates"][-1]["display_at"])
        assert incident.vendor_acknowledged_at == first_update
        assert incident.vendor_acknowledged_at - detected == timedelta(minutes=3, seconds=2, microseconds=97000)

        data = gather(world.bot.db, incident.id, world.clock.now())
        assert [u.body for u in data.vendor_updates] == [u["body"] for u in reversed(real["incident_updates"])]
        draft = build(world.bot.db, incident.id, world.clock.now())
        for update in reversed(real["incident_updates"]):
            assert update["body"].split(".")[0] in draft.markdown
        # the lead counts from when our probe reported it (its threshold crossed), not its first failure
        assert detected < incident.signalled_at < incident.vendor_acknowledged_at
        lead = human_duration(incident.vendor_acknowledged_at - incident.signalled_at)
        assert f"| Detection lead time | {lead} |" in draft.markdown
        assert "| Time to resolve (vendor, started → resolved) | 2h 49m |" in draft.markdown  # 14:53:02 → 17:42:57
        assert "| Time to acknowledge | 20m (alice) |" in draft.markdown
        assert "overloaded_error" in draft.markdown
        assert data.window == (detected - timedelta(minutes=10), incident.resolved_at + timedelta(minutes=10))
        width, height = png_size(draft.chart_png)
        assert width > 600 and height > 300
        await world.bot.worker.drain()
        assert (tmp_path / "postmortems" / f"postmortem-{incident.id}.md").is_file()  # posted on resolution


def test_a_broken_template_names_its_file_and_line(tmp_path: Path) -> None:
    mine = tmp_path / "templates"
    mine.mkdir()
    database = seeded(tmp_path)
    data = gather(database, 1, T0 + timedelta(days=1))
    (mine / "postmortem.md.j2").write_text("# {{ incident.title }}\n\n{% for x in timeline %}\n{{ x.at }\n")
    with pytest.raises(TemplateProblem, match=r"postmortem\.md\.j2 line 4: unexpected '}'"):
        render(data, str(mine))
    (mine / "postmortem.md.j2").write_text("# {{ incident.title }}\n{{ no_such_thing.here }}\n")
    with pytest.raises(TemplateProblem, match=r"postmortem\.md\.j2 line 2: 'no_such_thing' is undefined"):
        render(data, str(mine))
    (mine / "postmortem.md.j2").write_text("{{ incident.__class__.__mro__ }}\n")
    with pytest.raises(TemplateProblem, match="line 1"):
        render(data, str(mine))  # the sandbox refuses to walk Python internals
    database.dispose()


def reminder_engine(database: Database, clock: ManualClock, quiet: str = "") -> IncidentEngine:
    policy = ReminderPolicy.parse(15, 30, quiet, "UTC")
    return IncidentEngine(database, ["console"], clock, probes=ProbeMap(), reminder_policy=policy)


def open_incident(engine: IncidentEngine, at: datetime, upstream: str = "inc-1") -> int:
    engine.apply_incident(
        IncidentObserved(
            service="claude",
            source="statuspage",
            upstream_id=upstream,
            title="Elevated errors",
            status="investigating",
            impact="major",
            started_at=at,
            updates=(UpdateObserved(f"{upstream}-u1", "investigating", "Looking", at),),
        )
    )
    return 1


def entries(database: Database, *kinds: str) -> list[TimelineEntry]:
    with database.session() as session:
        return list(session.exec(select(TimelineEntry).where(TimelineEntry.kind.in_(kinds))))  # type: ignore[attr-defined]


def tick_every_30s(engine: IncidentEngine, clock: ManualClock, minutes: float) -> None:
    for _ in range(int(minutes * 2)):
        clock.advance(30)
        engine.send_reminders()


def test_reminders_fire_on_time_escalate_and_stop_on_ack(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.upgrade()
    clock = ManualClock(T0)
    engine = reminder_engine(database, clock)
    open_incident(engine, T0)
    tick_every_30s(engine, clock, 44)
    sent = entries(database, EntryKind.REMINDER, EntryKind.ESCALATION)
    assert [(e.kind, e.at - T0) for e in sent] == [
        ("reminder", timedelta(minutes=15)),
        ("escalation", timedelta(minutes=30)),
    ]
    engine.acknowledge(1, Actor("bob"))
    tick_every_30s(engine, clock, 60)
    assert len(entries(database, EntryKind.REMINDER, EntryKind.ESCALATION)) == 2
    with database.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.entry_id.in_([e.id for e in sent]))).all()  # type: ignore[union-attr]
    assert len(rows) == 2  # each reminder went to the sink once
    database.dispose()


def test_a_restart_sends_no_burst_and_no_duplicate(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.upgrade()
    clock = ManualClock(T0)
    open_incident(reminder_engine(database, clock), T0)
    clock.advance(16 * 60)
    reminder_engine(database, clock).send_reminders()  # sent at 16m
    clock.advance(3 * 3600)  # the bot was down for three hours
    restarted = reminder_engine(database, clock)
    restarted.send_reminders()
    restarted.send_reminders()  # a second tick in the same instant sends nothing
    sent = entries(database, EntryKind.REMINDER, EntryKind.ESCALATION)
    assert [e.kind for e in sent] == ["reminder", "escalation"]  # one catch-up message, not twelve
    database.dispose()


def test_quiet_hours_and_snooze_postpone_reminders(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.upgrade()
    night = datetime(2026, 5, 4, 22, 30, tzinfo=UTC)
    clock = ManualClock(night)
    engine = reminder_engine(database, clock, quiet="22:00-07:00")
    open_incident(engine, night)
    tick_every_30s(engine, clock, 8 * 60)  # until 06:30
    assert entries(database, EntryKind.REMINDER, EntryKind.ESCALATION) == []
    tick_every_30s(engine, clock, 31)  # 07:01
    [first] = entries(database, EntryKind.REMINDER, EntryKind.ESCALATION)
    assert first.at == datetime(2026, 5, 5, 7, 0, tzinfo=UTC)
    engine.snooze(1, 60, Actor("carol"))
    tick_every_30s(engine, clock, 45)
    assert len(entries(database, EntryKind.REMINDER, EntryKind.ESCALATION)) == 1
    tick_every_30s(engine, clock, 20)
    assert len(entries(database, EntryKind.REMINDER, EntryKind.ESCALATION)) == 2
    database.dispose()


def seeded(tmp_path: Path) -> Database:
    """Three incidents with known timings, and a probe with known results."""
    database = Database(f"sqlite:///{tmp_path / 'seed.db'}")
    database.upgrade()
    clock = ManualClock(T0)
    engine = IncidentEngine(database, ["console"], clock, probes=ProbeMap({"api": ["comp-api"]}))
    plans = [(0, 10, 60), (2, 30, 120), (4, None, 45)]  # (day, minutes to ack, minutes to resolve)
    for n, (day, ack, resolve) in enumerate(plans, start=1):
        start = T0 + timedelta(days=day)
        clock.set(start)
        engine.apply_incident(
            IncidentObserved(
                service="claude",
                source="statuspage",
                upstream_id=f"i{n}",
                title=f"Incident {n}",
                status="investigating",
                impact="major",
                started_at=start,
                components=(("comp-api", "Claude API"),),
                updates=(
                    UpdateObserved(f"i{n}u1", "investigating", "Down", start, changes=(_change("major_outage"),)),
                ),
            )
        )
        if ack is not None:
            clock.set(start + timedelta(minutes=ack))
            engine.acknowledge(n, Actor("alice"))
        clock.set(start + timedelta(minutes=resolve))
        engine.apply_incident(
            IncidentObserved(
                service="claude",
                source="statuspage",
                upstream_id=f"i{n}",
                title=f"Incident {n}",
                status="resolved",
                impact="major",
                started_at=start,
                resolved_at=start + timedelta(minutes=resolve),
                components=(("comp-api", "Claude API"),),
                updates=(
                    UpdateObserved(f"i{n}u1", "investigating", "Down", start, changes=(_change("major_outage"),)),
                    UpdateObserved(
                        f"i{n}u2",
                        "resolved",
                        "Up",
                        start + timedelta(minutes=resolve),
                        changes=(_change("operational", "major_outage"),),
                    ),
                ),
            )
        )
    with database.session() as session:
        for minute in range(100):  # 100 results a minute apart, the 10 from minute 50 failing
            session.add(
                ProbeResult(
                    probe="api",
                    at=T0 + timedelta(days=5, minutes=minute),
                    outcome="failure" if 50 <= minute < 60 else "ok",
                    latency_ms=300.0,
                )
            )
        session.commit()
    return database


def _change(new: str, old: str = "operational") -> object:
    from bot.engine.events import ComponentChange

    return ComponentChange("comp-api", "Claude API", old, new)


def test_stats_over_a_seeded_history_equal_the_hand_computed_values(tmp_path: Path) -> None:
    database = seeded(tmp_path)
    figures = stats.compute(database, T0 + timedelta(days=6), 30, {"api": ["Claude API"]})
    assert figures.incidents == 3 and figures.acknowledged == 2
    assert figures.mtta_median_s == 20 * 60 and figures.mtta_p90_s == 30 * 60  # acks after 10 and 30 min
    assert figures.mttr_median_s == 60 * 60 and figures.mttr_p90_s == 120 * 60  # 45, 60, 120 min
    assert figures.vendor_minutes == {"Claude API": 60 + 120 + 45}
    assert figures.probe_minutes == {"Claude API": 10}  # ten failing results a minute apart
    assert figures.uptime == {"api": 0.9}
    assert figures.lead_median_s is None  # no probe saw these incidents
    text = "\n".join(stats.describe(figures))
    assert "3 incidents in the last 30 days" in text and "Probe api uptime: 90.000%" in text
    week = stats.compute(database, T0 + timedelta(days=6), 3, {"api": ["Claude API"]})
    assert week.incidents == 1  # only the one started on day 4
    database.dispose()


def test_cli_postmortem_and_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    database = seeded(tmp_path)
    database.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'seed.db'}")
    out = tmp_path / "pm" / "draft.md"
    out.parent.mkdir()
    result = CliRunner().invoke(app, ["postmortem", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Incident 2" in out.read_text() and "(draft.png)" in out.read_text()
    assert png_size(out.with_suffix(".png").read_bytes())[0] > 600
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "postmortem.md.j2").write_text("{{ oops(}}\n")
    monkeypatch.setenv("STATUSBOT_TEMPLATES", str(mine))
    broken = CliRunner().invoke(app, ["postmortem", "2"])
    assert broken.exit_code == 1 and "postmortem.md.j2 line 1" in broken.output
    assert "Traceback" not in broken.output
    listed = CliRunner().invoke(app, ["stats", "--window", "90d", "--json"])
    assert listed.exit_code == 0 and '"incidents": 3' in listed.output


async def test_one_draft_serves_every_sink(tmp_path: Path) -> None:
    from bot.chat.console.sink import ConsoleSink
    from bot.delivery.worker import DeliveryWorker

    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    database.upgrade()
    clock = ManualClock(T0)
    made: list[int] = []

    def drafts(incident_id: int) -> object:
        made.append(incident_id)
        return build(database, incident_id, clock.now())

    sinks = {name: ConsoleSink(io.StringIO(), colour=False, folder=tmp_path / name) for name in ("one", "two")}
    worker = DeliveryWorker(database, sinks, clock, drafts=drafts)  # type: ignore[arg-type]
    engine = IncidentEngine(database, list(sinks), clock, on_commit=worker.kick)
    open_incident(engine, T0)
    engine.resolve(1, Actor("bob"))
    await worker.drain()
    assert made == [1]  # the chart is drawn once, not once per sink
    assert (tmp_path / "one" / "postmortem-1.md").is_file() and (tmp_path / "two" / "postmortem-1.md").is_file()
    database.dispose()
