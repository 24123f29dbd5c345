"""Slack end to end: the real slack_sdk and slack-bolt against a strict loopback Slack, real signed
HTTP requests for commands and buttons, simulated time for rate limits and outages."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.chat.slack import manifest
from bot.chat.slack import platform as slack_platform
from bot.chat.slack.render import ACK, POSTMORTEM, RESOLVE, SNOOZE
from bot.clock import parse_time
from bot.demo.scenario import Scenario
from bot.store.models import Incident, OutboxMessage
from tests.conftest import load_json, shared_path, slow_commands
from tests.slack_world import CHANNEL, SlackWorld, sign, slack_world

SCENARIO = Scenario.load()
UPDATES = [u["body"] for u in SCENARIO.data["incident"]["updates"]]


async def replay(world: SlackWorld, minutes: list[float] | None = None) -> None:
    for minute in minutes if minutes is not None else [0, *SCENARIO.moments()]:
        world.clock.set(SCENARIO.at(minute))
        world.serve_minute(SCENARIO, minute)
        await world.poll()


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def mrkdwn(node: Any) -> list[str]:
    """Every mrkdwn string in a block tree: the text Slack parses for mentions and links."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn(value)]
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn(item)]
    return []


def block_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


async def test_an_outage_is_one_thread_kept_current(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        await replay(world)
        parents = world.parents()
        assert len(parents) == 1
        parent = parents[0]
        replies = world.replies(parent)
        assert len(replies) == len(UPDATES)
        for reply, body in zip(replies, UPDATES, strict=True):
            assert body.replace("&", "&amp;") in block_text(reply)
        assert [r.get("reply_broadcast", False) for r in replies] == [False] * (len(UPDATES) - 1) + [True]
        card = block_text(parent)
        assert "resolved" in parent["text"] and "(resolved)" in card
        assert POSTMORTEM in card and RESOLVE not in card  # a resolved card offers only the postmortem
        assert parent["edits"], "the parent was never edited"
        assert world.slack.calls_to("chat.update")
        assert world.files(parent) == ["postmortem-2.md", "postmortem-2.png"]  # the draft, on resolution


async def test_real_recorded_claude_incident_lands_as_one_thread(tmp_path: Path) -> None:
    folder = shared_path("anthropic", "incidents_json_snapshots")
    docs = [
        load_json(folder / name)
        for name in (
            "2026-04-15T13-13-26Z.json",
            "2026-04-15T15-02-18Z.json",
            "2026-04-15T16-57-22Z.json",
            "2026-04-15T18-05-43Z.json",
        )
    ]
    async with slack_world(tmp_path, start=parse_time(docs[0]["page"]["updated_at"])) as world:
        for doc in docs:
            world.clock.set(parse_time(doc["page"]["updated_at"]))
            world.page.serve(incidents=doc)
            await world.poll()
        real = next(i for i in docs[-1]["incidents"] if i["id"] == "f00h6l76tsjs")
        parents = world.parents()
        assert len(parents) == 1 and "Elevated errors on Claude.ai, API, Claude Code" in parents[0]["text"]
        replies = world.replies(parents[0])
        assert len(replies) == len(real["incident_updates"]) == 7
        for reply, update in zip(replies, reversed(real["incident_updates"]), strict=True):
            assert update["body"][:60] in block_text(reply)


async def test_slash_commands_answer_privately_and_act_in_the_thread(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3, 5.5])
        help_ = (await world.command("help")).json()
        assert help_["response_type"] == "ephemeral" and "/claude ack [ID]" in json.dumps(help_["blocks"])
        status = (await world.command("status")).json()
        assert "4 of 4 components affected" in status["text"] and "#2" in status["text"]
        shown = (await world.command("show")).json()  # ID defaults to the most recent open incident
        assert UPDATES[1] in shown["text"]

        acked = (await world.command("ack", user="U0BOB")).json()
        assert acked["response_type"] == "ephemeral" and "You acknowledged #2" in acked["text"]
        await world.drain()
        parent = world.parents()[0]
        assert "<@U0BOB>" in block_text(world.replies(parent)[-1])
        assert "<@U0BOB>" in block_text(world.parents()[0])  # the card says who owns it

        again = (await world.command("ack 2")).json()
        assert "already acknowledged by u0bob" in again["text"]
        assert "You resolved #2" in (await world.command("resolve #2")).json()["text"]
        await world.drain()
        assert "already resolved" in (await world.command("resolve 2")).json()["text"]
        listed = (await world.command("incidents")).json()
        assert "TTA" in listed["text"] and "TTR" in listed["text"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("frobnicate", "I don't know `frobnicate`"),
        ("show abc", "`abc` is not an incident number"),
        ("show 999", "There is no incident #999"),
        ("ack", "There is no open incident"),
        ("postmortem 999", "There is no incident #999"),
    ],
)
async def test_bad_commands_get_a_helpful_private_answer(tmp_path: Path, text: str, words: str) -> None:
    async with slack_world(tmp_path) as world:
        answer = await world.command(text)
        assert answer.status_code == 200
        body = answer.json()
        assert body["response_type"] == "ephemeral" and words in body["text"]
        assert "Traceback" not in answer.text


