"""Self-test of the Slack fake: the real slack_sdk AsyncWebClient is driven into it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.metadata import Metadata
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    BUILTIN_METHODS,
    DEFAULT_SPEC_PATH,
    FakeSlack,
    load_methods,
)

TOKEN = "xoxb-test-token"
CHAN = "C0INCIDENT"
TS_RE = re.compile(r"^\d{10}\.\d{6}$")
CHANNELS = {
    CHAN: {"name": "incidents", "member": True},
    "C0OTHER": {"name": "other", "member": True},
    "C0QUIET": {"name": "quiet", "member": False},
    "C0OLD": {"name": "old", "member": True, "is_archived": True},
    "G0SECRET": {"name": "secret", "member": False, "is_private": True},
}


class ManualClock:
    """A clock the test moves by hand, so ts values and rate limits are deterministic."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def slack(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(channels=CHANNELS, clock=clock) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])


async def api_error(coro: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await coro
    return info.value


async def raw_post(slack: FakeSlack, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(slack.base_url + method, **kwargs) as res:
        return res.status, await res.json()


# ---------------------------------------------------------------------------------------------- happy path
async def test_base_url_is_loopback_api_root(slack: FakeSlack) -> None:
    assert re.match(r"^http://127\.0\.0\.1:\d+/api/$", slack.base_url)


async def test_auth_test_returns_bot_identity(client: AsyncWebClient) -> None:
    res = await client.auth_test()
    assert (res["user_id"], res["bot_id"], res["team_id"]) == (BOT_USER_ID, BOT_ID, "T0FAKE")
    assert "chat:write" in res.headers["x-oauth-scopes"]


async def test_post_update_and_thread_reply(slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [
        HeaderBlock(text="Incident: API errors"),
        SectionBlock(text="*Investigating*", block_id="status"),
        ActionsBlock(elements=[ButtonElement(text="Ack", action_id="ack", value="inc-1")]),
    ]
    meta = Metadata(event_type="incident_post", event_payload={"incident": "inc-1"})
    post = await client.chat_postMessage(channel=CHAN, text="Incident", blocks=blocks, metadata=meta)
    assert post["channel"] == CHAN and TS_RE.match(post["ts"])
    assert post["message"]["metadata"]["event_payload"] == {"incident": "inc-1"}
    parent_ts = post["ts"]

    await client.chat_update(channel=CHAN, ts=parent_ts, text="Incident (resolved)")
    stored = slack.messages(CHAN)[0]
    assert stored["text"] == "Incident (resolved)"
    assert [b["type"] for b in stored["blocks"]] == ["header", "section", "actions"]  # kept
    assert stored["blocks"][1]["block_id"] == "status" and all(b["block_id"] for b in stored["blocks"])
    assert [e["text"] for e in stored["edits"]] == ["Incident"]

    first = await client.chat_postMessage(channel=CHAN, text="update 1", thread_ts=parent_ts)
    second = await client.chat_postMessage(channel=CHAN, text="update 2", thread_ts=parent_ts, reply_broadcast=True)
    assert parent_ts < first["ts"] < second["ts"]
    assert [m["text"] for m in slack.thread(CHAN, parent_ts)] == ["update 1", "update 2"]
    assert [m["ts"] for m in slack.parents(CHAN)] == [parent_ts]
    assert slack.thread(CHAN, parent_ts)[1]["reply_broadcast"] is True


async def test_history_and_replies_views(slack: FakeSlack, client: AsyncWebClient) -> None:
    parent = (await client.chat_postMessage(channel=CHAN, text="parent"))["ts"]
    await client.chat_postMessage(channel=CHAN, text="quiet reply", thread_ts=parent)
    await client.chat_postMessage(channel=CHAN, text="loud reply", thread_ts=parent, reply_broadcast=True)

    history = await client.conversations_history(channel=CHAN)
    assert [m["text"] for m in history["messages"]] == ["loud reply", "parent"]  # newest first
    assert history["messages"][1]["reply_count"] == 2
    assert history["messages"][0]["subtype"] == "thread_broadcast"

    replies = await client.conversations_replies(channel=CHAN, ts=parent)
    assert [m["text"] for m in replies["messages"]] == ["parent", "quiet reply", "loud reply"]


async def test_metadata_only_with_include_all_metadata(client: AsyncWebClient) -> None:
    meta = {"event_type": "incident_post", "event_payload": {"incident": "inc-9"}}
    await client.chat_postMessage(channel=CHAN, text="x", metadata=meta)
    plain = await client.conversations_history(channel=CHAN)
    assert "metadata" not in plain["messages"][0]
    full = await client.conversations_history(channel=CHAN, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == meta


async def test_history_pagination(client: AsyncWebClient, clock: ManualClock) -> None:
    for i in range(5):
        clock.now += 2
        await client.chat_postMessage(channel=CHAN, text=f"m{i}")
    first = await client.conversations_history(channel=CHAN, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_history(channel=CHAN, limit=10, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1", "m0"] and not second["has_more"]
    newer = await client.conversations_history(channel=CHAN, oldest=first["messages"][1]["ts"])
    assert [m["text"] for m in newer["messages"]] == ["m4"]


async def test_post_by_channel_name_answers_the_id(client: AsyncWebClient) -> None:
    res = await client.chat_postMessage(channel="#incidents", text="hi")
    assert res["channel"] == CHAN


async def test_permalink_and_conversations_info(client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel=CHAN, text="hi"))["ts"]
    link = await client.chat_getPermalink(channel=CHAN, message_ts=ts)
    assert link["permalink"].endswith(f"/archives/{CHAN}/p{ts.replace('.', '')}")
    info = await client.conversations_info(channel=CHAN)
    assert info["channel"]["is_member"] is True and info["channel"]["name"] == "incidents"


async def test_ephemeral_is_kept_apart(slack: FakeSlack, client: AsyncWebClient) -> None:
    res = await client.chat_postEphemeral(channel=CHAN, user="U0HUMAN", text="only you")
    assert slack.ephemerals[0]["ts"] == res["message_ts"] and slack.messages(CHAN) == []


async def test_users_and_usergroups_with_their_scopes() -> None:
    scopes = ["chat:write", "users:read", "usergroups:read"]
    fake = FakeSlack(scopes=scopes, users={"U0ALICE": {"name": "alice"}}, usergroups={"S0ONCALL": ["U0ALICE"]})
    async with fake:
        client = AsyncWebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[])
        assert (await client.users_info(user="U0ALICE"))["user"]["name"] == "alice"
        assert (await client.usergroups_users_list(usergroup="S0ONCALL"))["users"] == ["U0ALICE"]
        assert (await api_error(client.users_info(user="U0NOBODY"))).response["error"] == "user_not_found"


async def test_files_upload_v2_round_trip(slack: FakeSlack, client: AsyncWebClient) -> None:
    res = await client.files_upload_v2(channel=CHAN, content="log line\n", filename="log.txt", title="Log")
    file_id = res["file"]["id"]
    assert slack.uploads[file_id]["data"] == b"log line\n"
    assert slack.messages(CHAN)[-1]["files"][0]["id"] == file_id


# ------------------------------------------------------------------------------------------ auth & method
async def test_missing_token_is_not_authed(slack: FakeSlack) -> None:
    err = await api_error(AsyncWebClient(base_url=slack.base_url).chat_postMessage(channel=CHAN, text="x"))
    assert err.response["error"] == "not_authed"
    assert slack.messages(CHAN) == []


async def test_wrong_and_revoked_tokens_are_invalid_auth(slack: FakeSlack, client: AsyncWebClient) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)
    assert (await api_error(wrong.auth_test())).response["error"] == "invalid_auth"
    slack.revoke_token()
    assert (await api_error(client.auth_test())).response["error"] == "invalid_auth"


async def test_token_placement_rules(slack: FakeSlack) -> None:
    status, body = await raw_post(slack, "auth.test", data={"token": TOKEN})
    assert (status, body["ok"]) == (200, True)  # a form-encoded POST body may carry the token
    query = await raw_post(slack, "auth.test", params={"token": TOKEN})
    assert query[1]["error"] == "not_authed"  # apps created after 2021-02-24 may not use query tokens
    in_json = await raw_post(slack, "chat.postMessage", json={"token": TOKEN, "channel": CHAN, "text": "x"})
    assert in_json[1]["error"] == "not_authed"  # JSON bodies need the Authorization header


async def test_json_body_checks(slack: FakeSlack) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json; charset=utf-8"}
    status, body = await raw_post(slack, "chat.postMessage", data="{", headers=headers)
    assert (status, body["error"]) == (200, "invalid_json")
    bare = {**headers, "Content-Type": "application/json"}
    _, body = await raw_post(slack, "chat.postMessage", data=json.dumps({"channel": CHAN, "text": "x"}), headers=bare)
    assert body["ok"] is True and body["warning"] == "missing_charset"


async def test_unknown_method_is_404(client: AsyncWebClient) -> None:
    err = await api_error(client.api_call("chat.postMesage", json={"channel": CHAN, "text": "x"}))
    assert err.response.status_code == 404 and err.response["error"] == "unknown_method"


async def test_retired_methods_are_deprecated(client: AsyncWebClient) -> None:
    with pytest.warns(UserWarning, match="channels.history is deprecated"):
        err = await api_error(client.api_call("channels.history", params={"channel": CHAN}))
    assert err.response["error"] == "method_deprecated"
    assert (await api_error(client.api_call("files.upload"))).response["error"] == "method_deprecated"


async def test_missing_scope_names_needed_and_provided(slack: FakeSlack, client: AsyncWebClient) -> None:
    err = await api_error(client.users_info(user="U0HUMAN"))
    assert err.response["error"] == "missing_scope" and err.response["needed"] == "users:read"
    assert "chat:write" in err.response["provided"]
    assert err.response.headers["x-oauth-scopes"] == ",".join(slack.scopes)


@pytest.mark.skipif(not DEFAULT_SPEC_PATH.is_file(), reason="shared Slack OpenAPI spec not present")
async def test_spec_methods_exist_but_unimplemented_ones_say_so(slack: FakeSlack, client: AsyncWebClient) -> None:
    args = {"channel": CHAN, "name": "eyes", "timestamp": "1700000000.000001"}
    err = await api_error(client.api_call("reactions.add", params=args))
    assert err.response["error"] == "missing_scope"
    slack.scopes.append("reactions:write")
    err = await api_error(client.api_call("reactions.add", params=args))
    assert err.response.status_code == 501 and err.response["error"] == "fake_not_implemented"


def test_builtin_table_is_the_fallback(tmp_path: Any) -> None:
    methods = load_methods(tmp_path / "absent.json")
    assert set(methods) == set(BUILTIN_METHODS)
    assert methods["conversations.replies"].required == ("channel", "ts")


# ----------------------------------------------------------------------------------------------- arguments
async def test_missing_channel_is_channel_not_found(client: AsyncWebClient) -> None:
    err = await api_error(client.api_call("chat.postMessage", json={"text": "x"}))
    assert err.response["error"] == "channel_not_found"
    err = await api_error(client.chat_postMessage(channel="C0NOPE", text="x"))
    assert err.response["error"] == "channel_not_found"


async def test_read_methods_need_their_arguments(client: AsyncWebClient) -> None:
    err = await api_error(client.api_call("conversations.history", http_verb="GET", params={}))
    assert err.response["error"] == "channel_not_found"
    err = await api_error(client.api_call("conversations.replies", http_verb="GET", params={"channel": CHAN}))
    assert err.response["error"] == "thread_not_found"
    err = await api_error(client.conversations_replies(channel=CHAN, ts="1600000000.000001"))
    assert err.response["error"] == "thread_not_found"


async def test_missing_generic_argument_is_invalid_arguments(client: AsyncWebClient) -> None:
    err = await api_error(client.api_call("chat.getPermalink", http_verb="GET", params={"channel": CHAN}))
    assert err.response["error"] == "invalid_arguments"
    assert "message_ts" in err.response["response_metadata"]["messages"][0]


async def test_post_without_content_is_no_text(client: AsyncWebClient) -> None:
    err = await api_error(client.api_call("chat.postMessage", json={"channel": CHAN}))
    assert err.response["error"] == "no_text"


async def test_text_over_40000_is_msg_too_long(client: AsyncWebClient) -> None:
    err = await api_error(client.chat_postMessage(channel=CHAN, text="x" * 40_001))
    assert err.response["error"] == "msg_too_long"


async def test_membership_rules(slack: FakeSlack, client: AsyncWebClient) -> None:
    assert (await api_error(client.chat_postMessage(channel="C0QUIET", text="x"))).response["error"] == "not_in_channel"
    assert (await api_error(client.conversations_history(channel="C0QUIET"))).response["error"] == "not_in_channel"
    assert (await api_error(client.chat_postMessage(channel="G0SECRET", text="x"))).response[
        "error"
    ] == "channel_not_found"
    assert (await api_error(client.chat_postMessage(channel="C0OLD", text="x"))).response["error"] == "is_archived"
    slack.scopes.append("chat:write.public")
    assert (await client.chat_postMessage(channel="C0QUIET", text="x"))["ok"]


async def test_thread_ts_rules(slack: FakeSlack, client: AsyncWebClient) -> None:
    parent = (await client.chat_postMessage(channel=CHAN, text="parent"))["ts"]
    err = await api_error(client.chat_postMessage(channel=CHAN, text="x", thread_ts="0"))
    assert err.response["error"] == "invalid_thread_ts"
    float_ts = str(float(parent))  # the classic bug: 1700000000.0 instead of "1700000000.000000"
    lost = await client.chat_postMessage(channel=CHAN, text="lost", thread_ts=float_ts)
    assert lost["ok"]  # Slack accepts it, but the message shows up nowhere
    assert slack.messages(CHAN)[-1]["orphaned"] is True
    assert slack.thread(CHAN, parent) == []
    history = await client.conversations_history(channel=CHAN)
    assert [m["text"] for m in history["messages"]] == ["parent"]


async def test_update_errors(slack: FakeSlack, client: AsyncWebClient) -> None:
    err = await api_error(client.chat_update(channel=CHAN, ts="1600000000.000001", text="x"))
    assert err.response["error"] == "message_not_found"
    human = slack.add_message(CHAN, "a person wrote this")
    err = await api_error(client.chat_update(channel=CHAN, ts=human, text="x"))
    assert err.response["error"] == "cant_update_message"


# -------------------------------------------------------------------------------------------------- blocks
BAD_BLOCK_OBJECTS = {  # slack_sdk's own validators let these through
    "51 blocks": ([DividerBlock() for _ in range(51)], "/blocks]"),
    "header mrkdwn": ([HeaderBlock(text={"type": "mrkdwn", "text": "x"})], "/blocks/0/text/type"),
    "field 2001": ([SectionBlock(fields=[{"type": "mrkdwn", "text": "f" * 2001}])], "/blocks/0/fields/0/text"),
}


def _button(**overrides: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Ack"}, "action_id": "ack", **overrides}


BAD_BLOCK_DICTS = {  # raw dicts bypass slack_sdk's validators, as the bot may send them
    "section 3001": ({"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}, "/text/text"),
    "11 fields": ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}, "/fields"),
    "header 151": ({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}, "/text/text"),
    "26 actions": ({"type": "actions", "elements": [_button(action_id=f"a{i}") for i in range(26)]}, "/elements"),
    "11 context": ({"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}, "/elements"),
    "block_id 256": ({"type": "divider", "block_id": "b" * 256}, "/block_id"),
    "button text 76": (
        {"type": "actions", "elements": [_button(text={"type": "plain_text", "text": "b" * 76})]},
        "/elements/0/text/text",
    ),
    "action_id 256": ({"type": "actions", "elements": [_button(action_id="a" * 256)]}, "/action_id"),
    "value 2001": ({"type": "actions", "elements": [_button(value="v" * 2001)]}, "/value"),
    "unknown type": ({"type": "bogus"}, "/blocks/0/type"),
}


@pytest.mark.parametrize("name", sorted(BAD_BLOCK_OBJECTS))
async def test_bad_block_objects_are_invalid_blocks(slack: FakeSlack, client: AsyncWebClient, name: str) -> None:
    blocks, pointer = BAD_BLOCK_OBJECTS[name]
    err = await api_error(client.chat_postMessage(channel=CHAN, text="x", blocks=blocks))
    assert err.response["error"] == "invalid_blocks"
    assert any(pointer in e for e in err.response["errors"]), err.response["errors"]
    assert slack.messages(CHAN) == []


@pytest.mark.parametrize("name", sorted(BAD_BLOCK_DICTS))
async def test_bad_block_dicts_are_invalid_blocks(client: AsyncWebClient, name: str) -> None:
    block, pointer = BAD_BLOCK_DICTS[name]
    err = await api_error(client.chat_postMessage(channel=CHAN, text="x", blocks=[block]))
    assert err.response["error"] == "invalid_blocks"
    assert any(pointer in e for e in err.response["errors"]), err.response["errors"]


async def test_duplicate_block_ids_are_rejected(client: AsyncWebClient) -> None:
    blocks = [DividerBlock(block_id="same"), DividerBlock(block_id="same")]
    err = await api_error(client.chat_postMessage(channel=CHAN, text="x", blocks=blocks))
    assert err.response["error"] == "invalid_blocks"


async def test_form_encoded_blocks_must_be_json(slack: FakeSlack) -> None:
    form = {"token": TOKEN, "channel": CHAN, "text": "x", "blocks": "[not json"}
    _, body = await raw_post(slack, "chat.postMessage", data=form)
    assert body["error"] == "invalid_blocks_format"


# --------------------------------------------------------------------------------------------- rate limits
async def test_per_channel_burst_then_429_with_retry_after(
    slack: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    for i in range(3):
        await client.chat_postMessage(channel=CHAN, text=f"burst {i}")
    err = await api_error(client.chat_postMessage(channel=CHAN, text="one too many"))
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert err.response.headers["Retry-After"] == "1"
    assert (await client.chat_postMessage(channel="C0OTHER", text="other channel"))["ok"]
    clock.now += 1
    assert (await client.chat_postMessage(channel=CHAN, text="after waiting"))["ok"]
    assert len(slack.messages(CHAN)) == 4


async def test_retry_handler_honours_retry_after(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(builtin_async_handlers, "asyncio", SimpleNamespace(sleep=fake_sleep))
    client = AsyncWebClient(
        token=TOKEN, base_url=slack.base_url, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]
    )
    slack.ratelimit_next(1, retry_after=7)
    assert (await client.chat_postMessage(channel=CHAN, text="patient"))["ok"]
    assert len(slept) == 1 and 7 <= slept[0] < 8
    assert [c.status for c in slack.calls] == [429, 200]
    assert len(slack.messages(CHAN)) == 1


# ---------------------------------------------------------------------------------------------- failures
async def test_fail_next_answers_5xx_html_then_recovers(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next(1, status=500)
    err = await api_error(client.chat_postMessage(channel=CHAN, text="x"))
    assert err.response.status_code == 500
    assert slack.messages(CHAN) == []
    assert (slack.calls[0].status, slack.calls[0].args["text"]) == (500, "x")
    assert str(slack.calls[0].response).startswith("<!DOCTYPE html>")
    assert (await client.chat_postMessage(channel=CHAN, text="x"))["ok"]


async def test_fail_after_perform_still_stores(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next(1, status=502, perform=True)
    assert (await api_error(client.chat_postMessage(channel=CHAN, text="x"))).response.status_code == 502
    assert len(slack.messages(CHAN)) == 1


async def test_outage_until_lifted(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.outage(True)
    for _ in range(2):
        assert (await api_error(client.auth_test())).response.status_code == 503
    slack.outage(False)
    assert (await client.auth_test())["ok"]


async def test_lost_answer_leaves_message_and_metadata(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.drop_response_next(1)
    meta = {"event_type": "incident_post", "event_payload": {"incident": "inc-7"}}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel=CHAN, text="did it land?", metadata=meta)
    assert [m["text"] for m in slack.messages(CHAN)] == ["did it land?"]
    assert slack.calls[-1].status == 0
    history = await client.conversations_history(channel=CHAN, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == meta  # how the bot reconciles a lost answer


async def test_default_connection_retry_double_posts_a_lost_answer(slack: FakeSlack) -> None:
    assert isinstance(AsyncWebClient().retry_handlers[0], AsyncConnectionErrorRetryHandler)
    quick = AsyncConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.0))
    client = AsyncWebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[quick])
    slack.drop_response_next(1)
    assert (await client.chat_postMessage(channel=CHAN, text="posted twice"))["ok"]
    assert [m["text"] for m in slack.messages(CHAN)] == ["posted twice", "posted twice"]


async def test_calls_are_recorded(slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel=CHAN, text="x")
    method, args, status, response = slack.calls[-1]
    assert (method, args["channel"], status, response["ok"]) == ("chat.postMessage", CHAN, 200, True)
    assert "token" not in args
