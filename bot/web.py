"""The HTTP server: health, the Statuspage webhook (later: Slack events, metrics)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from aiohttp import web

from bot.engine.events import ComponentObserved
from bot.engine.incidents import IncidentEngine
from bot.sources.statuspage.parse import ParseError, parse_webhook

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 1024 * 1024


def build_web_app(engine: IncidentEngine, service: str, webhook_secret: str | None,
                  health: Callable[[], dict[str, object]]) -> web.Application:
    app = web.Application(client_max_size=MAX_WEBHOOK_BYTES)
    app.router.add_get("/healthz", _healthz(health))
    app.router.add_post("/webhooks/statuspage/{secret}", _statuspage_webhook(engine, service, webhook_secret))
    return app


def _healthz(health: Callable[[], dict[str, object]]) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.Response:
        report = health()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    return handler


def _statuspage_webhook(engine: IncidentEngine, service: str,
                        secret: str | None) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.Response:
        given = request.match_info["secret"]
        if secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("statuspage webhook: refused a request with a wrong secret from %s", request.remote)
            raise web.HTTPNotFound()
        try:
            event = parse_webhook(json.loads(await request.read()), service)
        except (ValueError, ParseError) as exc:
            log.warning("statuspage webhook: ignored a bad payload: %s", str(exc).splitlines()[0][:200])
            return web.json_response({"ok": False, "error": "unrecognised payload"}, status=400)
        if isinstance(event, ComponentObserved):
            engine.apply_components([event])
        else:
            engine.apply_incident(event)
        return web.json_response({"ok": True})

    return handler
