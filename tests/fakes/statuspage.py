"""A loopback Statuspage: the package's page server plus the faults real pages show.

Faults apply to the next request(s): an HTML error page (a CDN in front of the page), truncated
JSON, HTTP 500, a stall past the client's timeout, a connection dropped without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from typing import Any

from aiohttp import web

from bot.demo.page_server import PageServer

FAULTS = ("html", "truncated", "500", "stall", "drop")


class FakeStatuspage(PageServer):
    def __init__(self, incidents: dict[str, Any] | None = None, summary: dict[str, Any] | None = None) -> None:
        super().__init__(self._documents)
        self.incidents: dict[str, Any] = incidents or {"page": {"id": "p"}, "incidents": []}
        self.summary: dict[str, Any] = summary or {"page": {"id": "p"}, "components": []}
        self._faults: list[str] = []
        self.history: list[dict[str, Any]] = []  # what ?page=N serves (default: the incidents document)
        self.stall_seconds = 5.0
        self.stalled = 0  # requests a stall has started holding
        self._release = asyncio.Event()  # ends every stall early
        self.feed: str | None = None  # what /history.atom serves (Atom XML), with an ETag
        self.api_down = False  # the JSON API answers a CDN's HTML 502 page; the feed still answers

    def _documents(self) -> dict[str, Any]:
        return {"/api/v2/incidents.json": self.incidents, "/api/v2/summary.json": self.summary}

    def serve(self, incidents: dict[str, Any] | None = None, summary: dict[str, Any] | None = None) -> None:
        if incidents is not None:
            self.incidents = incidents
        if summary is not None:
            self.summary = summary

    def _paged(self, request: web.Request) -> web.Response:
        """`?page=N&per_page=M` over all incidents, newest first, as Statuspage pages its history."""
        try:
            page, per_page = int(request.query["page"]), int(request.query.get("per_page", "100"))
        except ValueError:
            return web.json_response({"error": "bad paging"}, status=400)
        if page < 1 or not 1 <= per_page <= 100:
            return web.json_response({"error": "bad paging"}, status=400)
        items = self.history or self.incidents["incidents"]
        chunk = items[(page - 1) * per_page : page * per_page]
        return web.json_response({"page": self.incidents.get("page", {}), "incidents": chunk})

    def serve_scenario(self, scenario: Any, minute: float) -> None:
        """The demo scenario's incidents.json and summary.json as they stood at `minute`."""
        docs = scenario.documents(minute)
        self.serve(incidents=docs["/api/v2/incidents.json"], summary=docs["/api/v2/summary.json"])

    def release(self) -> None:
        """Answer the requests a stall is holding, now."""
        self._release.set()

    def fault(self, kind: str, times: int = 1) -> None:
        assert kind in FAULTS, kind
        self._faults += [kind] * times

    async def respond(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/history.atom" and self.feed is not None:
            return _conditional(request, self.feed.encode(), "application/atom+xml")
        if self.api_down and request.path.startswith("/api/"):
            return web.Response(status=502, content_type="text/html", text="<html><h1>502 Bad Gateway</h1></html>")
        if "page" in request.query and request.path == "/api/v2/incidents.json" and not self._faults:
            return self._paged(request)
        if not self._faults:
            return await super().respond(request)
        kind = self._faults.pop(0)
        if kind == "html":
            return web.Response(
                status=200,
                content_type="text/html",
                text="<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
            )
        if kind == "truncated":
            body = json.dumps(self._documents().get(request.path, {}))
            return web.Response(status=200, content_type="application/json", text=body[: len(body) // 2])
        if kind == "500":
            return web.json_response({"error": "Internal Server Error"}, status=500)
        if kind == "stall":
            self.stalled += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.stall_seconds)
            return await super().respond(request)
        assert request.transport is not None
        request.transport.close()  # "drop": no answer at all
        return web.Response(status=500)


def _conditional(request: web.Request, body: bytes, content_type: str) -> web.Response:
    etag = f'W/"{hashlib.sha1(body).hexdigest()}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, headers={"ETag": etag}, content_type=content_type)
