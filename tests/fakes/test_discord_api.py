"""Self-test for tests/fakes/discord_api.py, driving the *real* discord.py against the fake."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, handle_message_parameters

from tests.fakes.discord_api import DEFAULT_SPEC_PATH, FakeDiscord

pytestmark = pytest.mark.skipif(
    not DEFAULT_SPEC_PATH.is_file() and "DISCORD_OPENAPI_SPEC" not in os.environ,
    reason=f"Discord's OpenAPI spec is not at {DEFAULT_SPEC_PATH} (../shared absent)",
)

TOKEN = "test-bot-token"
APP_ID = 1100000000000000001
GUILD_ID = 1200000000000000001
CHANNEL_ID = 1300000000000000001
READONLY_ID = 1300000000000000002
FIXTURE = Path("/work/shared/fixtures/discord/slash_command_interaction_docs_example.json")
CREATE_MESSAGE = "/channels/{channel_id}/messages"


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    channels = {
        CHANNEL_ID: {"name": "incidents", "can_send": True, "can_create_threads": True},
        READONLY_ID: {"name": "announcements", "can_send": False, "can_create_threads": False},
    }
    async with FakeDiscord(
        token=TOKEN, application_id=APP_ID, guild_id=GUILD_ID, channels=channels, message_rate_limit=(3, 1.0)
    ) as fake:
        yield fake


@pytest.fixture
def patched(dc: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    monkeypatch.setattr(discord.http.Route, "BASE", dc.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(dc.gateway_url))
    return dc


@pytest.fixture
async def rest_client(patched: FakeDiscord) -> AsyncIterator[discord.Client]:
    client = discord.Client(intents=discord.Intents.default())
    await client.login(TOKEN)
    yield client
    await client.close()


@pytest.fixture
async def raw() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def auth() -> dict[str, str]:
    return {"Authorization": f"Bot {TOKEN}"}


# --------------------------------------------------------------------------- (a) REST


async def test_http_client_send_message(patched: FakeDiscord) -> None:
    http = HTTPClient(asyncio.get_running_loop())
    try:
        me = await http.static_login(TOKEN)
        params = handle_message_parameters(content="hello", embed=discord.Embed(title="t"))
        data = await http.send_message(CHANNEL_ID, params=params)
    finally:
        await http.close()
    assert me["bot"] is True
    stored = patched.messages(CHANNEL_ID)
    assert [m.content for m in stored] == ["hello"]
    assert stored[0].data == data
    assert data["embeds"][0]["title"] == "t" and data["embeds"][0]["type"] == "rich"


async def test_send_edit_thread_and_post_in_thread(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    msg = await channel.send(embed=discord.Embed(title="API degraded", description="  elevated errors  "))
    await msg.edit(embed=discord.Embed(title="API degraded", description="resolved"))
    thread = await msg.create_thread(name="incident-42")
    reply = await thread.send("status: monitoring")

    stored = dc.messages(CHANNEL_ID)
    assert len(stored) == 1
    assert stored[0].embeds[0]["description"] == "resolved"
    assert stored[0].history[0]["embeds"][0]["description"] == "elevated errors"  # trimmed like Discord
    assert stored[0].data["edited_timestamp"] is not None
    assert thread.id == msg.id and dc.threads[0].parent_id == CHANNEL_ID
    assert [m.content for m in dc.messages(thread.id)] == ["status: monitoring"]
    assert reply.id > msg.id


async def test_429_is_waited_out_and_post_lands_once(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    dc.ratelimit_next(1, retry_after=0.2, match="POST /channels/")
    started = time.monotonic()
    await channel.send("after rate limit")
    assert time.monotonic() - started >= 0.2
    assert [r.status for r in dc.requests_for("POST", CREATE_MESSAGE)] == [429, 200]
    assert [m.content for m in dc.messages(CHANNEL_ID)] == ["after rate limit"]


async def test_discord_py_honours_bucket_headers(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    for i in range(4):  # bucket is 3 per 1 s: discord.py must pre-emptively wait, never see a 429
        await channel.send(f"m{i}")
    assert [r.status for r in dc.requests_for("POST", CREATE_MESSAGE)] == [200] * 4
    ids = [m.id for m in dc.messages(CHANNEL_ID)]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_raw_burst_gets_discord_shaped_429(dc: FakeDiscord, raw: aiohttp.ClientSession) -> None:
    url = f"{dc.api_base}/channels/{CHANNEL_ID}/messages"
    statuses = []
    for i in range(4):
        async with raw.post(url, json={"content": f"x{i}"}, headers=auth()) as resp:
            statuses.append(resp.status)
            headers, body = resp.headers, await resp.json()
            assert {
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "X-RateLimit-Reset-After",
                "X-RateLimit-Bucket",
            } <= set(headers)
    assert statuses == [200, 200, 200, 429]
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 1.0
    assert headers["X-RateLimit-Scope"] == "user" and headers["Retry-After"] == "1"
    assert headers["Via"] and headers["X-RateLimit-Remaining"] == "0"
    assert len(dc.messages(CHANNEL_ID)) == 3


async def test_over_limit_embeds_and_content_are_rejected(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as exc_info:
        await channel.send(embed=discord.Embed(title="x" * 257))
    assert exc_info.value.status == 400 and exc_info.value.code == 50035
    big = discord.Embed(title="t", description="d" * 4096)
    for _ in range(2):
        big.add_field(name="n", value="v" * 1024)
    with pytest.raises(discord.HTTPException):
        await channel.send(embed=big)
    with pytest.raises(discord.HTTPException):
        await channel.send("c" * 2001)
    assert dc.messages(CHANNEL_ID) == []


async def test_error_bodies_match_discord(dc: FakeDiscord, raw: aiohttp.ClientSession) -> None:
    url = f"{dc.api_base}/channels/{CHANNEL_ID}/messages"
    async with raw.post(url, json={"embeds": [{"title": "x" * 257}]}, headers=auth()) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "code": 50035,
            "message": "Invalid Form Body",
            "errors": {
                "embeds": {
                    "0": {
                        "title": {
                            "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]
                        }
                    }
                }
            },
        }
    too_big = {"embeds": [{"description": "d" * 4096}, {"description": "d" * 2000}]}
    async with raw.post(url, json=too_big, headers=auth()) as resp:
        errors = (await resp.json())["errors"]
        assert errors["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    async with raw.post(url, json={}, headers=auth()) as resp:
        assert (resp.status, await resp.json()) == (400, {"message": "Cannot send an empty message", "code": 50006})


async def test_missing_authorization_is_401(dc: FakeDiscord, raw: aiohttp.ClientSession) -> None:
    async with raw.post(f"{dc.api_base}/channels/{CHANNEL_ID}/messages", json={"content": "hi"}) as resp:
        assert resp.status == 401
        assert await resp.json() == {"message": "401: Unauthorized", "code": 0}
    assert dc.messages(CHANNEL_ID) == []


async def test_unknown_route_channel_and_missing_permissions(
    rest_client: discord.Client, dc: FakeDiscord, raw: aiohttp.ClientSession
) -> None:
    async with raw.get(f"{dc.api_base}/channels/{CHANNEL_ID}/nope", headers=auth()) as resp:
        assert (resp.status, await resp.json()) == (404, {"message": "404: Not Found", "code": 0})
    async with raw.put(f"{dc.api_base}/users/@me", headers=auth()) as resp:
        assert resp.status == 404
    with pytest.raises(discord.NotFound) as not_found:
        await rest_client.fetch_channel(1399999999999999999)
    assert not_found.value.code == 10003
    readonly = await rest_client.fetch_channel(READONLY_ID)
    assert isinstance(readonly, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as forbidden:
        await readonly.send("nope")
    assert (forbidden.value.code, forbidden.value.text) == (50013, "Missing Permissions")


async def test_fail_next_and_drop_response(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    dc.fail_next(1, status=503)
    with pytest.raises(discord.DiscordServerError):
        await channel.send("lost")
    dc.drop_response_next(1)
    with pytest.raises(aiohttp.ClientError):
        await channel.send("applied but unanswered")
    assert [m.content for m in dc.messages(CHANNEL_ID)] == ["applied but unanswered"]
    assert dc.requests[-1].dropped is True


async def test_webhook_execute_into_thread_and_edit(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    starter = await channel.send("incident opened")
    thread = await starter.create_thread(name="incident-7")
    hook = dc.add_webhook(CHANNEL_ID)
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.partial(hook.id, hook.token, session=session)
        sent = await webhook.send("via webhook", wait=True, thread=thread)
        await webhook.edit_message(sent.id, content="via webhook (edited)", thread=thread)
    stored = dc.messages(thread.id)
    assert [m.content for m in stored] == ["via webhook (edited)"]
    assert stored[0].webhook_id == hook.id and len(stored[0].history) == 1


async def test_thread_rules(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    msg = await channel.send("incident opened")
    thread = await msg.create_thread(name="incident-1")
    with pytest.raises(discord.HTTPException) as again:
        await msg.create_thread(name="incident-1b")
    assert again.value.code == 160004
    dc.archive_thread(thread.id)
    await thread.send("unarchives")  # posting into an archived, unlocked thread reopens it
    assert dc.channel(thread.id).archived is False
    dc.archive_thread(thread.id, locked=True)
    with pytest.raises(discord.HTTPException) as locked:
        await thread.send("nope")
    assert locked.value.code == 160005


# --------------------------------------------------------------------------- (b)/(c) gateway


@dataclass
class GatewayBot:
    client: discord.Client
    task: asyncio.Task[None]
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    invocations: list[str] = field(default_factory=list)


def build_tree(client: discord.Client, bot_log: list[str]) -> app_commands.CommandTree[discord.Client]:
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    guild = discord.Object(GUILD_ID)

    @tree.command(name="status", description="Show current status", guild=guild)
    async def status(interaction: discord.Interaction, service: str | None = None) -> None:
        bot_log.append(f"status:{service}")
        await interaction.response.send_message(f"{service or 'all'}: operational", ephemeral=True)
        await interaction.followup.send("details", ephemeral=True)

    @tree.command(name="ack", description="Acknowledge the incident", guild=guild)
    async def ack(interaction: discord.Interaction) -> None:
        bot_log.append("ack")
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="acknowledged")

    return tree


@pytest.fixture
async def gateway_bot(patched: FakeDiscord) -> AsyncIterator[GatewayBot]:
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
    log: list[str] = []
    tree = build_tree(client, log)

    async def setup_hook() -> None:
        await tree.sync(guild=discord.Object(GUILD_ID))

    client.setup_hook = setup_hook  # type: ignore[method-assign]
    bot = GatewayBot(client, asyncio.create_task(client.start(TOKEN)), invocations=log)
    client.event(_setter("on_ready", bot.ready))
    client.event(_setter("on_resumed", bot.resumed))
    await asyncio.wait_for(bot.ready.wait(), 5)
    yield bot
    await client.close()
    await asyncio.wait_for(bot.task, 5)


def _setter(name: str, event: asyncio.Event) -> Any:
    async def handler() -> None:
        event.set()

    handler.__name__ = name
    return handler


async def test_ready_and_slash_command_reaches_callback(gateway_bot: GatewayBot, dc: FakeDiscord) -> None:
    assert dc.identify_count == 1 and dc.last_identify is not None
    assert dc.last_identify["intents"] == discord.Intents.default().value
    assert gateway_bot.client.get_channel(CHANNEL_ID) is not None  # GUILD_CREATE populated the cache
    assert {c["name"] for c in dc.commands(GUILD_ID)} == {"status", "ack"}

    payload = json.loads(FIXTURE.read_text())  # the docs example, pointed at our command
    payload["data"].update(name="status", options=[{"type": 3, "name": "service", "value": "api"}])
    interaction = await dc.send_interaction(payload, channel_id=CHANNEL_ID)
    await dc.wait_for(lambda: dc.interactions[interaction.id].followup_ids, 3)

    [callback] = dc.interaction_responses[interaction.id]
    assert callback["type"] == 4 and callback["data"]["flags"] == 64
    assert callback["data"]["content"] == "api: operational"
    assert gateway_bot.invocations == ["status:api"]
    assert dc.messages(CHANNEL_ID) == []  # ephemeral replies are not channel messages


async def test_deferred_then_edit_original(gateway_bot: GatewayBot, dc: FakeDiscord) -> None:
    interaction = await dc.send_interaction(dc.slash_command_payload("ack"))
    await dc.wait_for(lambda: dc.messages(CHANNEL_ID) and dc.messages(CHANNEL_ID)[0].history, 3)
    assert dc.interaction_responses[interaction.id] == [{"type": 5}]
    original = dc.message(dc.interactions[interaction.id].original_id or 0)
    assert original.content == "acknowledged" and original.flags == 0


async def test_disconnect_then_resume_replays_missed_events(gateway_bot: GatewayBot, dc: FakeDiscord) -> None:
    await dc.disconnect_client(code=4000)
    missed = await dc.send_interaction(dc.slash_command_payload("status"))  # buffered while detached
    await asyncio.wait_for(gateway_bot.resumed.wait(), 5)
    await dc.wait_for(lambda: dc.interaction_responses.get(missed.id), 3)
    assert (dc.identify_count, dc.resume_count) == (1, 1)

    await dc.disconnect_client(code=None)  # abrupt TCP drop, no close frame
    await dc.wait_for(lambda: dc.resume_count == 2, 5)
    assert dc.identify_count == 1 and dc.connected


async def test_invalid_session_forces_new_identify(gateway_bot: GatewayBot, dc: FakeDiscord) -> None:
    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py sleeps 5 s before every non-initial IDENTIFY

    gateway_bot.client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    old_session = dc.session_id
    await dc.invalidate_session(resumable=False)
    await dc.wait_for(lambda: dc.identify_count == 2 and dc.connected, 3)
    assert dc.session_id != old_session


async def test_privileged_intents_are_refused(patched: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.all())
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(client.start(TOKEN), 5)
    finally:
        await client.close()
    assert patched.identify_count == 0


async def test_raw_gateway_rejects_bad_token(dc: FakeDiscord, raw: aiohttp.ClientSession) -> None:
    async with raw.ws_connect(f"{dc.gateway_url}?v=10&encoding=json") as ws:
        hello = await ws.receive_json(timeout=2)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
        await ws.send_json({"op": 1, "d": None})
        assert (await ws.receive_json(timeout=2))["op"] == 11
        props = {"os": "linux", "browser": "x", "device": "x"}
        await ws.send_json({"op": 2, "d": {"token": "wrong", "properties": props, "intents": 513}})
        closing = await ws.receive(timeout=2)
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4004


async def test_interaction_callback_strictness(
    gateway_bot: GatewayBot, dc: FakeDiscord, raw: aiohttp.ClientSession
) -> None:
    interaction = await dc.send_interaction(dc.slash_command_payload("status"))
    await dc.wait_for(lambda: dc.interaction_responses.get(interaction.id), 3)
    url = f"{dc.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
    async with raw.post(url, json={"type": 4, "data": {"content": "again"}}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, 40060)
    async with raw.post(f"{dc.api_base}/interactions/1/nope/callback", json={"type": 4}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (404, 10062)
    with pytest.raises(ValueError, match="not registered"):
        await dc.send_interaction(dc.slash_command_payload("unknown-command"))


# --------------------------------------------------------------------------- idempotent posts, forums


async def test_enforce_nonce_returns_the_first_message(dc: FakeDiscord, raw: aiohttp.ClientSession) -> None:
    url = f"{dc.api_base}/channels/{CHANNEL_ID}/messages"
    body = {"content": "once", "nonce": "k42", "enforce_nonce": True}
    async with raw.post(url, json=body, headers=auth()) as first, raw.post(url, json=body, headers=auth()) as again:
        assert (first.status, again.status) == (200, 200)
        assert (await first.json())["id"] == (await again.json())["id"]
    assert [m.content for m in dc.messages(CHANNEL_ID)] == ["once"]
    dc.nonce_window = 0.0  # outside "the past few minutes", the nonce no longer dedupes
    async with raw.post(url, json=body, headers=auth()) as late:
        assert late.status == 200
    assert len(dc.messages(CHANNEL_ID)) == 2


async def test_discord_py_retry_after_a_lost_answer_is_not_a_second_message(
    rest_client: discord.Client, dc: FakeDiscord
) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    dc.drop_response_next(1, match="POST /channels/")
    with pytest.raises(aiohttp.ClientError):
        await channel.send("exactly once", nonce="outbox-7")
    again = await channel.send("exactly once", nonce="outbox-7")
    assert [m.id for m in dc.messages(CHANNEL_ID)] == [again.id]


async def test_webhook_forum_posts_need_a_thread(dc: FakeDiscord, raw: aiohttp.ClientSession) -> None:
    forum_id = 1300000000000000009
    dc._channels[forum_id] = dc._make_channel(forum_id, {"name": "incident-forum", "type": 15})
    dc._channel_messages[forum_id] = []
    forum, text = dc.add_webhook(forum_id), dc.add_webhook(CHANNEL_ID)
    async with raw.post(forum.url, json={"content": "x"}) as bare:
        assert (bare.status, (await bare.json())["code"]) == (400, 220001)
    async with raw.post(text.url, json={"content": "x", "thread_name": "t"}) as not_forum:
        assert (not_forum.status, (await not_forum.json())["code"]) == (400, 220003)
    async with raw.post(f"{forum.url}?wait=true", json={"content": "opened", "thread_name": "#1 outage"}) as post:
        starter = await post.json()
    thread_id = starter["channel_id"]
    assert starter["id"] == thread_id and dc.channel(int(thread_id)).parent_id == forum_id
    async with raw.post(f"{forum.url}?wait=true&thread_id={thread_id}", json={"content": "update"}) as reply:
        assert reply.status == 200
    edit = f"{forum.url}/messages/{starter['id']}"
    async with raw.patch(edit, json={"content": "edited"}) as unscoped:
        assert (unscoped.status, (await unscoped.json())["code"]) == (404, 10008)
    async with raw.patch(f"{edit}?thread_id={thread_id}", json={"content": "edited"}) as scoped:
        assert scoped.status == 200
    assert [m.content for m in dc.messages(int(thread_id))] == ["edited", "update"]
    async with raw.post(f"{dc.api_base}/channels/{forum_id}/messages", json={"content": "x"}, headers=auth()) as bot:
        assert (bot.status, (await bot.json())["code"]) == (400, 50008)


async def test_files_need_attach_files(rest_client: discord.Client, dc: FakeDiscord) -> None:
    channel = await rest_client.fetch_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    dc.set_channel_permissions(CHANNEL_ID, can_attach_files=False)
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send("draft", file=discord.File(io.BytesIO(b"# notes"), filename="notes.md"))
    assert refused.value.code == 50013
    await channel.send("no file, no problem")
    assert [m.content for m in dc.messages(CHANNEL_ID)] == ["no file, no problem"]