async def test_bad_signature_or_stale_timestamp_is_401(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        payload = world.slack.slash_command("/claude", "status")
        body = urllib.parse.urlencode(payload)
        forged = await world.http.post("/slack/events", content=body, headers=sign(body, secret="not-the-secret"))
        stale = await world.http.post(
            "/slack/events", content=body, headers=sign(body, timestamp=int(time.time()) - 301)
        )
        tampered_headers = sign(body)
        tampered = await world.http.post("/slack/events", content=body + "&x=1", headers=tampered_headers)
        assert (forged.status_code, stale.status_code, tampered.status_code) == (401, 401, 401)


async def test_buttons_ack_and_resolve_from_the_card(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3])
        assert (await world.click("incident_ack", 2, user="U0DAN")).status_code == 200
        await world.drain()
        card = block_text(world.parents()[0])
        assert "<@U0DAN>" in card and "incident_ack" not in card
        assert (await world.click("incident_postmortem", 2)).status_code == 200
        assert "on its way to the incident" in world.slack.ephemerals[-1]["text"]
        await world.drain()
        assert world.files(world.parents()[0]) == ["postmortem-2.md", "postmortem-2.png"]
        await world.click("incident_resolve", 2)
        await world.drain()
        with world.bot.db.session() as session:
            incident = session.get(Incident, 2)
        assert incident is not None and incident.resolved_by_id == "U0ALICE"
        assert world.replies(world.parents()[0])[-1].get("reply_broadcast") is True


async def test_only_responders_may_act_when_configured(tmp_path: Path) -> None:
    async with slack_world(tmp_path, responders="U0ALICE", slack_responder_group="S0RESP") as world:
        await replay(world, [0, 3])
        denied = (await world.command("ack", user="U0MALLORY")).json()
        assert "not allowed" in denied["text"]
        await world.click("incident_resolve", 2, user="U0MALLORY")
        assert "not allowed" in world.slack.ephemerals[-1]["text"]
        assert "You acknowledged" in (await world.command("ack", user="U0CAROL")).json()["text"]  # group member
        assert "You resolved" in (await world.command("resolve", user="U0ALICE")).json()["text"]  # listed id


async def test_slow_work_is_acked_in_time_then_answered_through_the_response_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_commands(monkeypatch, slack_platform)
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3])
        started = time.monotonic()
        acked = await world.command("status")
        assert time.monotonic() - started < 3 and acked.json() == {
            "text": "Working on it…",
            "response_type": "ephemeral",
        }
        await world.settle()
        [late] = world.slack.responses
        assert "Status of claude" in late["body"]["text"] and late["body"]["response_type"] == "ephemeral"


