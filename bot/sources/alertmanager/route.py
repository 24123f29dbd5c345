"""`POST /alertmanager/<secret>` (the first service) and `POST /alertmanager/<service>/<secret>`.

Off without `STATUSBOT_ALERTMANAGER_SECRET`; a wrong secret or service is a 404, as for the Statuspage
webhook. A payload that is not version 4 is a 400, which Alertmanager does not retry; a failure of ours
is a 5xx, which it does. 200 `{"ok": true, "taken": N, "ignored": M}`.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from bot.clock import Clock
from bot.engine.incidents import IncidentEngine
from bot.logs import Throttled
from bot.metrics import Metrics
from bot.sources.alertmanager.payload import PayloadError, parse
from bot.sources.alertmanager.receiver import AlertReceiver
from bot.sources.alertmanager.settings import AlertmanagerSettings
from bot.store.db import Database

log = logging.getLogger(__name__)
MAX_BYTES = 1024 * 1024


class AlertmanagerRoute:
    def __init__(
        self, receiver: AlertReceiver, services: list[str], secret: str | None, metrics: Metrics | None = None
    ) -> None:
        self.receiver, self.services, self.metrics = receiver, services, metrics
        self.secret = secret.encode() if secret else None
        self.log = Throttled(log)

    @classmethod
    def build(
        cls,
        settings: AlertmanagerSettings,
        engine: IncidentEngine,
        db: Database,
        clock: Clock,
        services: list[str],
        metrics: Metrics | None = None,
    ) -> AlertmanagerRoute:
        receiver = AlertReceiver(engine, db, clock, settings.alert_matchers(), settings.alertmanager_model_label)
        secret = settings.alertmanager_secret
        return cls(receiver, services, secret.get_secret_value() if secret else None, metrics)

    def routes(self) -> list[web.RouteDef]:
        if self.secret is None:
            return []
        return [
            web.post("/alertmanager/{secret}", self.handle),
            web.post("/alertmanager/{service}/{secret}", self.handle),
        ]

    async def handle(self, request: web.Request) -> web.Response:
        service = request.match_info.get("service", self.services[0])
        given = request.match_info["secret"].encode()
        if self.secret is None or not hmac.compare_digest(given, self.secret) or service not in self.services:
            self.log.warning(
                "alertmanager:404", "alertmanager: refused a request with a wrong path from %s", request.remote
            )
            raise web.HTTPNotFound()
        try:
            payload = parse(json.loads(await request.read()))
        except (ValueError, RecursionError) as exc:  # PayloadError is a ValueError too
            reason = str(exc) if isinstance(exc, PayloadError) else "body: not JSON"
            self.log.warning("alertmanager:400", "alertmanager: refused a payload: %s", reason)
            self._count(service, "400")
            return web.json_response({"ok": False, "error": reason}, status=400)
        applied = self.receiver.apply(service, payload)
        self._count(service, "accepted")
        return web.json_response({"ok": True, "taken": applied.taken, "ignored": applied.ignored})

    def _count(self, service: str, result: str) -> None:
        if self.metrics is not None:
            self.metrics.signal(service, f"alertmanager:{result}")
