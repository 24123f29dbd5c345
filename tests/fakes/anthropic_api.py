"""A loopback fake of the Anthropic API for statusbot's synthetic-probe tests.

It serves ``POST /v1/messages``, ``POST /v1/messages/count_tokens``, ``GET /v1/models`` and
``GET /v1/models/{model_id}`` on 127.0.0.1 and checks requests as strictly as the real API does
(see ``../shared/REFERENCE.md`` section (b)). Every response carries a ``request-id`` header and every
error body has the real shape ``{"type":"error","error":{"type":...,"message":...},"request_id":...}``.

Order of decisions for each request:

1. the mode is read (``set_mode`` or the ``schedule`` window that holds ``clock()``);
2. ``latency_s`` passes;
3. ``stall`` / ``drop`` act at the connection level, before any HTTP check;
4. the API key, as ``x-api-key`` (SDK 1.x) or ``Authorization: Bearer`` (SDK 2.x) (401), then the
   ``unauthorized`` / ``forbidden`` modes (401 / 403), then ``anthropic-version`` (400);
5. the endpoint validates the body and computes the honest answer (400 / 404 / 200);
6. a 200 is replaced by the scripted error of ``rate_limited`` / ``server_error`` / ``overloaded``, or,
   in mode ``ok``, by a random 500 with probability ``error_rate`` (or the request's model's rate in
   ``model_error_rates``, keyed by id or alias).

So a malformed probe is always rejected, even while an outage is scripted.
Not implemented: streaming (``"stream": true`` is rejected with a 400 that says so), tools, batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import random
import re
import secrets
import socket
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, NamedTuple, get_args

from aiohttp import web
from aiohttp.typedefs import Handler

Mode = Literal["ok", "rate_limited", "server_error", "overloaded", "stall", "drop", "unauthorized", "forbidden"]
MODES: tuple[str, ...] = get_args(Mode)
Clock = Callable[[], float]
Window = tuple[float, float, Mode]

VALID_VERSIONS = frozenset({"2023-01-01", "2023-06-01", "2026-10-21"})  # the last: what SDK 2.15 sends
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_ALPHABET = string.ascii_letters + string.digits
_dumps = functools.partial(json.dumps, separators=(",", ":"))
_INVALID_JSON = object()
_BODY = web.RequestKey("fake_anthropic_body", object)


class FakeModel(NamedTuple):
    """One entry of the fake model catalogue (listed newest first, like the real API)."""

    id: str
    display_name: str
    created_at: str
    max_output_tokens: int = 64_000

    def info(self) -> dict[str, Any]:
        return {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name,
            "created_at": self.created_at,
        }


DEFAULT_MODELS: tuple[FakeModel, ...] = (
    FakeModel("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
    FakeModel("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    FakeModel("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z", 32_000),
    FakeModel("claude-opus-4-20250514", "Claude Opus 4", "2025-05-22T00:00:00Z", 32_000),
    FakeModel("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22T00:00:00Z"),
    FakeModel("claude-3-7-sonnet-20250219", "Claude Sonnet 3.7", "2025-02-24T00:00:00Z"),
    FakeModel("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z", 8_192),
    FakeModel("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07T00:00:00Z", 4_096),
)


class RecordedRequest(NamedTuple):
    """One request as the fake saw it. ``status`` is None while pending and for stall/drop."""

    method: str
    path: str
    headers: dict[str, str]  # raw values (secrets included), keys lower-cased
    json: Any  # parsed body, or None if empty / not JSON
    status: int | None


class _ApiError(Exception):
    """An error answer; the middleware renders it in the real error shape."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        outcome: str = "rejected",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.outcome = outcome
        self.headers = headers or {}


