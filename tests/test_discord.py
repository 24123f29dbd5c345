"""Discord end to end: the real discord.py (REST client, gateway, command tree, dynamic items) against
a strict loopback Discord, the delivery worker and a real SQLite file, in simulated time."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC
from pathlib import Path
from typing import Any

import discord
import pytest
from sqlmodel import select

from bot.chat.base import RetryLater, SinkMisconfigured, Undeliverable
from bot.chat.discord import commands as discord_commands
from bot.chat.discord.errors import Where, classify
from bot.chat.discord.options import options_of
from bot.chat.discord.ratelimit import RateGate
from bot.chat.discord.text import fit
from bot.chat.discord.webhook import WebhookSink
from bot.clock import parse_time
from bot.commands.registry import COMMANDS
from bot.demo.scenario import Scenario
from bot.store.models import ChatThread, Incident, OutboxMessage
from tests.conftest import load_json, shared_path, slow_commands
from tests.discord_world import (
    ALICE,
    BOB,
    CHANNEL_ID,
    FORUM_ID,
    GUILD_ID,
    MALLORY,
    RESPONDER_ROLE,
    DiscordWorld,
    discord_world,
    embed_text,
)
from tests.fakes.discord_api import DEFAULT_SPEC_PATH

pytestmark = pytest.mark.skipif(
    not DEFAULT_SPEC_PATH.is_file() and "DISCORD_OPENAPI_SPEC" not in os.environ,
    reason=f"Discord's OpenAPI spec is not at {DEFAULT_SPEC_PATH} (../shared absent): "
    "the Discord fake cannot be strict without it",
)

SCENARIO = Scenario.load()
UPDATES = [u["body"] for u in SCENARIO.data["incident"]["updates"]]
MESSAGE_ROUTES = {
    "/channels/{channel_id}/messages",
    "/channels/{channel_id}/messages/{message_id}",
    "/webhooks/{webhook_id}/{webhook_token}",
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
}


async def replay(world: DiscordWorld, minutes: list[float] | None = None) -> None:
    for minute in minutes if minutes is not None else [0, *SCENARIO.moments()]:
        world.clock.set(SCENARIO.at(minute))
        world.serve_minute(SCENARIO, minute)
        await world.poll()


async def later(world: DiscordWorld, rounds: int = 10, seconds: float = 60) -> None:
    """Let retries come due in simulated time."""
    for _ in range(rounds):
        world.clock.advance(seconds)
        await world.drain()


def texts(messages: list[Any]) -> list[str]:
    return [embed_text(m.data) for m in messages]


def carried(text: str) -> int | None:
    return next((i for i, body in enumerate(UPDATES) if body[:40] in text), None)


def order_of(messages: list[Any]) -> list[int]:
    """Which scenario update each message carries, in the order posted (other messages left out)."""
    return [i for i in map(carried, texts(messages)) if i is not None]


def others(messages: list[Any]) -> list[str]:
    """The titles of messages that carry no vendor update (the postmortem draft, reminders)."""
    return [m.embeds[0]["title"] for m in messages if carried(embed_text(m.data)) is None]


def message_bodies(world: DiscordWorld) -> list[dict[str, Any]]:
    """Every message body the bot sent: posts, edits, webhook executions, interaction answers."""
    bodies = [r.json for r in world.dc.requests if r.route in MESSAGE_ROUTES and r.method in ("POST", "PATCH")]
    for callbacks in world.dc.interaction_responses.values():
        bodies += [c["data"] for c in callbacks if c.get("data") and c["type"] in (4, 7)]
    return [b for b in bodies if isinstance(b, dict)]


async def test_an_outage_is_one_alert_with_one_thread_kept_current(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        await replay(world)
        [alert] = world.alerts()
        thread = world.thread(alert)
        assert order_of(thread) == list(range(len(UPDATES)))  # one message per update, in order, none twice
        assert others(thread) == ["📝 Postmortem draft"]  # drafted once resolved, chart and Markdown attached
        assert [a["filename"] for a in thread[-1].data["attachments"]] == ["postmortem-2.md", "postmortem-2.png"]
        assert world.dc.threads[0].parent_id == CHANNEL_ID and len(world.dc.threads) == 1
        card = alert.embeds[0]
        assert card["title"].startswith("✅") and "(resolved)" in embed_text(alert.data)
        assert card["color"] == 0x2EB67D and len(alert.history) >= 3  # edited in place as the incident moved
        assert {f["name"] for f in card["fields"]} >= {
            "Status",
            "Impact",
            "Components",
            "Started",
            "Acknowledged by",
            "Duration",
        }
        assert "Lead" not in {f["name"] for f in card["fields"]}  # only the vendor saw it: no race to tell
        buttons = json.dumps(alert.data["components"])
        assert "statusbot:postmortem:2" in buttons and "statusbot:resolve" not in buttons
        with world.bot.db.session() as session:
            ref = session.exec(select(ChatThread).where(ChatThread.sink == "discord")).one()
        assert (ref.channel, ref.parent_ref, ref.thread_ref) == (str(CHANNEL_ID), str(alert.id), str(alert.id))


async def test_real_recorded_claude_incident_lands_as_one_alert_with_its_seven_updates(tmp_path: Path) -> None:
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
    async with discord_world(tmp_path, start=parse_time(docs[0]["page"]["updated_at"])) as world:
        for doc in docs:
            world.clock.set(parse_time(doc["page"]["updated_at"]))
            world.page.serve(incidents=doc)
            await world.poll()
        real = next(i for i in docs[-1]["incidents"] if i["id"] == "f00h6l76tsjs")
        [alert] = world.alerts()
        assert "Elevated errors on Claude.ai, API, Claude Code" in alert.embeds[0]["title"]
        thread = [m for m in world.thread(alert) if "Postmortem draft" not in m.embeds[0]["title"]]
        assert len(thread) == len(real["incident_updates"]) == 7
        for message, update in zip(thread, reversed(real["incident_updates"]), strict=True):
            assert update["body"][:30] in embed_text(message.data).replace("\\", "")


async def test_commands_answer_within_three_seconds_and_act_in_the_thread(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        await replay(world, [0, 3, 5.5])
        help_ = await world.command("help")
        assert help_.kind == 4 and help_.ephemeral and "/claude ack [ID]" in help_.text
        status = await world.command("status")
        assert status.ephemeral and "4 of 4 components affected" in status.text and "#2" in status.text
        shown = await world.command("show")  # ID defaults to the most recent open incident
        assert shown.ephemeral and UPDATES[1] in shown.text
        assert "TTA" in (await world.command("incidents")).text

        acked = await world.command("ack", user=BOB)
        assert acked.ephemeral and "You acknowledged #2" in acked.text
        await world.drain()
        [alert] = world.alerts()
        assert f"by <@{BOB}>" in embed_text(world.thread(alert)[-1].data)
        assert f"Acknowledged by: <@{BOB}>" in embed_text(alert.data)  # the alert says who owns it
        assert "statusbot:ack" not in json.dumps(alert.data["components"])
        assert "already acknowledged by Bob" in (await world.command("ack", "2")).text
        assert "You resolved #2" in (await world.command("resolve", "#2")).text
        await world.drain()
        assert "already resolved" in (await world.command("resolve", "2")).text
        answers = [a for a in world.dc.interactions.values() if a.callbacks]
        assert len(answers) == 8 and all(a.callbacks[0]["type"] == 4 for a in answers)
        assert world.dc.messages(CHANNEL_ID)[0].id == alert.id  # ephemeral answers never reach the channel


@pytest.mark.parametrize(
    ("sub", "incident", "words"),
    [
        ("show", "abc", "`abc` is not an incident number"),
        ("show", "999", "There is no incident #999"),
        ("ack", None, "There is no open incident"),
        ("postmortem", "999", "There is no incident #999"),
        ("frobnicate", None, "I don't know `frobnicate`"),  # a subcommand Discord lists but this version lacks
    ],
)
async def test_bad_commands_get_a_helpful_private_answer(
    tmp_path: Path, sub: str, incident: str | None, words: str
) -> None:
    async with discord_world(tmp_path) as world:
        answer = await world.command(sub, incident)
        assert answer.ephemeral and words in answer.text and answer.seconds < 3
        assert "Traceback" not in answer.text


async def test_slow_work_is_deferred_then_answered_by_a_follow_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_commands(monkeypatch, discord_commands)
    async with discord_world(tmp_path) as world:
        await replay(world, [0, 3])
        answer = await world.command("status")
        assert answer.kind == 5 and answer.ephemeral and "Status of claude" in answer.text
        assert answer.seconds < 3


async def test_options_come_from_the_usage_line_and_keep_their_positions(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        await replay(world, [0, 3])
        snoozed = await world.command("snooze", minutes="30")  # no incident: the most recent open one
        assert "Reminders for #2 are snoozed for 30 minutes" in snoozed.text
        assert "last 7 days" in (await world.command("stats", choice="7d")).text
        [stats] = [o for o in world.dc.commands(GUILD_ID)[0]["options"] if o["name"] == "stats"]
        assert [c["value"] for c in stats["options"][0]["choices"]] == ["7d", "30d", "90d"]


async def test_the_command_tree_is_the_command_registry(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        [claude] = world.dc.commands(GUILD_ID)  # DISCORD_GUILD_ID set: synced to the server, at once
        assert claude["name"] == "claude" and world.dc.commands() == []
        assert sorted(o["name"] for o in claude["options"]) == sorted(spec.name for spec in COMMANDS)
        specs = {spec.name: spec for spec in COMMANDS}
        for sub in claude["options"]:  # each command's options come from its usage line
            spec = specs[sub["name"]]
            assert [o["name"] for o in sub.get("options", [])] == [o.name for o in options_of(spec)]
            assert ("incident" in [o["name"] for o in sub.get("options", [])]) == spec.takes_incident
            assert not any(o.get("required") for o in sub.get("options", []))
        assert world.dc.last_identify is not None and world.dc.last_identify["intents"] == 1  # GUILDS only
    (tmp_path / "global").mkdir()  # statusbot never creates a database's folder
    async with discord_world(tmp_path / "global", discord_guild_id=None) as world:
        assert [c["name"] for c in world.dc.commands()] == ["claude"]  # no server given: global


async def test_buttons_work_and_keep_working_after_a_restart(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        await replay(world, [0, 3])
        clicked = await world.click("ack", 2, user=BOB)
        assert clicked.kind == 6  # acknowledged silently: the alert itself changes
        await world.drain()
        [alert] = world.alerts()
        assert f"<@{BOB}>" in embed_text(alert.data) and "statusbot:ack" not in json.dumps(alert.data["components"])

        await world.restart()  # a new client, a new gateway session: nothing in memory knows the buttons
        postmortem = await world.click("postmortem", 2)
        assert postmortem.kind == 4 and postmortem.ephemeral and "postmortem draft for #2" in postmortem.text
        await world.drain()
        draft = world.thread(world.alerts()[0])[-1]
        assert [a["filename"] for a in draft.data["attachments"]] == ["postmortem-2.md", "postmortem-2.png"]
        assert (await world.click("resolve", 2)).kind == 6
        await world.drain()
        with world.bot.db.session() as session:
            incident = session.get(Incident, 2)
        assert incident is not None and incident.resolved_by_id == str(ALICE) and incident.resolved_by == "Alice"
        assert world.dc.identify_count == 2
        thread = world.thread(world.alerts()[0])
        assert {"Acknowledged", "📝 Postmortem draft", "Resolved"} <= set(others(thread))


async def test_only_responders_may_ack_and_resolve(tmp_path: Path) -> None:
    async with discord_world(tmp_path, responders=str(ALICE), discord_responder_role=str(RESPONDER_ROLE)) as world:
        await replay(world, [0, 3])
        assert "not allowed" in (await world.command("ack", user=MALLORY)).text
        denied = await world.click("resolve", 2, user=MALLORY)
        assert denied.ephemeral and "not allowed" in denied.text
        assert "Status of" in (await world.command("status", user=MALLORY)).text  # reading is for everyone
        assert "You acknowledged" in (await world.command("ack", user=BOB, roles=(RESPONDER_ROLE,))).text
        assert "You resolved" in (await world.command("resolve", user=ALICE)).text  # a listed id


async def test_429_5xx_and_lost_answers_lose_nothing_and_post_nothing_twice(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        world.dc.drop_response_next(1, match=f"POST /channels/{CHANNEL_ID}/messages")  # the alert lands, unanswered
        await replay(world, [0, 3])
        await later(world, 2)
        [alert] = world.alerts()
        world.dc.ratelimit_next(2, retry_after=0.05, match=f"POST /channels/{alert.id}/")  # discord.py waits these out
        world.dc.fail_next(2, status=503, match=f"POST /channels/{alert.id}/")  # the outbox retries these
        await replay(world, [5.5, 9])
        world.dc.drop_response_next(1, match=f"POST /channels/{alert.id}/")  # an update lands, unanswered
        await replay(world, [13.5, 30])
        world.dc.ratelimit_next(1, retry_after=0.05, global_=True)
        await replay(world, [50.5, 99.75, 173])
        await later(world)
        assert len(world.alerts()) == 1 and len(world.dc.threads) == 1
        assert order_of(world.thread(alert)) == list(range(len(UPDATES)))
        with world.bot.db.session() as session:
            assert session.exec(select(OutboxMessage).where(OutboxMessage.delivered_at == None)).all() == []  # noqa: E711
        statuses = [r.status for r in world.dc.requests]
        assert statuses.count(429) == 3 and statuses.count(503) == 2  # only the injected ones
        assert sum(r.dropped for r in world.dc.requests) == 2


def next_attempt_in(world: DiscordWorld) -> float:
    """Seconds until the outbox retries the alert of #2."""
    with world.bot.db.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.action == "open")).one()
        assert row.next_attempt_at is not None and row.delivered_at is None
        return (row.next_attempt_at.replace(tzinfo=UTC) - world.clock.now()).total_seconds()


