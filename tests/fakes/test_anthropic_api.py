"""Self-test of the FakeAnthropic loopback server, driven with httpx like the bot's probes."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_api import DEFAULT_LIMIT, FakeAnthropic, FakeModel, Mode

KEY = "sk-ant-test"
MODEL = "claude-haiku-4-5-20251001"
GOOD_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
PING = [{"role": "user", "content": "ping"}]
GOOD_BODY: dict[str, Any] = {"model": MODEL, "max_tokens": 1, "messages": PING}


@pytest.fixture
async def api() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(api_key=KEY) as fake:
        yield fake


@pytest.fixture
async def client(api: FakeAnthropic) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api.base_url, timeout=2.0) as http:
        yield http


def headers(**changes: str | None) -> dict[str, str]:
    """GOOD_HEADERS with changes; a None value removes the header (underscores become dashes)."""
    result = dict(GOOD_HEADERS)
    for name, value in changes.items():
        result.pop(name.replace("_", "-"), None)
        if value is not None:
            result[name.replace("_", "-")] = value
    return result


def body(**changes: Any) -> dict[str, Any]:
    """GOOD_BODY with changes; a value of ... removes the field."""
    result = dict(GOOD_BODY)
    for name, value in changes.items():
        result.pop(name, None)
        if value is not ...:
            result[name] = value
    return result


async def post_message(
    client: httpx.AsyncClient, json: Any = None, hdrs: dict[str, str] | None = None
) -> httpx.Response:
    payload = GOOD_BODY if json is None else json
    return await client.post("/v1/messages", json=payload, headers=GOOD_HEADERS if hdrs is None else hdrs)


def assert_error(response: httpx.Response, status: int, error_type: str, message: str = "") -> None:
    assert response.status_code == status, response.text
    payload = response.json()
    assert list(payload) == ["type", "error", "request_id"]
    assert payload["type"] == "error"
    assert list(payload["error"]) == ["type", "message"]
    assert payload["error"]["type"] == error_type
    assert message in payload["error"]["message"]
    request_id = response.headers["request-id"]
    assert request_id.startswith("req_") and len(request_id) > 10
    assert payload["request_id"] == request_id


async def test_base_url_is_loopback_without_trailing_slash(api: FakeAnthropic) -> None:
    assert api.base_url.startswith("http://127.0.0.1:")
    assert not api.base_url.endswith("/")


async def test_ok_message_has_the_real_shape(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    response = await post_message(client)
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    message = response.json()
    assert message["id"].startswith("msg_")
    assert (message["type"], message["role"], message["model"]) == ("message", "assistant", MODEL)
    assert message["content"] == [{"type": "text", "text": "pong"}]
    assert message["stop_reason"] == "max_tokens"
    assert message["usage"]["output_tokens"] == 1 and message["usage"]["input_tokens"] >= 1


async def test_request_ids_are_unique(client: httpx.AsyncClient) -> None:
    first, second = await post_message(client), await post_message(client)
    assert first.headers["request-id"] != second.headers["request-id"]


AUTH, INVALID = "authentication_error", "invalid_request_error"
REJECTIONS = [
    pytest.param(headers(x_api_key=None), GOOD_BODY, 401, AUTH, "x-api-key header is required", id="no key"),
    pytest.param(headers(x_api_key="sk-ant-x"), GOOD_BODY, 401, AUTH, "invalid x-api-key", id="wrong key"),
    pytest.param(
        headers(x_api_key=None, authorization="Bearer sk-ant-x"), GOOD_BODY, 401, AUTH, "invalid", id="wrong bearer"
    ),
    pytest.param(
        headers(x_api_key=None, authorization=f"Basic {KEY}"), GOOD_BODY, 401, AUTH, "required", id="not bearer"
    ),
    pytest.param(headers(x_api_key=None, authorization="Bearer"), GOOD_BODY, 401, AUTH, "required", id="empty bearer"),
    pytest.param(
        headers(anthropic_version=None), GOOD_BODY, 400, INVALID, "anthropic-version: header", id="no version"
    ),
    pytest.param(
        headers(anthropic_version="2024-10-22"),
        GOOD_BODY,
        400,
        INVALID,
        "not a valid version",
        id="bad version",
    ),
    pytest.param(GOOD_HEADERS, body(model=...), 400, INVALID, "model: Field required", id="no model"),
    pytest.param(GOOD_HEADERS, body(max_tokens=...), 400, INVALID, "max_tokens: Field", id="no max_tokens"),
    pytest.param(GOOD_HEADERS, body(max_tokens=0), 400, INVALID, "max_tokens", id="zero max_tokens"),
    pytest.param(GOOD_HEADERS, body(max_tokens="5"), 400, INVALID, "max_tokens", id="str max_tokens"),
    pytest.param(GOOD_HEADERS, body(max_tokens=True), 400, INVALID, "max_tokens", id="bool max_tokens"),
    pytest.param(GOOD_HEADERS, body(max_tokens=10**6), 400, INVALID, "max_tokens", id="huge max_tokens"),
    pytest.param(GOOD_HEADERS, body(messages=...), 400, INVALID, "messages: Field", id="no messages"),
    pytest.param(GOOD_HEADERS, body(messages=[]), 400, INVALID, "at least one message", id="empty messages"),
    pytest.param(
        GOOD_HEADERS,
        body(messages=[{"role": "bot", "content": "x"}]),
        400,
        INVALID,
        "messages.0.role",
        id="bad role",
    ),
    pytest.param(GOOD_HEADERS, body(messages=[{"role": "user"}]), 400, INVALID, "messages.0.content", id="no content"),
    pytest.param(
        GOOD_HEADERS,
        body(messages=[{"role": "user", "content": ""}]),
        400,
        INVALID,
        "non-empty",
        id="empty content",
    ),
    pytest.param(GOOD_HEADERS, [1, 2], 400, INVALID, "", id="not an object"),
    pytest.param(GOOD_HEADERS, body(stream=True), 400, INVALID, "stream", id="stream"),
    pytest.param(
        GOOD_HEADERS,
        body(model="claude-nope"),
        404,
        "not_found_error",
        "model: claude-nope",
        id="unknown model",
    ),
]


@pytest.mark.parametrize(("hdrs", "payload", "status", "error_type", "message"), REJECTIONS)
async def test_rejections(
    api: FakeAnthropic,
    client: httpx.AsyncClient,
    hdrs: dict[str, str],
    payload: Any,
    status: int,
    error_type: str,
    message: str,
) -> None:
    response = await post_message(client, payload, hdrs)
    assert_error(response, status, error_type, message)
    assert api.last_request.status == status
    assert api.outcome_counts == {"rejected": 1}


async def test_malformed_json_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/messages", content=b"{not json", headers={**GOOD_HEADERS, "content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request_error", "parsing the body")


async def test_unknown_path_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/nothing", headers=GOOD_HEADERS), 404, "not_found_error")
    assert_error(await client.get("/v1/messages", headers=GOOD_HEADERS), 400, "invalid_request_error", "GET")


SCRIPTED: list[tuple[Mode, int, str]] = [
    ("rate_limited", 429, "rate_limit_error"),
    ("server_error", 500, "api_error"),
    ("overloaded", 529, "overloaded_error"),
    ("unauthorized", 401, "authentication_error"),
    ("forbidden", 403, "permission_error"),
]


@pytest.mark.parametrize(("mode", "status", "error_type"), SCRIPTED)
async def test_scripted_error_modes(
    api: FakeAnthropic, client: httpx.AsyncClient, mode: Mode, status: int, error_type: str
) -> None:
    api.set_mode(mode)
    assert_error(await post_message(client), status, error_type)
    assert_error(await client.get("/v1/models", headers=GOOD_HEADERS), status, error_type)
    assert api.outcome_counts[mode] == 2 and api.status_counts[status] == 2


async def test_rate_limited_carries_retry_after(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    api.set_mode("rate_limited")
    response = await post_message(client)
    assert response.headers["retry-after"] == "7"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"


async def test_scripted_errors_never_hide_invalid_requests(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    api.set_mode("overloaded")
    assert_error(await post_message(client, body(max_tokens=...)), 400, "invalid_request_error")
    assert_error(await post_message(client, hdrs=headers(x_api_key="bad")), 401, "authentication_error")


async def test_ok_mode_after_errors(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    api.set_mode("server_error")
    api.set_mode("ok")
    assert (await post_message(client)).status_code == 200
    assert api.mode == "ok"


async def test_unknown_mode_is_refused(api: FakeAnthropic) -> None:
    with pytest.raises(ValueError):
        api.set_mode("sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        api.schedule([(5, 1, "ok")])


async def test_stall_times_out_and_stop_is_prompt() -> None:
    async with (
        FakeAnthropic(api_key=KEY, mode="stall") as api,
        httpx.AsyncClient(base_url=api.base_url, timeout=0.3) as http,
    ):
        with pytest.raises(httpx.TimeoutException):
            await post_message(http)
        started = time.monotonic()
    assert time.monotonic() - started < 1.0
    assert api.requests[0].status is None and api.outcome_counts["stall"] == 1


async def test_stop_releases_a_pending_stall() -> None:
    api = FakeAnthropic(api_key=KEY, mode="stall")
    await api.start()
    async with httpx.AsyncClient(base_url=api.base_url, timeout=5.0) as http:
        pending = asyncio.create_task(post_message(http))
        while not api.requests:
            await asyncio.sleep(0.01)
        await asyncio.wait_for(api.stop(), 1.0)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await pending


async def test_drop_closes_without_a_response(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    api.set_mode("drop")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await post_message(client)
    api.set_mode("ok")
    assert (await post_message(client)).status_code == 200
    assert [r.status for r in api.requests] == [None, 200]


async def test_schedule_follows_a_fake_clock(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    now = [0.0]
    api.schedule([(10, 20, "overloaded"), (20, 30, "rate_limited")], clock=lambda: now[0])
    expected = {0.0: 200, 10.0: 529, 19.9: 529, 20.0: 429, 29.0: 429, 30.0: 200}
    for moment, status in expected.items():
        now[0] = moment
        assert api.current_mode() == {200: "ok", 529: "overloaded", 429: "rate_limited"}[status]
        assert (await post_message(client)).status_code == status
    api.set_mode("server_error")
    assert (await post_message(client)).status_code == 500  # outside every window: the set mode
    api.schedule([])
    assert api.current_mode() == "server_error"


async def test_schedule_can_drop_by_window(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    now = [5.0]
    api.schedule([(0, 10, "drop")], clock=lambda: now[0])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await post_message(client)
    now[0] = 10.0
    assert (await post_message(client)).status_code == 200


async def test_error_rate_is_seeded_and_reproducible() -> None:
    n, rate, seed = 40, 0.3, 1234
    oracle = random.Random(seed)
    expected = [500 if oracle.random() < rate else 200 for _ in range(n)]
    async with (
        FakeAnthropic(api_key=KEY, error_rate=rate, rng=random.Random(seed)) as api,
        httpx.AsyncClient(base_url=api.base_url) as http,
    ):
        statuses = [(await post_message(http)).status_code for _ in range(n)]
    assert statuses == expected and 0 < statuses.count(500) < n
    assert api.outcome_counts["random_error"] == statuses.count(500)


async def test_the_key_may_come_as_a_bearer_token(client: httpx.AsyncClient) -> None:
    """SDK 2.x sends `Authorization: Bearer <key>` where 1.x sent `x-api-key`; the real API takes both."""
    response = await post_message(client, hdrs=headers(x_api_key=None, authorization=f"Bearer {KEY}"))
    assert response.status_code == 200 and response.json()["type"] == "message"


async def test_a_model_can_fail_at_its_own_rate() -> None:
    rates = {"claude-opus-4-1": 1.0, "claude-sonnet-4-5-20250929": 0.0}
    async with (
        FakeAnthropic(api_key=KEY, error_rate=0.0, model_error_rates=rates, rng=random.Random(0)) as api,
        httpx.AsyncClient(base_url=api.base_url) as http,
    ):
        assert_error(await post_message(http, body(model="claude-opus-4-1-20250805")), 500, "api_error")
        assert_error(await post_message(http, body(model="claude-opus-4-1")), 500, "api_error")
        assert (await post_message(http, body(model="claude-sonnet-4-5"))).status_code == 200
        assert (await post_message(http)).status_code == 200  # other models: the global rate
        assert_error(await post_message(http, body(model="claude-opus-4-1", max_tokens=0)), 400, INVALID)
    with pytest.raises(ValueError, match="within"):
        FakeAnthropic(model_error_rates={"claude-opus-4-1": 1.5})


async def test_error_rate_one_gives_api_errors() -> None:
    async with (
        FakeAnthropic(api_key=KEY, error_rate=1.0, rng=random.Random(0)) as api,
        httpx.AsyncClient(base_url=api.base_url) as http,
    ):
        assert_error(await post_message(http), 500, "api_error")


async def test_latency_delays_answers(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    api.latency_s = 0.15
    started = time.monotonic()
    assert (await post_message(client)).status_code == 200
    assert time.monotonic() - started >= 0.14  # asyncio may fire a timer one clock tick early


async def test_requests_are_recorded_raw(api: FakeAnthropic, client: httpx.AsyncClient) -> None:
    await post_message(client)
    await client.get("/v1/models", params={"limit": 2}, headers=GOOD_HEADERS)
    method, path, hdrs, payload, status = api.requests[0]
    assert (method, path, payload, status) == ("POST", "/v1/messages", GOOD_BODY, 200)
    assert hdrs["x-api-key"] == KEY and hdrs["anthropic-version"] == "2023-06-01"
    assert api.requests[1][:2] == ("GET", "/v1/models") and api.requests[1].json is None
    assert api.count() == 2 and api.count("/v1/models", 200) == 1 and api.status_counts[200] == 2
    api.reset()
    assert api.requests == [] and not api.status_counts and not api.outcome_counts


async def test_count_tokens(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/messages/count_tokens", json=body(max_tokens=...), headers=GOOD_HEADERS)
    assert response.status_code == 200 and response.headers["request-id"].startswith("req_")
    assert list(response.json()) == ["input_tokens"] and response.json()["input_tokens"] >= 1
    missing = await client.post("/v1/messages/count_tokens", json=body(messages=...), headers=GOOD_HEADERS)
    assert_error(missing, 400, "invalid_request_error", "messages")
    unauthenticated = await client.post("/v1/messages/count_tokens", json=GOOD_BODY)
    assert_error(unauthenticated, 401, "authentication_error")


# --- models ----------------------------------------------------------------------------------------

MANY = [f"claude-test-{i:02d}" for i in range(25)]


@pytest.fixture
async def many() -> AsyncIterator[httpx.AsyncClient]:
    async with (
        FakeAnthropic(api_key=KEY, models=MANY) as api,
        httpx.AsyncClient(base_url=api.base_url, headers=GOOD_HEADERS) as http,
    ):
        yield http


async def list_models(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get("/v1/models", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["request-id"].startswith("req_")
    return response.json()


async def test_models_default_page(many: httpx.AsyncClient) -> None:
    page = await list_models(many)
    assert [m["id"] for m in page["data"]] == MANY[:DEFAULT_LIMIT]
    assert page["has_more"] is True
    assert (page["first_id"], page["last_id"]) == (MANY[0], MANY[DEFAULT_LIMIT - 1])
    assert set(page["data"][0]) == {"id", "type", "display_name", "created_at"}
    assert page["data"][0]["type"] == "model"


async def test_models_walk_forward_and_back(many: httpx.AsyncClient) -> None:
    seen: list[str] = []
    page = await list_models(many, limit=10)
    seen += [m["id"] for m in page["data"]]
    while page["has_more"]:
        page = await list_models(many, limit=10, after_id=page["last_id"])
        seen += [m["id"] for m in page["data"]]
    assert seen == MANY
    back = await list_models(many, limit=3, before_id=MANY[5])
    assert [m["id"] for m in back["data"]] == MANY[2:5] and back["has_more"] is True
    first = await list_models(many, limit=10, before_id=MANY[2])
    assert [m["id"] for m in first["data"]] == MANY[:2] and first["has_more"] is False
    end = await list_models(many, after_id=MANY[-1])
    assert end == {"data": [], "has_more": False, "first_id": None, "last_id": None}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"after_id": "nope"}])
async def test_models_bad_paging(many: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert_error(await many.get("/v1/models", params=params), 400, "invalid_request_error")


async def test_models_limit_bounds_accepted(many: httpx.AsyncClient) -> None:
    assert len((await list_models(many, limit=1))["data"]) == 1
    assert len((await list_models(many, limit=1000))["data"]) == len(MANY)


async def test_get_model(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/models/{MODEL}", headers=GOOD_HEADERS)
    assert response.status_code == 200
    assert response.json()["id"] == MODEL and response.json()["type"] == "model"
    missing = await client.get("/v1/models/claude-nope", headers=GOOD_HEADERS)
    assert_error(missing, 404, "not_found_error", "claude-nope")
    assert_error(await client.get(f"/v1/models/{MODEL}"), 401, "authentication_error")


async def test_custom_model_entries(api: FakeAnthropic) -> None:
    custom = FakeModel("claude-x", "Claude X", "2026-01-01T00:00:00Z", max_output_tokens=10)
    async with (
        FakeAnthropic(api_key=KEY, models=[custom]) as fake,
        httpx.AsyncClient(base_url=fake.base_url) as http,
    ):
        assert (await post_message(http, body(model="claude-x", max_tokens=10))).status_code == 200
        too_many = await post_message(http, body(model="claude-x", max_tokens=11))
        assert_error(too_many, 400, "invalid_request_error", "maximum allowed")


async def test_schedule_defaults_to_seconds_since_the_call(api: FakeAnthropic) -> None:
    api.schedule([(0, 60, "overloaded"), (60, 120, "drop")])
    assert api.current_mode() == "overloaded"
