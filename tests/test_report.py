"""The SDK reporter, driving the real `anthropic` SDK (and plain httpx, as SDK 1.x used) against the
loopback Anthropic fake, and sending to the bot's real signal route."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import pytest
from aiohttp import web

from bot.report import Reporter
from bot.report.observe import Attempt
from bot.report.tally import Tally
from tests.conftest import load_json, shared_path
from tests.fakes.anthropic_api import FakeAnthropic
from tests.loopback import serving
from tests.signal_world import TOKEN, signal_world

KEY = "sk-ant-report"
FAILING, HEALTHY = "claude-opus-4-1", "claude-haiku-4-5"
PROMPT = "the secret plan for the launch"
CLOSED_PORT_URL = "http://127.0.0.1:9"


def ask(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": PROMPT}], **extra}


def counted(reporter: Reporter) -> dict[str, dict[str, Any]]:
    return {entry["model"]: entry for _, _, entry in reporter.tally.snapshot()}


def calls_sync(client: anthropic.Anthropic, model: str, n: int) -> int:
    failed = 0
    for _ in range(n):
        try:
            client.messages.create(**ask(model))
        except anthropic.APIStatusError:
            failed += 1
    return failed


Closing = Callable[[Any], Any]


@pytest.fixture
async def closing() -> AsyncIterator[Closing]:
    """Clients the test makes, closed after it (an unclosed async client's own clean-up would run later,
    on a loop that is gone, and log into another test)."""
    made: list[Any] = []

    def keep(client: Any) -> Any:
        made.append(client)
        return client

    yield keep
    for client in made:
        if isinstance(client, anthropic.AsyncAnthropic):
            await client.close()
        else:
            client.close()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own backoff (0.5 s doubling) in milliseconds: the same retries, without the waiting."""
    monkeypatch.setattr(anthropic._base_client, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setattr(anthropic._base_client, "MAX_RETRY_DELAY", 0.002)


@pytest.mark.usefixtures("quick_retries")
async def test_every_attempt_of_the_real_sdk_is_counted_and_reaches_the_bot(
    tmp_path: Path,
    closing: Closing,
) -> None:
    async with (
        FakeAnthropic(api_key=KEY, model_error_rates={FAILING: 0.3}, rng=random.Random(5)) as api,
        signal_world(tmp_path) as world,
    ):
        url, now = f"http://127.0.0.1:{world.bot.http_port}", world.clock.now().timestamp
        reporter = Reporter(url, TOKEN, "checkout", interval=3600, clock=now)
        client = reporter.instrument(closing(anthropic.Anthropic(api_key=KEY, base_url=api.base_url, max_retries=2)))
        assert reporter.instrument(client) is client  # once only
        failed = await asyncio.to_thread(calls_sync, client, FAILING, 30)
        await asyncio.to_thread(calls_sync, client, HEALTHY, 10)
        seen = counted(reporter)
        assert seen[FAILING]["errors"] == {"api_error": api.status_counts[500]}  # the SDK's retries included
        assert seen[FAILING]["ok"] + seen[HEALTHY]["ok"] == api.status_counts[200] == 40 - failed
        assert api.status_counts[500] > failed > 0  # retries hid some errors from the caller, not from us
        assert seen[HEALTHY]["errors"] == {} and seen[HEALTHY]["p95_ms"] > 0
        assert await asyncio.to_thread(reporter.flush)
        totals = {r.model: (r.ok, r.failures) for r in world.rollups()}
        assert totals == {FAILING: (seen[FAILING]["ok"], api.status_counts[500]), HEALTHY: (10, 0)}
        assert {r.source for r in world.rollups()} == {"checkout"}
        await asyncio.to_thread(reporter.close)


@pytest.mark.usefixtures("quick_retries")
async def test_the_async_client_is_counted_too(
    tmp_path: Path,
    closing: Closing,
) -> None:
    async with FakeAnthropic(api_key=KEY, model_error_rates={FAILING: 1.0}) as api:
        reporter = Reporter(CLOSED_PORT_URL, TOKEN, "worker", interval=3600)
        client = reporter.instrument(
            closing(anthropic.AsyncAnthropic(api_key=KEY, base_url=api.base_url, max_retries=1))
        )
        with pytest.raises(anthropic.InternalServerError):
            await client.messages.create(**ask(FAILING))
        await client.messages.create(**ask(HEALTHY))
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.create(**ask(HEALTHY, max_tokens=0))
        await client.messages.count_tokens(model=HEALTHY, messages=[{"role": "user", "content": PROMPT}])
        await client.models.list()  # names no model: not a call to count
        seen = counted(reporter)
        assert seen[FAILING]["errors"] == {"api_error": 2} and seen[FAILING]["ok"] == 0
        assert seen[HEALTHY]["ok"] == 2 and seen[HEALTHY]["errors"] == {"invalid_request_error": 1}
        assert assert_never_sent(reporter)


def assert_never_sent(reporter: Reporter) -> bool:
    reporter.close()
    stats = reporter.stats()
    return stats["batches_sent"] == 0 and stats["send_failures"] >= 1 and stats["held"] == stats["recorded"]


async def test_a_client_you_build_with_httpx_and_x_api_key_like_sdk_1x(
    tmp_path: Path,
    closing: Closing,
) -> None:
    """SDK 1.x sends x-api-key through an httpx client; the hooks are the same for httpx and httpx2."""
    async with FakeAnthropic(api_key=KEY) as api:
        reporter = Reporter(CLOSED_PORT_URL, TOKEN, "legacy", interval=3600)
        headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}

        def run() -> None:
            with httpx.Client(base_url=api.base_url, event_hooks=reporter.event_hooks(), headers=headers) as http:
                assert http.post("/v1/messages", json=ask(HEALTHY)).status_code == 200
                assert http.post("/v1/messages", json=ask("claude-nope")).status_code == 404
            own = httpx2.Client(event_hooks=reporter.event_hooks())
            sdk = closing(anthropic.Anthropic(api_key=KEY, base_url=api.base_url, http_client=own))
            sdk.messages.create(**ask(HEALTHY))

        await asyncio.to_thread(run)
        async with httpx.AsyncClient(base_url=api.base_url, event_hooks=reporter.async_event_hooks()) as http:
            assert (await http.post("/v1/messages", json=ask(HEALTHY), headers=headers)).status_code == 200
        seen = counted(reporter)
        assert seen[HEALTHY]["ok"] == 3 and seen["claude-nope"]["errors"] == {"not_found_error": 1}
        assert api.requests[0].headers["x-api-key"] == KEY and "authorization" in api.requests[2].headers
        reporter.close()


