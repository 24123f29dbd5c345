"""A loopback server that answers like a Statuspage's public API, from documents given to it.

Used by `statusbot demo` (offline replay) and, with faults added, by the tests. It serves GET only,
sends a weak ETag and honours `If-None-Match` with 304, as status.claude.com does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web


class PageServer:
    def __init__(self, documents: Callable[[], dict[str, Any]]) -> None:
        self.documents = documents
        self.requests: list[tuple[str, int]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> PageServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        response = await self.respond(request)
        self.requests.append((request.path, response.status))
        return response

    async def respond(self, request: web.Request) -> web.StreamResponse:
        if request.method != "GET":
            return web.json_response({"error": "method not allowed"}, status=405)
        document = self.documents().get(request.path)
        if document is None:
            return web.Response(status=404, text="<html><body>Page not found</body></html>", content_type="text/html")
        body = json.dumps(document).encode()
        etag = f'W/"{hashlib.sha1(body).hexdigest()}"'
        headers = {"ETag": etag, "Cache-Control": "max-age=10, public"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers, content_type="application/json")
