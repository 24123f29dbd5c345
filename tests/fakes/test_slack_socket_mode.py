"""Self-test of the fake's Socket Mode: raw WebSocket frames, then the real slack_bolt AsyncSocketModeHandler
(slack_sdk.socket_mode.aiohttp.SocketModeClient underneath) driven into it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import APP_ID, FakeSlack

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
CHAN = "C0INCIDENT"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def web(slack: FakeSlack) -> AsyncWebClient:
    """A Web API client with no token of its own, as the Socket Mode client is handed."""
    return AsyncWebClient(base_url=slack.base_url, retry_handlers=[])


async def api_error(coro: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await coro
    return info.value


def bolt_app(slack: FakeSlack) -> AsyncApp:
    # The bot token goes on the client: AsyncApp takes client.token and ignores (and warns about) token=.
    app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=slack.base_url), signing_secret="unused")

    @app.command("/claude")
    async def claude(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"on it: {command['text']}")

    @app.command("/claude-later")
    async def claude_later(ack: Any, respond: Any) -> None:
        await ack()
        await respond("done")  # POSTs to the payload's response_url, which is on the fake

    @app.event("app_mention")
    async def mention(ack: Any) -> None:
        await ack()

    return app


def make_handler(slack: FakeSlack, app_token: str = APP_TOKEN, ping_interval: float = 10) -> AsyncSocketModeHandler:
    # apps.connections.open goes through web_client, so pointing its base_url at the fake is all it takes
    # (app_token is passed per call; the client's own token does not matter).
    web_client = AsyncWebClient(base_url=slack.base_url, token=app_token)
    return AsyncSocketModeHandler(bolt_app(slack), app_token, web_client=web_client, ping_interval=ping_interval)


async def close(handler: AsyncSocketModeHandler) -> None:
    await handler.close_async()
    client = handler.client
    tasks = [t for t in (client.message_processor, client.message_receiver, client.current_session_monitor) if t]
    await asyncio.gather(*tasks, return_exceptions=True)  # let the cancelled tasks finish


@pytest.fixture
async def handler(slack: FakeSlack) -> AsyncIterator[AsyncSocketModeHandler]:
    handler = make_handler(slack)
    await handler.connect_async()
    try:
        yield handler
    finally:
        await close(handler)


# -------------------------------------------------------------------------------------- apps.connections.open
async def test_connections_open_issues_a_local_websocket_url(slack: FakeSlack, web: AsyncWebClient) -> None:
    resp = await web.apps_connections_open(app_token=APP_TOKEN)
    host, port = slack.base_url.split("/")[2].split(":")
    assert resp["url"].startswith(f"ws://{host}:{port}/socket-mode?ticket=")
    assert resp.headers["x-oauth-scopes"] == "connections:write"


async def test_connections_open_refuses_other_tokens(slack: FakeSlack, web: AsyncWebClient) -> None:
    assert (await api_error(web.apps_connections_open(app_token=TOKEN))).response["error"] == "not_allowed_token_type"
    assert (await api_error(web.apps_connections_open(app_token="xapp-wrong"))).response["error"] == "invalid_auth"
    slack.revoke_token("token_revoked", app=True)
    assert (await api_error(web.apps_connections_open(app_token=APP_TOKEN))).response["error"] == "token_revoked"


async def test_connections_open_wants_header_token_post_and_scope(slack: FakeSlack) -> None:
    url = slack.base_url + "apps.connections.open"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data={"token": APP_TOKEN}) as resp:
            assert (await resp.json())["error"] == "not_authed"
        async with http.get(url, headers={"Authorization": f"Bearer {APP_TOKEN}"}) as resp:
            assert (await resp.json())["error"] == "insecure_request"
    slack.app_scopes.clear()
    web = AsyncWebClient(base_url=slack.base_url, retry_handlers=[])
    err = await api_error(web.apps_connections_open(app_token=APP_TOKEN))
    assert (err.response["error"], err.response["needed"]) == ("missing_scope", "connections:write")


async def test_app_token_is_refused_by_web_api_methods(slack: FakeSlack) -> None:
    web = AsyncWebClient(token=APP_TOKEN, base_url=slack.base_url, retry_handlers=[])
    err = await api_error(web.chat_postMessage(channel=CHAN, text="x"))
    assert err.response["error"] == "not_allowed_token_type"


# ----------------------------------------------------------------------------------------- raw WebSocket
async def test_hello_envelope_and_ack_frames(slack: FakeSlack, web: AsyncWebClient) -> None:
    url = (await web.apps_connections_open(app_token=APP_TOKEN))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=2)
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": APP_ID}
        assert set(hello["debug_info"]) == {"host", "build_number", "approximate_connection_time"}
        assert slack.socket_connections == 1

        payload = slack.slash_command("/claude", "status")
        sent = asyncio.create_task(slack.socket_send("slash_commands", payload))
        envelope = await ws.receive_json(timeout=2)
        assert envelope == {
            "envelope_id": envelope["envelope_id"],
            "type": "slash_commands",
            "payload": payload,
            "accepts_response_payload": True,
        }
        await ws.send_json({"envelope_id": envelope["envelope_id"], "payload": {"text": "ok"}})
        assert await sent == {"text": "ok"}

        sent = asyncio.create_task(slack.socket_send("events_api", {"type": "event_callback"}))
        envelope = await ws.receive_json(timeout=2)
        assert (envelope["accepts_response_payload"], envelope["retry_attempt"]) == (False, 0)
        await ws.send_json({"envelope_id": envelope["envelope_id"]})
        assert await sent is None
        assert slack.socket_errors == []


async def test_missing_late_and_unknown_acks(slack: FakeSlack, web: AsyncWebClient) -> None:
    url = (await web.apps_connections_open(app_token=APP_TOKEN))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_json(timeout=2)
        with pytest.raises(TimeoutError, match="no ack"):
            await slack.socket_send("interactive", {"type": "block_actions"}, timeout=0.1)
        envelope = await ws.receive_json(timeout=2)
        await ws.send_json({"envelope_id": envelope["envelope_id"]})
        await ws.send_json({"envelope_id": "made-up"})
        await ws.send_str("not json")
        await asyncio.sleep(0.05)
    assert [e.split(" ")[0] for e in slack.socket_errors] == ["late", "ack", "frame"]


async def test_tickets_are_single_use_and_must_be_issued(slack: FakeSlack, web: AsyncWebClient) -> None:
    url = (await web.apps_connections_open(app_token=APP_TOKEN))["url"]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url.split("?")[0] + "?ticket=forged")
        async with http.ws_connect(url) as ws:
            assert (await ws.receive_json(timeout=2))["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url)
    assert slack.socket_connects == 1


async def test_disconnect_closes_a_client_that_does_not_leave(slack: FakeSlack, web: AsyncWebClient) -> None:
    url = (await web.apps_connections_open(app_token=APP_TOKEN))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_json(timeout=2)
        assert await slack.socket_disconnect("warning", close_after=0.05) == 1
        assert (await ws.receive_json(timeout=2))["reason"] == "warning"
        assert (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.CLOSE
    assert slack.socket_connections == 0


async def test_socket_send_without_a_connection_times_out(slack: FakeSlack) -> None:
    with pytest.raises(TimeoutError, match="no Socket Mode connection"):
        await slack.socket_send("slash_commands", slack.slash_command("/claude"), timeout=0.05)
    with pytest.raises(ValueError):
        await slack.socket_send("block_actions", {})


# ------------------------------------------------------------------------------- slack_bolt over the fake
async def test_bolt_acks_a_slash_command_with_text(slack: FakeSlack, handler: AsyncSocketModeHandler) -> None:
    ack = await slack.socket_send("slash_commands", slack.slash_command("/claude", "why is it down?"))
    assert ack == {"text": "on it: why is it down?"}
    event = {
        "type": "event_callback",
        "team_id": "T0FAKE",
        "api_app_id": APP_ID,
        "event_id": "Ev1",
        "event": {
            "type": "app_mention",
            "user": "U0HUMAN",
            "text": "<@U0BOT> hi",
            "channel": CHAN,
            "ts": "1700000000.000100",
        },
    }
    assert await slack.socket_send("events_api", event) is None
    assert slack.socket_errors == []
    assert [c.method for c in slack.calls] == ["apps.connections.open", "auth.test"]


async def test_bolt_respond_reaches_the_response_url(slack: FakeSlack, handler: AsyncSocketModeHandler) -> None:
    payload = slack.slash_command("/claude-later")
    assert await slack.socket_send("slash_commands", payload) is None
    async with asyncio.timeout(2):
        while not slack.responses:
            await asyncio.sleep(0.01)
    assert slack.responses == [{"url": payload["response_url"], "body": {"text": "done"}}]


async def test_handler_with_bot_token_is_refused(slack: FakeSlack) -> None:
    handler = make_handler(slack, app_token=TOKEN, ping_interval=0.05)
    connecting = asyncio.create_task(handler.connect_async())  # the SDK retries forever; stop it below
    try:
        async with asyncio.timeout(2):
            while not slack.calls_to("apps.connections.open"):
                await asyncio.sleep(0.01)
        assert slack.calls_to("apps.connections.open")[0].response["error"] == "not_allowed_token_type"
        assert slack.socket_connections == 0
    finally:
        await close(handler)
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(2):
                await connecting


async def test_bolt_reconnects_after_disconnect(slack: FakeSlack, handler: AsyncSocketModeHandler) -> None:
    assert await slack.socket_send("slash_commands", slack.slash_command("/claude", "one")) == {"text": "on it: one"}
    assert await slack.socket_disconnect() == 1
    assert await slack.socket_send("slash_commands", slack.slash_command("/claude", "two")) == {"text": "on it: two"}
    assert (slack.socket_connects, slack.socket_connections) == (2, 1)
    assert len(slack.calls_to("apps.connections.open")) == 2
    assert slack.socket_errors == []