@pytest.mark.usefixtures("quick_retries")
async def test_timeouts_and_dropped_connections_are_failures_and_the_caller_sees_what_it_would(
    tmp_path: Path,
    closing: Closing,
) -> None:
    async with FakeAnthropic(api_key=KEY, mode="stall") as api:
        reporter = Reporter(CLOSED_PORT_URL, TOKEN, "app", interval=3600)
        client = reporter.instrument(
            closing(anthropic.AsyncAnthropic(api_key=KEY, base_url=api.base_url, max_retries=1, timeout=0.2))
        )
        with pytest.raises(anthropic.APITimeoutError):
            await client.messages.create(**ask(HEALTHY))
        api.set_mode("drop")
        with pytest.raises(anthropic.APIConnectionError):
            await client.messages.create(**ask(HEALTHY))
        assert counted(reporter)[HEALTHY]["errors"] == {"timeout": 2, "connection_error": 2}
        reporter.close()


async def test_the_bot_down_never_reaches_the_caller_and_what_is_lost_is_counted(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    tally = Tally("app", clock=lambda: now[0], max_minutes=3)
    for _ in range(5):
        tally.record(HEALTHY, None, 100)
    now[0] += 240  # four minutes later, nothing could be sent
    tally.record(HEALTHY, "overloaded_error")
    assert [entry["errors"] for _, _, entry in tally.snapshot()] == [{"overloaded_error": 1}]
    assert tally.dropped == 5 and tally.held() == 1
    for model in (f"m{i}" for i in range(60)):
        tally.record(model, None)
    assert tally.dropped == 5 + 11  # at most 50 models a minute


async def test_nothing_but_counts_is_sent(
    tmp_path: Path,
    closing: Closing,
) -> None:
    bodies: list[bytes] = []

    async def receive(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        return web.json_response({"accepted": 1, "ignored": 0}, status=202)

    async with FakeAnthropic(api_key=KEY) as api, receiver(receive) as url:
        reporter = Reporter(url, TOKEN, "app", service="claude", interval=3600)
        client = reporter.instrument(closing(anthropic.AsyncAnthropic(api_key=KEY, base_url=api.base_url)))
        await client.messages.create(**ask(HEALTHY, system="you are the launch planner"))
        assert await asyncio.to_thread(reporter.flush)
        await asyncio.to_thread(reporter.close)
    [body, *_] = bodies
    sent = json.loads(body)
    assert set(sent) == {"sender", "counts"} and sent["sender"].startswith("app@")
    assert set(sent["counts"][0]) == {"minute", "model", "source", "ok", "errors", "p95_ms"}
    assert b"launch" not in body and KEY.encode() not in body


@asynccontextmanager
async def receiver(handler: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/signals/claude", handler)
    app.router.add_post("/v1/messages", handler)
    async with serving(app) as url:
        yield url


def error_frame() -> bytes:
    """The real mid-stream error frame (recorded; see ../shared/fixtures/README.md)."""
    examples = load_json(shared_path("anthropic_api", "observed_error_bodies.json"))["examples"]
    return next(e["sse_frame"] for e in examples if "sse_frame" in e).encode()


async def test_an_error_event_inside_a_streamed_200_is_that_error(
    tmp_path: Path,
    closing: Closing,
) -> None:
    frame = error_frame()
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": HEALTHY,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 0},
        },
    }

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(f"event: message_start\ndata: {json.dumps(start)}\n\n".encode())
        await response.write(frame[:9])  # split across chunks, as a network may
        await response.write(frame[9:])
        return response

    async with receiver(stream) as url:
        reporter = Reporter(CLOSED_PORT_URL, TOKEN, "app", interval=3600)
        client = reporter.instrument(closing(anthropic.AsyncAnthropic(api_key=KEY, base_url=url, max_retries=0)))
        with pytest.raises(anthropic.APIStatusError) as raised:
            async for _ in await client.messages.create(**ask(HEALTHY, stream=True)):
                pass
        assert raised.value.status_code == 200
        assert counted(reporter)[HEALTHY]["errors"] == {"overloaded_error": 1}
        reporter.close()


def test_the_sse_scanner_finds_a_frame_on_any_chunk_boundary() -> None:
    frame = b'event: error\ndata: {"type": "error", "error": {"type": "api_error", "message": "x"}}\n\n'
    stream = b'event: ping\ndata: {"type": "ping"}\n\n' + frame
    for cut in range(1, len(stream)):
        tally = Tally("app")
        attempt = Attempt(tally, HEALTHY)
        attempt.answered(200, "text/event-stream; charset=utf-8")
        attempt.chunk(stream[:cut])
        attempt.chunk(stream[cut:])
        attempt.finish()
        assert [e["errors"] for _, _, e in tally.snapshot()] == [{"api_error": 1}], cut