async def test_vendor_text_cannot_ping_or_inject_markup(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        doc = SCENARIO.documents(3)["/api/v2/incidents.json"]
        doc["incidents"][0]["name"] = "Outage <!channel> & <https://evil.example|click>"
        doc["incidents"][0]["incident_updates"][0]["body"] = "<!everyone> ping <@U0BOSS> " + "x" * 5000
        world.page.serve(incidents=doc)
        await world.poll()
        messages = [*world.parents(), *world.replies(world.parents()[0])]
        everything = json.dumps([(m["text"], mrkdwn(m["blocks"])) for m in messages])  # plain_text is never parsed
        assert "<!channel>" not in everything and "<!everyone>" not in everything and "<@U0BOSS>" not in everything
        assert "&lt;!channel&gt; &amp;" in everything
        assert "(cut)" in everything  # 5,000 characters do not fit a section; cut with a marker


async def test_429_storm_500s_and_a_ten_minute_outage_lose_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3])
        world.slack.ratelimit_next(4, retry_after=3)
        world.slack.fail_next(3, status=500)
        await replay(world, [5.5, 13.5])
        world.slack.outage(True)
        await replay(world, [30, 50.5, 99.75])
        world.clock.advance(600)  # ten minutes of Slack outage in simulated time
        await world.drain()
        world.slack.outage(False)
        await replay(world, [173])
        for _ in range(40):  # retries come due as simulated time passes
            world.clock.advance(30)
            await world.drain()
        parents = world.parents()
        assert len(parents) == 1
        replies = world.replies(parents[0])
        assert [r for r in UPDATES if r.replace("&", "&amp;") not in json.dumps(replies)] == []
        bodies = [u.replace("&", "&amp;") for u in UPDATES]
        order = [next(i for i, b in enumerate(bodies) if b in block_text(r)) for r in replies]
        assert order == sorted(order) == list(range(len(UPDATES))), "out of order or twice"
        with world.bot.db.session() as session:
            assert session.exec(select(OutboxMessage).where(OutboxMessage.delivered_at == None)).all() == []  # noqa: E711
        statuses = [call.status for call in world.slack.calls]
        assert statuses.count(429) == 4, "a 429 beyond the injected storm: the bot posted faster than ~1/s"
        assert statuses.count(500) == 3 and statuses.count(503) >= 1


async def test_a_post_whose_answer_was_lost_is_not_posted_twice(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        world.slack.drop_response_next(1)  # the parent is stored, the answer never arrives
        await replay(world, [0, 3])
        world.slack.drop_response_next(1)  # now a thread reply
        await replay(world, [5.5])
        for _ in range(5):
            world.clock.advance(60)
            await world.drain()
        assert len(world.parents()) == 1
        assert len(world.replies(world.parents()[0])) == 2


async def test_a_lost_answer_in_a_long_thread_is_not_posted_twice(tmp_path: Path) -> None:
    """conversations.replies lists a thread oldest first, a page at a time: the lookup of a reply
    whose answer was lost reads past the first page of a busy thread (people talk in it)."""
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3])
        [parent] = world.parents()
        for n in range(450):
            world.slack.add_message(CHANNEL, f"on it {n}", thread_ts=parent["ts"])
        world.slack.drop_response_next(1)  # the reply lands at the end of the thread; its answer is lost
        await replay(world, [5.5])
        for _ in range(3):
            world.clock.advance(60)
            await world.drain()
        ours = [m for m in world.replies(parent) if m["bot_id"]]
        assert len(ours) == 2, [m["text"][:60] for m in ours]


