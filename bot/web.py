"""The HTTP server: health, metrics and the Statuspage webhooks (chat platforms add their own routes)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.engine.events import ComponentObserved
from bot.engine.incidents import IncidentEngine
from bot.inputs import BadInput, read_json
from bot.logs import Throttled
from bot.metrics import Metrics
from bot.sources.statuspage.parse import ParseError, parse_webhook

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 1024 * 1024


def build_web_app(
    engine: IncidentEngine,
    services: list[str],
    webhook_secret: str | None,
    health: Callable[[], dict[str, object]],
    metrics: Metrics,
) -> web.Application:
    """`/webhooks/statuspage/<secret>` feeds the first service, `/webhooks/statuspage/<service>/<secret>`
    any declared one."""
    app = web.Application(client_max_size=MAX_WEBHOOK_BYTES)
    app.router.add_get("/healthz", _healthz(health))
    app.router.add_get("/metrics", _metrics(metrics))
    webhook = _statuspage_webhook(engine, services, webhook_secret, Throttled(log))
    app.router.add_post("/webhooks/statuspage/{secret}", webhook)
    app.router.add_post("/webhooks/statuspage/{service}/{secret}", webhook)
    return app


def _metrics(metrics: Metrics) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handler


def _healthz(health: Callable[[], dict[str, object]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        report = health()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    return handler


def _statuspage_webhook(engine: IncidentEngine, services: list[str], secret: str | None, refused: Throttled) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        given = request.match_info["secret"]
        service = request.match_info.get("service", services[0])
        if secret is None or not hmac.compare_digest(given.encode(), secret.encode()) or service not in services:
            refused.warning(
                "webhook.secret", "statuspage webhook: refused a request with a wrong secret from %s", request.remote
            )
            raise web.HTTPNotFound()
        try:
            event = parse_webhook(read_json(await request.read(), "webhook", max_bytes=MAX_WEBHOOK_BYTES), service)
        except (BadInput, ParseError) as exc:
            refused.warning(f"webhook.{exc.kind}", "statuspage webhook: ignored a bad payload: %s", exc)
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        if isinstance(event, ComponentObserved):
            engine.apply_components([event])
        else:
            engine.apply_incident(event)
        return web.json_response({"ok": True})

    return handler
