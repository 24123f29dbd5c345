"""Report your application's Anthropic API calls to statusbot, as the traffic signal.

    import anthropic
    from bot.report import instrument
    client = instrument(anthropic.Anthropic(), url="http://statusbot:8080", token=TOKEN, source="checkout-api")

The same works for `anthropic.AsyncAnthropic`, for SDK 2.x (httpx2) and 1.x (httpx), and for a client
built with your own `http_client` (the hooks are added to it; or build it with
`event_hooks=reporter.event_hooks()` / `reporter.async_event_hooks()`).

Every attempt (the SDK's own retries included) is counted by model: a good answer, or its error type
(`overloaded_error`, `rate_limit_error`, `timeout`, ...), and the latency of good answers. Counts are
kept per minute in memory and sent every `interval` seconds from a background thread. The reporter
never raises into your code and never waits on the bot; what it cannot send is dropped and counted
(`reporter.stats()`). No prompt, completion or header is read beyond the request's `model`.
"""

from __future__ import annotations

import atexit
import inspect
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bot.report.hooks import async_hooks, sync_hooks
from bot.report.sender import Sender
from bot.report.tally import Tally

__all__ = ["Reporter", "instrument"]
SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


class Reporter:
    def __init__(
        self,
        url: str,
        token: str,
        source: str,
        service: str | None = None,
        interval: float = 10.0,
        max_minutes: int = 15,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not SOURCE.match(source):
            raise ValueError(f"source {source!r}: use 1-40 of a-z, 0-9, '_', '.', '-' (it names the stream)")
        if not token:
            raise ValueError("token: the bot's STATUSBOT_SIGNALS_TOKEN is required")
        self.source = source
        self.tally = Tally(source, clock=clock, max_minutes=max_minutes)
        self.closed = False
        endpoint = url.rstrip("/") + "/signals" + (f"/{quote(service, safe='')}" if service else "")
        self.sender = Sender(endpoint, token, _sender_id(source), self.tally, interval=interval)
        self.sender.start()
        atexit.register(self.close)
        os.register_at_fork(after_in_child=self._forked)

    def event_hooks(self) -> dict[str, list[Any]]:
        """Hooks for a synchronous `httpx2.Client` / `httpx.Client` you pass as `http_client`."""
        return sync_hooks(self.tally)

    def async_event_hooks(self) -> dict[str, list[Any]]:
        """Hooks for an `httpx2.AsyncClient` / `httpx.AsyncClient` you pass as `http_client`."""
        return async_hooks(self.tally)

    def instrument(self, client: Any) -> Any:
        """Add the hooks to an Anthropic client's HTTP client (once); returns the client."""
        http = getattr(client, "_client", client)  # the SDK keeps its HTTP client there
        if getattr(http, "_statusbot_reporter", None) is not None:
            return client
        hooks = self.async_event_hooks() if inspect.iscoroutinefunction(http.send) else self.event_hooks()
        current = http.event_hooks
        http.event_hooks = {kind: [*current.get(kind, []), *hooks[kind]] for kind in ("request", "response")}
        http._statusbot_reporter = self
        return client

    def flush(self) -> bool:
        """Send now (from the calling thread); True when the bot took everything held."""
        return self.sender.flush()

    def close(self) -> None:
        """Stop sending, after one last send (also run at exit)."""
        if not self.closed:
            self.closed = True
            atexit.unregister(self.close)
            self.sender.close()

    def stats(self) -> dict[str, int]:
        return {
            "recorded": self.tally.recorded,
            "held": self.tally.held(),
            "dropped": self.tally.dropped,
            "batches_sent": self.sender.batches_sent,
            "send_failures": self.sender.send_failures,
        }

    def _forked(self) -> None:
        """A forked worker (gunicorn, multiprocessing) is a new sender with its own thread and counts."""
        if self.closed:
            return
        self.tally.clear()
        self.sender.sender = _sender_id(self.source)
        self.sender.start()


def _sender_id(source: str) -> str:
    return f"{source}@{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def instrument(
    client: Any, *, url: str, token: str, source: str, service: str | None = None, interval: float = 10.0
) -> Any:
    """Report every call of this Anthropic client (sync or async) to statusbot; returns the client."""
    return Reporter(url, token, source, service=service, interval=interval).instrument(client)