async def test_configuration_errors_are_reported_once_and_not_retried_forever(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_world(tmp_path) as world:
        world.slack.set_member(CHANNEL, False)
        with caplog.at_level(logging.ERROR):
            await replay(world, [0, 3, 5.5])
            for _ in range(5):
                world.clock.advance(30)
                await world.drain()
        problems = [r.getMessage() for r in caplog.records if "configuration problem" in r.getMessage()]
        assert len(problems) == 1 and "/invite @statusbot" in problems[0]
        posts = len(world.slack.calls_to("chat.postMessage"))
        assert posts <= 2  # tried, told, then paused (10 minutes), not hammered every drain
        world.slack.set_member(CHANNEL, True)  # someone invites the bot
        world.clock.advance(601)
        await world.drain(2)
        assert len(world.parents()) == 1 and len(world.replies(world.parents()[0])) == 2


async def test_manifest_and_handlers_match(tmp_path: Path) -> None:
    from bot.commands.registry import COMMANDS

    data = manifest.load()
    commands = [c["command"] for c in data["features"]["slash_commands"]]
    hint = data["features"]["slash_commands"][0]["usage_hint"]
    assert sorted(part.split()[0] for part in hint.split(" | ")) == sorted(spec.name for spec in COMMANDS)
    assert data["settings"]["interactivity"]["is_enabled"] is True
    async with slack_world(tmp_path) as world:
        platform = world.bot.platforms[0]
        assert list(platform.commands) == commands  # type: ignore[attr-defined]
        assert set(platform.actions) == {ACK, RESOLVE, SNOOZE, POSTMORTEM}  # type: ignore[attr-defined]
        await replay(world, [0, 3])
        for command in commands:  # every manifest command really answers
            payload = world.slack.slash_command(command, "help")
            body = urllib.parse.urlencode(payload)
            answer = await world.http.post("/slack/events", content=body, headers=sign(body))
            assert answer.status_code == 200 and "/claude status" in answer.text
        body = urllib.parse.urlencode(world.slack.slash_command("/not-ours", "help"))
        assert (await world.http.post("/slack/events", content=body, headers=sign(body))).status_code == 404
        for action in (ACK, RESOLVE, SNOOZE, POSTMORTEM):  # every button the card renders is handled
            assert action in block_text(world.parents()[0]) or action == "incident_ack"
            assert (await world.click(action, 2)).status_code == 200


def test_manifest_for_install_fills_in_the_url_or_socket_mode() -> None:
    http = manifest.for_install("https://bot.example.com/")
    assert http["features"]["slash_commands"][0]["url"] == "https://bot.example.com/slack/events"
    assert http["settings"]["interactivity"]["request_url"] == "https://bot.example.com/slack/events"
    socket = manifest.for_install(None)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket["features"]["slash_commands"][0]


async def test_socket_mode_needs_no_public_url(tmp_path: Path) -> None:
    async with slack_world(tmp_path, slack_app_token="xapp-test-token", slack_signing_secret=None) as world:
        assert world.bot.platforms[0].routes() == []  # type: ignore[attr-defined]
        await world.bot.platforms[0].start()
        await replay(world, [0, 3])
        ack = await world.slack.socket_send(
            "slash_commands", world.slack.slash_command("/claude", "ack", user_id="U0EVE")
        )
        assert ack is not None and "You acknowledged #2" in ack["text"]
        await world.drain()
        assert "<@U0EVE>" in block_text(world.replies(world.parents()[0])[-1])
        assert world.slack.socket_errors == []
        direct = await world.command("status")
        assert direct.status_code == 404  # no HTTP endpoint in Socket Mode


async def test_a_burst_of_card_changes_is_one_edit(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3])
        edits_before = len(world.slack.calls_to("chat.update"))
        doc = SCENARIO.documents(3)["/api/v2/incidents.json"]
        for impact in ("minor", "major", "critical", "major"):  # four changes before delivery runs
            doc["incidents"][0]["impact"] = impact
            world.page.serve(incidents=doc)
            await world.bot.poller.poll()
        await world.drain()
        assert len(world.slack.calls_to("chat.update")) == edits_before + 1
        assert "major" in world.parents()[0]["text"]
