"""`POST /signals/<service>` (and `POST /signals` for the first service).

In order: the bearer token (401, compared in constant time against every configured token), the service
(404), the rate per token (429 with Retry-After), the body's size (413), JSON (400), the batch's length
(413) and fields (400 naming the field), then one transaction; 202 `{"accepted": N, "ignored": M}`.
Every replica serves it: it only writes rollups, and the leader's detector run reads them.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.logs import Throttled
from bot.metrics import Metrics
from bot.sources.signals import batch as batches
from bot.sources.signals.limits import RateLimit
from bot.sources.signals.settings import SignalSettings
from bot.sources.signals.store import Taken, body_digest, store
from bot.store.db import Database

log = logging.getLogger(__name__)
STORE_TRIES = 3


@dataclass(frozen=True)
class Refusal(Exception):
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> web.Response:
        return web.json_response({"error": self.message}, status=self.status, headers=dict(self.headers))


class SignalRoute:
    def __init__(
        self,
        settings: SignalSettings,
        db: Database,
        services: list[str],
        clock: Clock,
        metrics: Metrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tokens = [token.encode() for token in settings.signal_tokens()]
        self.max_bytes, self.max_items = settings.signals_max_bytes, settings.signals_max_items
        self.limit = RateLimit.per_second(settings.signals_rate)
        self.db, self.services, self.clock, self.metrics = db, services, clock, metrics
        self.monotonic = monotonic
        self.log = Throttled(log)

    def routes(self) -> list[web.RouteDef]:
        """None at all without a token: the route is off."""
        if not self.tokens:
            return []
        return [web.post("/signals", self.handle), web.post("/signals/{service}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        service = request.match_info.get("service", self.services[0])
        try:
            taken = await self._take(request, service)
        except Refusal as refusal:
            self._count(service, str(refusal.status))
            return refusal.response()
        self._count(service, "accepted" if taken.accepted else "duplicate")
        return web.json_response({"accepted": taken.accepted, "ignored": taken.ignored}, status=202)

    async def _take(self, request: web.Request, service: str) -> Taken:
        key = self._authorised(request)
        if service not in self.services:
            raise Refusal(404, f"unknown service {service[:40]!r}")
        wait = self.limit.take(key, self.monotonic())
        if wait:
            self.log.warning("signals:429", "signals: token #%d is over %g batches/s", key + 1, self.limit.rate)
            raise Refusal(429, "too many batches: slow down", (("Retry-After", RateLimit.retry_after(wait)),))
        body = await self._read(request)
        batch = self._parse(body)
        return self._store(service, batch, body_digest(body))

    def _authorised(self, request: web.Request) -> int:
        """The index of the matching token. Every token is compared, so timing tells nothing."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        matches = [hmac.compare_digest(given.strip().encode(), token) for token in self.tokens]
        if scheme.lower() != "bearer" or not any(matches):
            self.log.warning("signals:401", "signals: refused a batch without a valid token from %s", request.remote)
            raise Refusal(401, "a valid bearer token is required", (("WWW-Authenticate", 'Bearer realm="signals"'),))
        return matches.index(True)

    async def _read(self, request: web.Request) -> bytes:
        too_large = Refusal(413, f"body larger than {self.max_bytes} bytes: send smaller batches")
        if (request.content_length or 0) > self.max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > self.max_bytes:
                raise too_large
        return bytes(body)

    def _parse(self, body: bytes) -> batches.Batch:
        try:
            return batches.parse(body, self.clock.now(), self.max_items)
        except batches.NotJson as exc:
            raise Refusal(400, str(exc)) from None
        except batches.BatchTooLong as exc:
            raise Refusal(413, str(exc)) from None
        except batches.BatchError as exc:
            self.log.warning("signals:400", "signals: refused a batch: %s", exc)
            raise Refusal(400, str(exc)) from None

    def _store(self, service: str, batch: batches.Batch, receipt: str) -> Taken:
        for attempt in range(STORE_TRIES):
            with self.db.session() as session:
                try:
                    taken = store(session, service, batch, self.clock.now(), receipt)
                    session.commit()
                    return taken
                except IntegrityError:  # another replica took the same batch, or a row, at the same time
                    session.rollback()
                    if attempt == STORE_TRIES - 1:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _count(self, service: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.signal(service if service in self.services else "-", result)
