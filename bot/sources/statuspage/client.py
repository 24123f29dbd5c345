"""HTTP access to a Statuspage's public JSON API and its Atom feed: timeouts, conditional requests
(ETag / If-None-Match), one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot import tls
from bot.inputs import BadInput, read_json

USER_AGENT = "statusbot/0.1 (+https://github.com/statusbot/statusbot)"


class FetchError(Exception):
    """The page could not be read; the message is one line fit for a log."""


@dataclass
class Document:
    body: Any
    etag: str | None


class StatuspageClient:
    """Fetches JSON documents and remembers each one's ETag and body for `If-None-Match`."""

    def __init__(self, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
            verify=tls.context(),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        self._cache: dict[str, Document] = {}

    async def fetch(self, path: str, params: dict[str, Any] | None = None) -> tuple[Document, bool]:
        """(document, changed). A 304 answers the cached document with changed=False."""
        return await self._fetch(path, params, _json, {})

    async def fetch_feed(self, path: str) -> tuple[Document, bool]:
        """An Atom feed, its body the XML text; conditional like `fetch`."""
        return await self._fetch(path, None, _xml, {"Accept": "application/atom+xml, application/xml"})

    async def _fetch(
        self,
        path: str,
        params: dict[str, Any] | None,
        read: Callable[[httpx.Response, str], Any],
        headers: dict[str, str],
    ) -> tuple[Document, bool]:
        url = f"{self.base_url}{path}"
        cached = self._cache.get(path) if params is None else None
        headers = {**headers, "If-None-Match": cached.etag} if cached and cached.etag else headers
        try:
            response = await self._http.get(url, headers=headers, params=params)
        except httpx.TimeoutException:
            raise FetchError(f"GET {url}: timed out") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 304 and cached is not None:
            return cached, False
        document = Document(read(response, url), response.headers.get("ETag"))
        if params is None:
            self._cache[path] = document
        return document, True

    def forget(self) -> None:
        """Drop cached documents, so the next fetch is unconditional (after a failed apply)."""
        self._cache.clear()

    async def aclose(self) -> None:
        await self._http.aclose()


def _json(response: httpx.Response, url: str) -> Any:
    if response.status_code != 200:
        raise FetchError(f"GET {url}: HTTP {response.status_code} {_snippet(response.text)}")
    kind = response.headers.get("Content-Type", "")
    try:
        return read_json(response.content, f"GET {url}")
    except BadInput as exc:
        why = "not JSON" if exc.kind in ("not-json", "not-utf8") else str(exc).removeprefix(f"GET {url}: ")
        raise FetchError(f"GET {url}: {why} ({kind or 'no content type'}): {_snippet(response.text)}") from None


def _xml(response: httpx.Response, url: str) -> str:
    if response.status_code != 200:
        raise FetchError(f"GET {url}: HTTP {response.status_code} {_snippet(response.text)}")
    return response.text


def _snippet(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat[:limit] + ("…" if len(flat) > limit else ""))
