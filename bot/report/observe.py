"""What one HTTP attempt to the Anthropic API came to, seen without touching what the caller gets.

An `Attempt` follows one request from the client's request hook to the end of its response body:
- no answer (the transport's `trace` extension reports a timeout or a broken connection): a failure
  named `timeout` or `connection_error`;
- an answer: its status, and for an error its body's `error.type` (or the status's type when the body
  is not the API's JSON, like Cloudflare's 413), read from at most 8 KiB of the body as it flows by;
- a streamed (SSE) answer: HTTP 200 whose stream carries an `event: error` frame is that error.
Only the request's top-level `model` is read from the body; no content is kept or sent.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from bot.outcomes import error_key
from bot.report.tally import Tally

BODY_KEPT = 8192
MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,99}$")
SSE_ERROR = b"event: error"


def model_of(method: str, content_type: str, content: bytes) -> str | None:
    """The top-level `model` of a JSON request body, if it names one."""
    if method != "POST" or "json" not in content_type or b'"model"' not in content:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and MODEL.match(model) else None


def network_kind(exc: object) -> str | None:
    """`timeout` or `connection_error` for the transport's own failures; None for anything else (a
    cancelled task, a pool that is full: not the vendor's doing)."""
    name = type(exc).__name__
    if name == "PoolTimeout":
        return None
    if name.endswith("Timeout") or isinstance(exc, TimeoutError):
        return "timeout"
    if name in ("ConnectError", "ReadError", "WriteError", "RemoteProtocolError", "NetworkError"):
        return "connection_error"
    return "connection_error" if isinstance(exc, ConnectionError) else None


def body_error_type(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None


def frame_error_type(frame: bytes) -> str:
    """The type in an SSE `event: error` frame's data line (`api_error` when it cannot be read)."""
    return body_error_type(frame.partition(b"data:")[2].split(b"\n", 1)[0]) or "api_error"


class Attempt:
    """One attempt under watch. Every method swallows its own errors: the caller must never notice."""

    def __init__(self, tally: Tally, model: str) -> None:
        self.tally, self.model = tally, model
        self.started = time.perf_counter()
        self.status: int | None = None
        self.latency_ms: float | None = None
        self.failed: tuple[int, str] | None = None  # (minute, kind) of a transport failure recorded
        self.finished = False
        self._sse = self._keep = False
        self._body = bytearray()
        self._frame = bytearray()  # an SSE error frame being read
        self._tail = b""

    # -- no answer --

    def traced(self, name: str, info: dict[str, Any]) -> None:
        try:
            if self.status is not None or self.finished:
                return
            if name == "connection.retry.started" and self.failed is not None:
                minute, kind = self.failed
                self.tally.take_back(minute, self.model, kind)
                self.failed = None
            elif name.endswith(".failed") and self.failed is None:
                network = network_kind(info.get("exception"))
                if network is not None:
                    self.failed = (self.tally.record(self.model, network), network)
        except Exception:  # pragma: no cover  (defensive: the trace runs inside the caller's request)
            pass

    # -- an answer --

    def answered(self, status: int, content_type: str) -> None:
        self.status = status
        self.latency_ms = (time.perf_counter() - self.started) * 1000
        if self.failed is not None:  # the transport gave an answer after all
            minute, kind = self.failed
            self.tally.take_back(minute, self.model, kind)
            self.failed = None
        self._keep = status >= 400
        self._sse = "text/event-stream" in content_type

    def chunk(self, data: bytes) -> None:
        try:
            if self._keep and len(self._body) < BODY_KEPT:
                self._body += data[: BODY_KEPT - len(self._body)]
            if self._sse:
                self._scan(data)
        except Exception:  # pragma: no cover  (defensive)
            self._sse = False

    def broke(self, exc: BaseException) -> None:
        """The body stopped mid-way: a broken connection counts, a reader that stopped early does not."""
        kind = network_kind(exc)
        if kind is not None and not self.finished:
            self.finished = True
            self.tally.record(self.model, kind)

    def finish(self) -> None:
        if self.finished or self.status is None:
            return
        self.finished = True
        try:
            if self._frame:
                kind = error_key(self.status, frame_error_type(bytes(self._frame)))
            else:
                kind = error_key(self.status, body_error_type(bytes(self._body)) if self._keep else None)
            self.tally.record(self.model, kind, self.latency_ms if kind is None else None)
        except Exception:  # pragma: no cover  (defensive)
            pass

    def _scan(self, data: bytes) -> None:
        if self._frame:
            if b"\n\n" not in self._frame and len(self._frame) < BODY_KEPT:
                self._frame += data
            return
        window = self._tail + data
        at = window.find(SSE_ERROR)
        if at >= 0 and (at == 0 or window[at - 1 : at] in (b"\n", b"\r")):
            self._frame = bytearray(window[at : at + BODY_KEPT])
        self._tail = window[-len(SSE_ERROR) :]
