"""One outage, one thread, model-aware: end to end against the loopback Anthropic API (per-model
failure rates) and the status page fake, in simulated time."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import ProbeSpec
from bot.engine import seen_by
from bot.engine.live_cards import card_in
from bot.store.models import Incident, Reminder
from tests import probe_world as pw
from tests.probe_world import probe_world

OPUS, SONNET = "claude-opus-4-1-20250805", "claude-sonnet-4-5-20250929"
PROBES = [ProbeSpec(name="api", kind="anthropic_messages", models=[OPUS, SONNET], components=[pw.API_COMPONENT])]
SCENARIO = pw.Scenario.load()
OUTAGE = "demo0outage1"


def world_db(tmp: Path) -> Path:
    """The world's database file (tests/probe_world.py)."""
    return tmp / "probes.db"


def vendor_doc(*named: tuple[str, str], status: str | None = None) -> dict[str, Any]:
    """The scenario's outage at minute 3, once per (id, title) given; `status` overrides its own."""
    doc = SCENARIO.documents(3)["/api/v2/incidents.json"]
    outage = next(i for i in doc["incidents"] if i["id"] == OUTAGE)
    incidents = []
    for upstream, title in named:
        copied = copy.deepcopy(outage)
        copied["id"], copied["name"] = upstream, title
        for update in copied["incident_updates"]:
            update["id"] = f"{upstream}-{update['id']}"
            if status is not None:
                update["status"] = status
        if status is not None:
            copied["status"], copied["resolved_at"] = status, copied["incident_updates"][0]["created_at"]
        incidents.append(copied)
    return {"page": doc["page"], "incidents": incidents}


def opened(world: pw.ProbeWorld) -> list[str]:
    return [line for line in world.lines() if line.startswith("● ")]


async def start(world: pw.ProbeWorld) -> None:
    world.page.serve(incidents={"page": {"id": "p"}, "incidents": []})
    await world.poll()  # the first start's (empty) import


async def test_two_models_failing_at_once_are_one_incident_and_the_vendors_joins_it(tmp_path: Path) -> None:
    async with probe_world(tmp_path, model_error_rates={OPUS: 1.0, SONNET: 1.0}, probes=PROBES) as world:
        await start(world)
        await world.run_until(120)
        [incident] = world.incidents()
        assert len(opened(world)) == 1  # one thread, not one per model
        with world.bot.db.session() as session:
            streams = {row.stream: row.state for row in seen_by.of_incident(session, incident)}
        assert streams == {f"api:{OPUS}": "failing", f"api:{SONNET}": "failing"}
        assert incident.title == f"claude: probe api on {OPUS} and probe api on {SONNET} see errors"

        world.page.serve(incidents=vendor_doc((OUTAGE, "Elevated errors on Claude Opus 4.1")))
        await world.poll()
        [incident] = world.incidents()
        assert incident.upstream_id == OUTAGE and incident.models == ["opus-4.1"]
        with world.bot.db.session() as session:
            view = card_in(session, incident)
        assert view.vendor_status == "acknowledged by the vendor"
        assert view.timing is not None and view.timing.startswith("seen ") and "before the vendor posted" in view.timing
        assert any("The vendor has acknowledged this outage on its status page." in line for line in world.lines())
        shown = json.loads(
            CliRunner().invoke(app, ["show", str(incident.id), "--json", "--db", str(world_db(tmp_path))]).stdout
        )
        assert shown["models"] == ["opus-4.1"] and shown["affects_models_in_use"] is True
        assert [(s["key"], s["model"], s["failing"]) for s in shown["streams"]] == [
            (f"api:{OPUS}", OPUS, True),
            (f"api:{SONNET}", SONNET, True),
        ]
        assert shown["lead_time_s"] > 0 and shown["signalled_at"] is not None


async def test_a_vendor_incident_naming_another_model_or_an_unused_one_merges_with_nothing(tmp_path: Path) -> None:
    async with probe_world(tmp_path, model_error_rates={OPUS: 1.0}, probes=PROBES) as world:
        await start(world)
        await world.run_until(120)
        [ours] = world.incidents()
        world.page.serve(
            incidents=vendor_doc(
                ("sonnet1", "Elevated errors on Claude Sonnet 4.5"), ("haiku1", "Elevated errors on Claude Haiku 3.5")
            )
        )
        await world.poll()
        by_id = {i.upstream_id: i for i in world.incidents()}
        assert set(by_id) == {None, "sonnet1", "haiku1"}  # Opus's outage keeps its own thread
        assert by_id[None].id == ours.id and by_id[None].is_open
        haiku, sonnet = by_id["haiku1"], by_id["sonnet1"]
        assert haiku.unaffected and haiku.models == ["haiku-3.5"] and not sonnet.unaffected
        with world.bot.db.session() as session:
            reminders = {r.incident_id for r in session.exec(select(Reminder))}
            haiku_card = card_in(session, haiku)
        assert haiku.id not in reminders and sonnet.id in reminders  # quiet: no reminders, no escalation
        assert "does not affect the models we use (it names Haiku 3.5)" in haiku_card.remarks
        assert any("does not affect the models we use" in line for line in opened(world))

        world.api.model_error_rates[SONNET] = 1.0  # now Sonnet fails too: it joins the vendor's Sonnet incident
        await world.run_until(400)
        with world.bot.db.session() as session:
            joined = {row.stream: row.incident_id for i in world.incidents() for row in seen_by.of_incident(session, i)}
        assert joined == {f"api:{OPUS}": ours.id, f"api:{SONNET}": sonnet.id}


async def test_a_vendor_incident_resolved_when_first_seen_leaves_the_probe_incident_open(tmp_path: Path) -> None:
    async with probe_world(tmp_path, model_error_rates={OPUS: 1.0}, probes=PROBES) as world:
        await start(world)
        await world.run_until(120)
        world.page.serve(incidents=vendor_doc(("past1", "Elevated errors on Claude Opus 4.1"), status="resolved"))
        await world.poll()
        with world.bot.db.session() as session:
            ours = session.exec(select(Incident).where(Incident.probe_name == f"api:{OPUS}")).one()
            theirs = session.exec(select(Incident).where(Incident.upstream_id == "past1")).one()
        assert ours.is_open and ours.upstream_id is None
        assert not theirs.is_open and theirs.id != ours.id


async def test_claude_status_and_the_card_show_who_saw_it_and_what_it_concerns(tmp_path: Path) -> None:
    from bot.commands.context import CommandContext
    from bot.commands.handlers import status
    from bot.engine.events import Actor

    async with probe_world(tmp_path, model_error_rates={OPUS: 1.0}, probes=PROBES) as world:
        await start(world)
        await world.run_streams_until(120)
        world.page.serve(
            incidents=vendor_doc(
                (OUTAGE, "Elevated errors on Claude Opus 4.1"), ("haiku1", "Elevated errors on Claude Haiku 3.5")
            )
        )
        world.clock.set(max(world.clock.now(), SCENARIO.at(4)))
        await world.poll()
        answer = await status(CommandContext(Actor("alice", "U1", "slack")), world.bot.services, [])

        [ours] = [line for line in answer.lines if "Claude Opus 4.1" in line]
        assert ours.startswith("#1 Elevated errors on Claude Opus 4.1 — investigating")
        assert "seen by probe api on claude-opus-4-1-20250805 (failing)" in ours and "before the vendor posted" in ours
        [haiku] = [line for line in answer.lines if "Haiku 3.5" in line]
        assert haiku.endswith("does not affect the models we use (it names Haiku 3.5)")
