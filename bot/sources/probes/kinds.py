"""The built-in probe kinds: one request each, one attempt, no hidden retries.

- `anthropic_messages`, per model: the smallest Messages API call (max_tokens 1, one short user
  message), `POST /v1/messages/count_tokens` of the same message and `GET /v1/models/{model}` (free).
- `anthropic_models`: `GET /v1/models?limit=1`, reachability and auth at no token cost.
- `http`: any URL, an expected status and a latency threshold.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

from bot.config import ProbeSpec
from bot.sources.probes import lanes
from bot.sources.probes.classify import Attempt

ANTHROPIC_VERSION = "2023-06-01"
PROMPT = "ping"


def request_for(spec: ProbeSpec, model: str | None, lane: str, base_url: str, api_key: str | None) -> dict[str, Any]:
    """The request of one lane of a stream (see `bot.sources.probes.lanes`)."""
    headers = {"x-api-key": api_key or "", "anthropic-version": ANTHROPIC_VERSION}
    messages = [{"role": "user", "content": PROMPT}]
    if lane == lanes.MESSAGES:
        body = {"model": model or spec.model, "max_tokens": 1, "messages": messages}
        return {"method": "POST", "url": f"{base_url}/v1/messages", "headers": headers, "json": body}
    if lane == lanes.COUNT_TOKENS:
        body = {"model": model or spec.model, "messages": messages}
        return {"method": "POST", "url": f"{base_url}/v1/messages/count_tokens", "headers": headers, "json": body}
    if lane == lanes.MODELS and model is not None:
        return {"method": "GET", "url": f"{base_url}/v1/models/{quote(model, safe='')}", "headers": headers}
    if lane == lanes.MODELS:
        return {"method": "GET", "url": f"{base_url}/v1/models", "headers": headers, "params": {"limit": 1}}
    return {"method": "GET", "url": str(spec.url)}


async def attempt(client: httpx.AsyncClient, request: dict[str, Any], timeout: float) -> Attempt:
    started = time.perf_counter()
    try:
        response = await client.request(**request, timeout=timeout)
    except httpx.TimeoutException as exc:
        return _failed(started, "timeout", exc)
    except httpx.ConnectError as exc:
        return _failed(started, "connect", exc)
    except httpx.HTTPError as exc:
        return _failed(started, "protocol", exc)
    latency = (time.perf_counter() - started) * 1000
    return Attempt(
        latency_ms=latency,
        status_code=response.status_code,
        error_type=_error_type(response),
        request_id=response.headers.get("request-id"),
        detail=_detail(response),
    )


def _failed(started: float, kind: str, exc: Exception) -> Attempt:
    return Attempt(
        latency_ms=(time.perf_counter() - started) * 1000, exception=kind, detail=f"{type(exc).__name__}: {exc}"[:200]
    )


def _error_type(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("type")) if isinstance(error, dict) and error.get("type") else None


def _detail(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    try:
        body = response.json()
        return str(body["error"]["message"])[:200]
    except (ValueError, KeyError, TypeError):
        return " ".join(response.text.split())[:200] or None