@pytest.mark.parametrize("webhook", [None, CHANNEL_ID])
async def test_a_long_rate_limit_is_waited_out_by_the_outbox_not_in_line(tmp_path: Path, webhook: int | None) -> None:
    async with discord_world(tmp_path, webhook=webhook) as world:
        sink = world.platform.sink
        if isinstance(sink, WebhookSink):  # the gate keeps time with the simulated clock
            sink.gate = RateGate(monotonic=lambda: world.clock.now().timestamp())
        world.dc.ratelimit_next(1, retry_after=45.0)
        await replay(world, [0, 3])
        assert world.alerts() == [] and 44 <= next_attempt_in(world) <= 46  # Discord's retry_after, to the outbox
        world.clock.advance(46)
        await world.drain()
        cards = [m for m in world.alerts() if "Impact: " in embed_text(m.data)]
        assert len(cards) == 1 and [r.status for r in world.dc.requests].count(429) == 1


async def test_a_crash_after_the_alert_was_posted_does_not_post_it_twice(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        world.dc.drop_response_next(1, match=f"POST /channels/{CHANNEL_ID}/messages")
        world.dc.drop_response_next(1, match=f"POST /channels/{CHANNEL_ID}/messages/")  # the thread, too
        await replay(world, [0, 3])
        await world.restart()  # nothing in memory survives; the nonce and the thread's id do
        await later(world, 3)
        [alert] = world.alerts()
        assert [t.id for t in world.dc.threads] == [alert.id] and len(world.thread(alert)) == 1


async def test_the_bot_keeps_to_discords_bucket_limits_without_a_429(tmp_path: Path) -> None:
    async with discord_world(tmp_path, dc_options={"message_rate_limit": (3, 0.3)}) as world:
        await replay(world)
        assert order_of(world.thread(world.alerts()[0])) == list(range(len(UPDATES)))
        assert 429 not in [r.status for r in world.dc.requests]  # discord.py waited on X-RateLimit-Remaining: 0


async def test_a_gateway_disconnect_resumes_and_no_command_is_lost(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        await replay(world, [0, 3])
        await world.dc.disconnect_client(code=4000)
        answer = await world.command("status")  # sent while the bot is away; replayed on RESUME
        assert "Status of claude" in answer.text and answer.seconds < 3
        await world.dc.disconnect_client(code=None)  # an abrupt drop, no close frame
        assert "You acknowledged" in (await world.command("ack")).text
        assert (world.dc.identify_count, world.dc.resume_count) == (1, 2)


async def test_a_missing_permission_is_reported_once_with_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with discord_world(tmp_path) as world:
        world.dc.set_channel_permissions(CHANNEL_ID, can_send=False)
        with caplog.at_level(logging.ERROR):
            await replay(world, [0, 3, 5.5])
            await later(world, 5, 30)
        problems = [r.getMessage() for r in caplog.records if "configuration problem" in r.getMessage()]
        assert len(problems) == 1 and "50013" in problems[0] and "Send Messages in Threads" in problems[0]
        assert len(world.dc.requests_for("POST", "/channels/{channel_id}/messages")) <= 2  # not hammered
        world.dc.set_channel_permissions(CHANNEL_ID, can_send=True)
        world.clock.advance(601)
        await world.drain(2)
        [alert] = world.alerts()
        assert len(world.thread(alert)) == 2


async def test_without_attach_files_the_postmortem_draft_is_posted_as_text(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        world.dc.set_channel_permissions(CHANNEL_ID, can_attach_files=False)
        await replay(world)
        *updates, draft = world.thread(world.alerts()[0])
        assert order_of(updates) == list(range(len(UPDATES)))  # nothing held back behind the draft
        assert draft.data["attachments"] == [] and "Attach Files" in embed_text(draft.data)
        assert "Postmortem" in (draft.embeds[0].get("description") or "")  # the draft's own Markdown
        assert [r.status for r in world.dc.requests].count(403) == 1


async def test_a_wrong_token_is_reported_once_with_the_fix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        async with discord_world(tmp_path, discord_bot_token="not-the-token", connect=False) as world:
            await replay(world, [0, 3, 5.5])
            await later(world, 3, 30)
    problems = [r.getMessage() for r in caplog.records if "configuration problem" in r.getMessage()]
    assert len(problems) == 1 and "DISCORD_BOT_TOKEN" in problems[0] and "Reset Token" in problems[0]
    assert world.dc.identify_count == 0 and world.alerts() == []


async def test_vendor_text_cannot_ping_anyone_and_long_text_is_cut(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        doc = SCENARIO.documents(3)["/api/v2/incidents.json"]
        doc["incidents"][0]["name"] = f"Outage @everyone <@&{RESPONDER_ROLE}> **now** " + "t" * 300
        doc["incidents"][0]["incident_updates"][0]["body"] = (
            f"@here <@{BOB}> [click](https://evil.example) " + "x" * 5000
        )
        world.page.serve(incidents=doc)
        await world.poll()
        await world.command("show", "2")
        bodies = message_bodies(world)
        assert bodies and all(b.get("allowed_mentions") == {"parse": []} for b in bodies)
        everything = "\n".join(embed_text(b) for b in bodies)
        for ping in ("@everyone", "@here", f"<@&{RESPONDER_ROLE}>", f"<@{BOB}>"):
            assert ping not in everything  # escaped too: a zero-width space after the @
        assert "@\u200beveryone" in everything and "\\*\\*now\\*\\*" in everything and "\\[click]" in everything
        assert "(cut)" in everything  # 5,000 characters do not fit; cut with a visible marker
        assert [r.status for r in world.dc.requests if r.route in MESSAGE_ROUTES] == [200, 200]  # no 50035


async def test_reminders_ping_the_on_call_and_nobody_else(tmp_path: Path) -> None:
    calling = {"discord_oncall": f"role:{RESPONDER_ROLE}", "discord_escalation": f"user:{BOB}"}
    async with discord_world(tmp_path, **calling) as world:
        await replay(world, [0, 3])
        for _ in range(2):  # a reminder after 15 minutes unacknowledged, the escalation after 30
            world.clock.advance(16 * 60)
            world.bot.engine.send_reminders()
            await world.drain()
        calls = [b for b in message_bodies(world) if b.get("content")]
        assert [(b["content"], b["allowed_mentions"]) for b in calls] == [
            (f"<@&{RESPONDER_ROLE}>", {"parse": [], "users": [], "roles": [RESPONDER_ROLE]}),
            (f"<@{BOB}>", {"parse": [], "users": [BOB], "roles": []}),
        ]
        assert all(b["allowed_mentions"] == {"parse": []} for b in message_bodies(world) if not b.get("content"))


def test_every_embed_is_cut_to_discords_limits_with_a_marker() -> None:
    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    for _ in range(30):
        embed.add_field(name="n" * 300, value="v" * 2000)
    embed.set_footer(text="f" * 3000)
    fit(embed)
    assert len(embed.title or "") == 256 and (embed.title or "").endswith("(cut)")
    assert len(embed.footer.text or "") == 2048 and len(embed.fields) <= 25
    assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
    assert len(embed) <= 6000 and (embed.description or "").endswith("(cut)")
    small = fit(discord.Embed(title="  ok  ", description="fine").add_field(name="", value=""))
    assert (small.title, small.fields[0].name, small.fields[0].value) == ("ok", "—", "—")  # Discord refuses blanks


@pytest.mark.parametrize(
    ("status", "code", "where", "outcome", "words"),
    [
        (403, 50013, Where("post the alert"), SinkMisconfigured, "Send Messages in Threads"),
        (403, 50001, Where("post the alert"), SinkMisconfigured, "View Channel"),
        (404, 10003, Where("post the alert"), SinkMisconfigured, "DISCORD_CHANNEL_ID"),
        (404, 10003, Where("post an update", in_thread=True), Undeliverable, "10003"),  # a person deleted the thread
        (401, 0, Where("post the alert"), SinkMisconfigured, "DISCORD_BOT_TOKEN"),
        (404, 10015, Where("post the alert", webhook=True), SinkMisconfigured, "create a new one"),
        (400, 50035, Where("post the alert"), Undeliverable, "50035"),
        (503, 0, Where("post the alert"), RetryLater, "503"),
        (429, 0, Where("post the alert"), RetryLater, "rate limited"),
    ],
)
def test_discord_errors_map_to_the_workers_three_outcomes(
    status: int, code: int, where: Where, outcome: type[Exception], words: str
) -> None:
    error = classify(status, code, "what Discord said", where, retry_after=2.5)
    assert isinstance(error, outcome) and words in str(error)


async def test_webhook_only_mode_posts_edits_and_names_the_incident(tmp_path: Path) -> None:
    async with discord_world(tmp_path, webhook=CHANNEL_ID) as world:
        await replay(world)
        assert world.dc.identify_count == 0 and world.dc.commands(GUILD_ID) == []  # no bot, no commands
        alert, *updates = world.alerts()
        assert alert.webhook_id is not None and alert.embeds[0]["title"].startswith("✅") and alert.history
        assert order_of(updates) == list(range(len(UPDATES)))  # a text channel: plain follow-ups ...
        assert all(m.embeds[0]["title"].startswith("#2 Elevated errors") for m in updates)  # ... naming it
        posts = world.dc.requests_for("POST", "/webhooks/{webhook_id}/{webhook_token}")
        assert all(r.query.get("wait") == "true" for r in posts)
        assert world.dc.requests_for("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
        assert all(b.get("allowed_mentions") == {"parse": []} for b in message_bodies(world))


async def test_webhook_only_mode_threads_in_a_forum_channel(tmp_path: Path) -> None:
    async with discord_world(tmp_path, webhook=FORUM_ID) as world:
        await replay(world)
        [thread] = world.dc.threads
        alert, *updates = world.dc.messages(thread.id)
        assert thread.parent_id == FORUM_ID and alert.id == thread.id and alert.history
        assert thread.name.startswith("#2 Elevated errors")
        assert order_of(updates) == list(range(len(UPDATES)))
        assert others(updates) == ["📝 Postmortem draft"]  # in the thread: no need to name the incident
        edits = world.dc.requests_for("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
        assert edits and all(r.query.get("thread_id") == str(thread.id) and r.status == 200 for r in edits)
        codes = [r.status for r in world.dc.requests]
        assert codes.count(400) == 1  # the first alert learnt that the channel is a forum (220001)


async def test_webhook_only_mode_waits_out_rate_limits_and_marks_a_possible_duplicate(tmp_path: Path) -> None:
    async with discord_world(tmp_path, webhook=CHANNEL_ID, dc_options={"message_rate_limit": (2, 0.3)}) as world:
        world.dc.ratelimit_next(1, retry_after=0.05)
        world.dc.ratelimit_next(1, retry_after=0.05, global_=True)
        await replay(world, [0, 3])
        world.dc.fail_next(1, status=503, match="POST /webhooks/")
        await replay(world, [5.5])
        await later(world, 1)
        world.dc.drop_response_next(1, match="POST /webhooks/")
        await replay(world, [9, 13.5])
        await later(world, 3)
        _alert, *updates = world.alerts()
        assert order_of(updates) == [0, 1, 2, 2]  # the unanswered post was sent again: at-least-once ...
        assert "may be a duplicate" in embed_text(updates[-1].data)  # ... and says so
        assert all("duplicate" not in embed_text(m.data) for m in updates[:-1])
        statuses = [r.status for r in world.dc.requests]
        # The two injected 429s, and one after the lost answer (its X-RateLimit-Remaining: 0 never came);
        # otherwise the gate kept to the bucket headers (2 posts per 0.3 s) and every 429 was waited out.
        assert statuses.count(429) == 3 and statuses.count(503) == 1 and statuses[-1] == 200


async def test_a_deleted_webhook_is_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with discord_world(tmp_path, webhook=CHANNEL_ID) as world:
        world.dc.webhooks.clear()
        with caplog.at_level(logging.ERROR):
            await replay(world, [0, 3])
            await later(world, 3, 30)
        problems = [r.getMessage() for r in caplog.records if "configuration problem" in r.getMessage()]
        assert len(problems) == 1 and "create a new one" in problems[0]


async def test_two_services_get_their_own_command_and_channel(tmp_path: Path) -> None:
    from bot.config import ServiceSpec
    from tests.fakes.statuspage import FakeStatuspage
    from tests.test_operating import START, incident_doc

    other = 1300000000000000077
    async with FakeStatuspage() as openai_page:
        services = [
            ServiceSpec(
                name="claude",
                statuspage_url="http://127.0.0.1:1",  # type: ignore[arg-type]
                discord_channel_id=str(CHANNEL_ID),
            ),
            ServiceSpec(
                name="openai",
                statuspage_url=openai_page.base_url,  # type: ignore[arg-type]
                command="/openai",
                discord_channel_id=str(other),
            ),
        ]
        async with discord_world(
            tmp_path, dc_options={"extra_channels": {other: {"name": "openai"}}}, services=services
        ) as world:
            assert {c["name"] for c in world.dc.commands(GUILD_ID)} == {"claude", "openai"}
            world.bot.pollers[0].client.base_url = world.page.base_url  # the claude page is the world's page
            world.serve_minute(SCENARIO, 3)
            openai_page.serve(incidents={"page": {}, "incidents": [incident_doc(1, "investigating", START)]})
            for poller in world.bot.pollers:
                await poller.poll()
            await world.drain()
            assert len(world.alerts(CHANNEL_ID)) == 1 and len(world.alerts(other)) == 1
            assert "Problem 1" in embed_text(world.alerts(other)[0].data)


def test_a_vendor_impact_cannot_ping_from_the_card(tmp_path: Path) -> None:
    """Found by the fuzz suite: the impact is vendor text too."""
    from datetime import datetime

    from bot.chat.discord.render import card_embed
    from bot.engine.views import card

    now = datetime(2026, 4, 15, 15, 0, tzinfo=UTC)
    incident = Incident(
        id=7, service="claude", source="statuspage", title="t", status="investigating", impact="@everyone"
    )
    incident.started_at = incident.updated_at = now
    assert "@everyone" not in json.dumps(card_embed(card(incident), now).to_dict())