_SCRIPTED: dict[str, tuple[int, str, str]] = {
    "rate_limited": (
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 requests per minute.",
    ),
    "server_error": (500, "api_error", "Internal server error"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "unauthorized": (401, "authentication_error", "invalid x-api-key"),
    "forbidden": (
        403,
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
}


def _new_id(prefix: str) -> str:
    return prefix + "01" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _invalid(message: str) -> _ApiError:
    return _ApiError(400, "invalid_request_error", message)


def _not_found(message: str) -> _ApiError:
    return _ApiError(404, "not_found_error", message)


def _check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    return mode  # type: ignore[return-value]


def _as_model(entry: str | FakeModel, index: int) -> FakeModel:
    if isinstance(entry, FakeModel):
        return entry
    created = datetime(2025, 1, 1, tzinfo=UTC) - timedelta(days=index)
    return FakeModel(entry, entry, created.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _elapsed_clock() -> Clock:
    origin = time.monotonic()
    return lambda: time.monotonic() - origin


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _INVALID_JSON


def _bearer(header: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; a malformed one counts as no key."""
    scheme, _, token = (header or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _lower_headers(request: web.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        name = key.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


# --- body validation -------------------------------------------------------------------------------


def _json_object(request: web.Request) -> dict[str, Any]:
    body = request[_BODY]
    if body is _INVALID_JSON:
        raise _invalid("There was an error parsing the body: invalid JSON")
    if not isinstance(body, dict):
        raise _invalid("Input should be a valid dictionary or object to extract fields from")
    return body


def _model_field(body: dict[str, Any]) -> str:
    if "model" not in body:
        raise _invalid("model: Field required")
    if not isinstance(body["model"], str):
        raise _invalid("model: Input should be a valid string")
    return body["model"]


def _max_tokens_field(body: dict[str, Any]) -> int:
    if "max_tokens" not in body:
        raise _invalid("max_tokens: Field required")
    value = body["max_tokens"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("max_tokens: Input should be a valid integer")
    if value < 1:
        raise _invalid("max_tokens: Input should be greater than or equal to 1")
    return value


def _messages_field(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in body:
        raise _invalid("messages: Field required")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise _invalid("messages: Input should be a valid list")
    if not messages:
        raise _invalid("messages: at least one message is required")
    for index, message in enumerate(messages):
        _check_message(index, message, last=index == len(messages) - 1)
    return messages


def _check_message(index: int, message: Any, *, last: bool) -> None:
    where = f"messages.{index}"
    if not isinstance(message, dict):
        raise _invalid(f"{where}: Input should be a valid dictionary")
    if message.get("role") not in ("user", "assistant"):
        raise _invalid(f"{where}.role: Input should be 'user' or 'assistant'")
    if "content" not in message:
        raise _invalid(f"{where}.content: Field required")
    content = message["content"]
    if not isinstance(content, str | list):
        raise _invalid(f"{where}.content: Input should be a valid string or list")
    if not content and not (last and message["role"] == "assistant"):
        raise _invalid(
            f"{where}: all messages must have non-empty content except for the optional final assistant message"
        )


def _reject_stream(body: dict[str, Any]) -> None:
    if body.get("stream"):
        raise _invalid("stream: streaming is not implemented by the FakeAnthropic test server")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return ""


def _estimate_tokens(body: dict[str, Any], messages: list[dict[str, Any]]) -> int:
    text = _text_of(body.get("system", "")) + "".join(_text_of(m["content"]) for m in messages)
    return max(1, math.ceil(len(text) / 4)) + 3 * len(messages)


def _limit_param(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _invalid("limit: Input should be a valid integer") from None
    if limit < 1:
        raise _invalid("limit: Input should be greater than or equal to 1")
    if limit > MAX_LIMIT:
        raise _invalid(f"limit: Input should be less than or equal to {MAX_LIMIT}")
    return limit


def _page(
    models: Sequence[FakeModel], limit: int, after_id: str | None, before_id: str | None
) -> tuple[Sequence[FakeModel], bool]:
    ids = [m.id for m in models]
    if after_id is not None and before_id is not None:
        raise _invalid("Only one of after_id or before_id may be provided")
    cursor = after_id if after_id is not None else before_id
    if cursor is not None and cursor not in ids:
        raise _invalid(f"{'after_id' if after_id is not None else 'before_id'}: unknown id {cursor!r}")
    if before_id is not None:
        end = ids.index(before_id)
        start = max(0, end - limit)
        return models[start:end], start > 0
    start = ids.index(after_id) + 1 if after_id is not None else 0
    return models[start : start + limit], start + limit < len(models)


def _json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(payload, status=status, headers=headers, dumps=_dumps)


# --- the fake server -------------------------------------------------------------------------------


class FakeAnthropic:
    """Loopback Anthropic API. Use as ``async with FakeAnthropic(api_key="sk-ant-test") as api:``."""

    def __init__(
        self,
        api_key: str = "sk-ant-test",
        *,
        models: Iterable[str | FakeModel] | None = None,
        mode: Mode = "ok",
        error_rate: float = 0.0,
        model_error_rates: Mapping[str, float] | None = None,
        rng: random.Random | None = None,
        latency_s: float = 0.0,
        retry_after_s: int = 7,
    ) -> None:
        rates = dict(model_error_rates or {})
        if not all(0.0 <= rate <= 1.0 for rate in (error_rate, *rates.values())):
            raise ValueError("error rates must be within [0, 1]")
        self.api_key = api_key
        catalogue = DEFAULT_MODELS if models is None else models
        self.models: list[FakeModel] = [_as_model(m, i) for i, m in enumerate(catalogue)]
        self.error_rate = error_rate
        self.model_error_rates = rates
        self.rng = rng if rng is not None else random.Random()
        self.latency_s = latency_s
        self.retry_after_s = retry_after_s
        self.requests: list[RecordedRequest] = []
        self.status_counts: Counter[int] = Counter()
        self.outcome_counts: Counter[str] = Counter()
        self._mode: Mode = _check_mode(mode)
        self._script: list[Window] = []
        self._clock: Clock = time.monotonic
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle --

    async def __aenter__(self) -> FakeAnthropic:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        app.router.add_get("/v1/models", self._list_models, allow_head=False)
        app.router.add_get("/v1/models/{model_id}", self._get_model, allow_head=False)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Release stalled requests (their connections are closed unanswered) and shut down."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- scripting --

    @property
    def mode(self) -> Mode:
        return self._mode

    def set_mode(self, mode: Mode) -> None:
        """Mode used whenever no schedule window holds the current clock."""
        self._mode = _check_mode(mode)

    def schedule(self, windows: Iterable[tuple[float, float, Mode]], clock: Clock | None = None) -> None:
        """Answer by the first window with ``start_s <= clock() < end_s``; outside all windows use ``mode``.

        Without ``clock``, the clock is real seconds since this call. ``schedule([])`` clears the script.
        """
        script = [(float(s), float(e), _check_mode(m)) for s, e, m in windows]
        if any(end <= start for start, end, _ in script):
            raise ValueError("each window needs start_s < end_s")
        self._script, self._clock = script, clock or _elapsed_clock()

    def current_mode(self) -> Mode:
        if self._script:
            now = self._clock()
            for start, end, mode in self._script:
                if start <= now < end:
                    return mode
        return self._mode

    # -- introspection --

    @property
    def last_request(self) -> RecordedRequest:
        return self.requests[-1]

    def count(self, path: str | None = None, status: int | None = None) -> int:
        """Number of recorded requests, optionally only those to ``path`` and / or answered ``status``."""
        return sum(
            1 for r in self.requests if (path is None or r.path == path) and (status is None or r.status == status)
        )

    def reset(self) -> None:
        """Forget recorded requests and counters (mode, schedule and settings stay)."""
        self.requests.clear()
        self.status_counts.clear()
        self.outcome_counts.clear()

    # -- request pipeline --

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = _new_id("req_")
        body = request[_BODY] = _parse_json(await request.read())
        entry = RecordedRequest(
            request.method,
            request.path,
            _lower_headers(request),
            None if body is _INVALID_JSON else body,
            None,
        )
        self.requests.append(entry)
        mode = self.current_mode()
        await self._pause(self.latency_s)
        if mode in ("stall", "drop"):
            self.outcome_counts[mode] += 1
            return await self._fault(request, mode)
        response, outcome = await self._answer(request, handler, mode, request_id)
        self._finish(entry, response.status, outcome)
        return response

    async def _answer(
        self, request: web.Request, handler: Handler, mode: Mode, request_id: str
    ) -> tuple[web.StreamResponse, str]:
        try:
            self._check_headers(request, mode)
            response = await self._call(request, handler)
            self._maybe_fail(mode, request[_BODY])
        except _ApiError as exc:
            return self._error_response(exc, request_id), exc.outcome
        response.headers["request-id"] = request_id
        return response, "ok"

    async def _call(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPMethodNotAllowed:
            raise _invalid(f"Method {request.method} not allowed for {request.path}") from None
        except web.HTTPException as exc:
            raise _ApiError(exc.status, "not_found_error", "Not found") from None

    def _check_headers(self, request: web.Request, mode: Mode) -> None:
        key = request.headers.get("x-api-key")
        if key is None:
            key = _bearer(request.headers.get("authorization"))
        if key is None:
            raise _ApiError(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key:
            raise _ApiError(401, "authentication_error", "invalid x-api-key")
        if mode in ("unauthorized", "forbidden"):
            raise self._scripted(mode)
        version = request.headers.get("anthropic-version")
        if version is None:
            raise _invalid("anthropic-version: header is required")
        if version not in VALID_VERSIONS:
            raise _invalid(f'anthropic-version: "{version}" is not a valid version')

    def _maybe_fail(self, mode: Mode, body: Any) -> None:
        if mode in ("rate_limited", "server_error", "overloaded"):
            raise self._scripted(mode)
        rate = self._error_rate_for(body.get("model") if isinstance(body, dict) else None)
        if rate > 0 and self.rng.random() < rate:
            raise _ApiError(500, "api_error", "Internal server error", outcome="random_error")

    def _error_rate_for(self, model_id: Any) -> float:
        for name, rate in self.model_error_rates.items():
            if isinstance(model_id, str) and name in (model_id, re.sub(r"-\d{8}$", "", model_id)):
                return rate
        return self.error_rate

    def _scripted(self, mode: str) -> _ApiError:
        status, error_type, message = _SCRIPTED[mode]
        headers = self._rate_limit_headers() if mode == "rate_limited" else None
        return _ApiError(status, error_type, message, outcome=mode, headers=headers)

    def _rate_limit_headers(self) -> dict[str, str]:
        reset = datetime.now(UTC) + timedelta(seconds=self.retry_after_s)
        return {
            "retry-after": str(self.retry_after_s),
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _error_response(self, exc: _ApiError, request_id: str) -> web.Response:
        body = {
            "type": "error",
            "error": {"type": exc.error_type, "message": exc.message},
            "request_id": request_id,
        }
        return _json_response(body, exc.status, {**exc.headers, "request-id": request_id})

    def _finish(self, entry: RecordedRequest, status: int, outcome: str) -> None:
        self.status_counts[status] += 1
        self.outcome_counts[outcome] += 1
        for index in range(len(self.requests) - 1, -1, -1):
            if self.requests[index] is entry:
                self.requests[index] = entry._replace(status=status)
                return

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _fault(self, request: web.Request, mode: str) -> web.StreamResponse:
        """stall: hold the connection until stop(); then (or at once for drop) close it unanswered."""
        if mode == "stall":
            await self._stopping.wait()
        if request.transport is not None:
            request.transport.close()
        return web.Response()  # never sent: aiohttp finds the transport closed and drops it

    # -- endpoints --

    def _find_model(self, model_id: str) -> FakeModel:
        """An exact id, or its alias without the date suffix (`claude-haiku-4-5`), as the real API takes."""
        for model in self.models:
            if model_id in (model.id, re.sub(r"-\d{8}$", "", model.id)):
                return model
        raise _not_found(f"model: {model_id}")

    async def _messages(self, request: web.Request) -> web.Response:
        body = _json_object(request)
        model_id = _model_field(body)
        max_tokens = _max_tokens_field(body)
        messages = _messages_field(body)
        _reject_stream(body)
        model = self._find_model(model_id)
        if max_tokens > model.max_output_tokens:
            raise _invalid(
                f"max_tokens: {max_tokens} > {model.max_output_tokens}, which is the maximum allowed "
                f"number of output tokens for {model.id}"
            )
        return _json_response(self._message(model, max_tokens, _estimate_tokens(body, messages)))

    def _message(self, model: FakeModel, max_tokens: int, input_tokens: int) -> dict[str, Any]:
        return {
            "id": _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model.id,
            "content": [{"type": "text", "text": " ".join(["pong"] * min(max_tokens, 16))}],
            "stop_reason": "max_tokens",
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": max_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }

    async def _count_tokens(self, request: web.Request) -> web.Response:
        body = _json_object(request)
        model_id = _model_field(body)
        messages = _messages_field(body)
        self._find_model(model_id)
        return _json_response({"input_tokens": _estimate_tokens(body, messages)})

    async def _list_models(self, request: web.Request) -> web.Response:
        query = request.query
        limit = _limit_param(query.get("limit"))
        items, has_more = _page(self.models, limit, query.get("after_id"), query.get("before_id"))
        return _json_response(
            {
                "data": [m.info() for m in items],
                "has_more": has_more,
                "first_id": items[0].id if items else None,
                "last_id": items[-1].id if items else None,
            }
        )

    async def _get_model(self, request: web.Request) -> web.Response:
        return _json_response(self._find_model(request.match_info["model_id"]).info())
