"""Probes of several models: each model is its own stream (its own detector state, results and
incidents) against the strict loopback Anthropic API, in simulated time; bad declarations refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.config import ProbeSpec
from bot.store.models import ProbeResult
from tests import probe_world as pw
from tests.probe_world import probe_world

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


async def test_twenty_percent_errors_on_one_of_two_models_opens_that_models_incident_only(tmp_path: Path) -> None:
    async with probe_world(tmp_path, model_error_rates={SONNET: 0.2}, probes=TWO) as world:
        await world.run_streams_until(3600)
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


async def test_an_unknown_model_is_one_config_line_and_never_an_incident(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    probes = [ProbeSpec(name="api", kind="anthropic_messages", models=[HAIKU, "claude-nope-9"])]
    async with probe_world(tmp_path, probes=probes) as world:
        with caplog.at_level(logging.ERROR):
            await world.run_streams_until(1800)
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(lines) == 1, lines
        assert "probe api:claude-nope-9: the API does not know the model 'claude-nope-9'" in lines[0]
        assert "HTTP 404 not_found_error" in lines[0] and "fix `models` of [[probes]] api" in lines[0]
        assert pw.KEY not in caplog.text
        assert world.incidents() == []
        assert world.api.count("/v1/messages", 404) > 10  # it kept asking: the line was said once
        assert not world.bot.probes._load(f"api:{HAIKU}").open
