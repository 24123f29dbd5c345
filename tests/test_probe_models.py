"""Probes of several models: each model is its own stream (its own detector state, results and
incidents) against the strict loopback Anthropic API, in simulated time; bad declarations refused."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.commands.context import CommandContext
from bot.commands.dispatch import dispatch
from bot.config import ProbeSpec, Settings
from bot.engine.events import Actor
from bot.sources.probes import lanes
from bot.store.models import ProbeResult, TimelineEntry
from tests import probe_world as pw
from tests.probe_world import outage_windows, probe_world
from tests.test_cli import run_cli

HAIKU, SONNET = "claude-haiku-4-5", "claude-sonnet-4-5"
TWO = [ProbeSpec(name="api", kind="anthropic_messages", models=[HAIKU, SONNET], components=[pw.API_COMPONENT])]


def test_one_model_keeps_the_probe_name_and_several_are_one_stream_each() -> None:
    assert ProbeSpec(name="api", kind="anthropic_messages").streams() == [("api", HAIKU)]
    assert ProbeSpec(name="api", kind="anthropic_messages", models=[SONNET]).streams() == [("api", SONNET)]
    assert TWO[0].streams() == [(f"api:{HAIKU}", HAIKU), (f"api:{SONNET}", SONNET)]
    assert ProbeSpec(name="web", kind="http", url="http://127.0.0.1:9/").streams() == [("web", None)]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": HAIKU, "models": [SONNET]}, "give `model` or `models`, not both"),
        ({"models": [SONNET, SONNET]}, f"{SONNET} is listed more than once"),
        ({"models": [" "]}, "a model name in `models` is empty"),
        ({"kind": "http", "url": "http://127.0.0.1:9/", "models": [SONNET]}, "`models` is for anthropic_messages"),
    ],
)
def test_a_bad_models_list_is_refused_with_its_reason(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ProbeSpec.model_validate({"name": "api", "kind": "anthropic_messages", **fields})


def test_two_probes_of_one_name_are_refused_naming_it() -> None:
    twice = [ProbeSpec(name="api", kind="anthropic_messages", models=[HAIKU, SONNET])] * 2
    with pytest.raises(ValidationError, match="names must be unique; api is declared more than once"):
        Settings(database_url="sqlite://", probes=twice)


async def test_twenty_percent_errors_on_one_of_two_models_opens_that_models_incident_only(tmp_path: Path) -> None:
    async with probe_world(tmp_path, model_error_rates={SONNET: 0.2}, probes=TWO) as world:
        await world.run_until(600)
        [incident] = world.incidents()
        assert incident.probe_name == f"api:{SONNET}" and incident.is_open
        assert incident.title == f"claude: probe api on {SONNET} sees errors"
        assert not world.bot.probes._load(f"api:{HAIKU}").open
        with world.bot.db.session() as session:
            haiku = session.exec(select(ProbeResult).where(ProbeResult.probe == f"api:{HAIKU}")).all()
            sonnet = session.exec(select(ProbeResult).where(ProbeResult.probe == f"api:{SONNET}")).all()
        assert haiku and all(r.outcome == "ok" for r in haiku)
        assert sum(r.outcome == "failure" for r in sonnet) >= 5
        models = {r.json["model"] for r in world.api.requests if r.path == "/v1/messages"}
        assert models == {HAIKU, SONNET}
        answer = await dispatch("status", CommandContext(Actor("alice")), world.bot.services)
        probes = [line for line in answer.lines if line.startswith("Probe ")]
        assert [line.split(",")[0].split(" (")[0] for line in probes] == [
            f"Probe api on {HAIKU}: healthy",
            f"Probe api on {SONNET}: failing",
        ]
        assert " of the last 60 attempts failed (last: " in probes[1]
        parent = next(line for line in world.lines() if line.startswith("● "))
        assert f"Probe api on {SONNET}: " in parent and " of the last " in parent and HAIKU not in parent
    toml = tmp_path / "statusbot.toml"
    toml.write_text(f'[[probes]]\nname = "api"\nkind = "anthropic_messages"\nmodels = ["{HAIKU}", "{SONNET}"]\n')
    db = str(tmp_path / "probes.db")
    result = run_cli("status", "--json", "--db", db, STATUSBOT_CONFIG=str(toml), ANTHROPIC_API_KEY=pw.KEY)
    assert result.returncode == 0, result.stderr
    shown = {p["model"]: p for p in json.loads(result.stdout)["probes"]}
    assert shown[HAIKU]["health"] == "healthy" and shown[HAIKU]["recent_failed"] == 0
    assert shown[SONNET]["health"] == "failing" and shown[SONNET]["stream"] == f"api:{SONNET}"
    assert shown[SONNET]["last"]["outcome"] in ("ok", "failure")


async def test_an_unknown_model_is_one_config_line_and_never_an_incident(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    probes = [ProbeSpec(name="api", kind="anthropic_messages", models=[HAIKU, "claude-nope-9"])]
    async with probe_world(tmp_path, probes=probes) as world:
        with caplog.at_level(logging.ERROR):
            await world.run_until(1800)
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(lines) == 1, lines
        assert "probe api:claude-nope-9: the API does not know the model 'claude-nope-9'" in lines[0]
        assert "HTTP 404 not_found_error" in lines[0] and "fix `models` of [[probes]] api" in lines[0]
        assert pw.KEY not in caplog.text
        assert world.incidents() == []
        assert world.api.count("/v1/messages", 404) > 10  # it kept asking: the line was said once
        assert not world.bot.probes._load(f"api:{HAIKU}").open


async def test_a_hard_outage_opens_through_the_free_lanes_within_15_s(tmp_path: Path) -> None:
    async with probe_world(tmp_path) as world:
        outage_windows(world, (600, 1800, "server_error"))
        await world.run_until(660)
        [incident] = world.incidents()
        with world.bot.db.session() as session:
            opened_at = session.exec(
                select(TimelineEntry.at).where(TimelineEntry.incident_id == incident.id).order_by(TimelineEntry.id)
            ).first()
        assert opened_at is not None
        assert 0 < (opened_at - pw.START).total_seconds() - 600 <= 15
        seen = [lane for (at, _), (_, lane) in zip(world.outcomes, world.lanes, strict=True) if at >= pw.START]
        during = [
            lane
            for (at, outcome), (_, lane) in zip(world.outcomes, world.lanes, strict=True)
            if pw.START.timestamp() + 600 <= at.timestamp() <= opened_at.timestamp()
        ]
        assert set(seen) == {lanes.MESSAGES, lanes.COUNT_TOKENS, lanes.MODELS}
        assert during.count(lanes.MESSAGES) <= 1 < during.count(lanes.COUNT_TOKENS)
