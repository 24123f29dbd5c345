"""Webhook-only mode: alerts (no commands, no buttons) through a channel webhook, with plain aiohttp.

Every post asks `wait=true`, so Discord answers with the message and the alert can be edited later
(`PATCH /webhooks/{id}/{token}/messages/{message_id}`). Where the channel allows a thread (a forum
channel: `thread_name` on the first post creates the post's thread, then `thread_id`), updates go
there; in a text channel a webhook cannot start a thread, so updates are plain messages that name
the incident. Which kind of channel it is, Discord says on the first alert (220001 / 220003).

Rate limits are honoured by `RateGate` (see there). Idempotency, honestly: execute-webhook takes no
nonce and a webhook token cannot read the channel, so a post whose answer was lost cannot be found.
Its retry is sent (at-least-once) and, when an earlier attempt may have landed, it says so in its
footer and in the log. A retry after a 4xx, 429, 502 or 503 answer is known not to duplicate and is not marked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
import discord

from bot.chat.base import Delivery, RetryLater, ThreadRef
from bot.chat.discord import render
from bot.chat.discord.errors import FORUM_NEEDS_THREAD, NOT_A_FORUM, Where, classify
from bot.chat.discord.ratelimit import RateGate
from bot.clock import Clock
from bot.engine.views import EntryView, IncidentCard
from bot.postmortem.draft import Draft

log = logging.getLogger(__name__)
URL = re.compile(r"/webhooks/(?P<id>[0-9]+)/(?P<token>[A-Za-z0-9_.\-]+)")
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
TRIES = 4
NOT_PROCESSED = {502, 503}  # "no gateway available to process your request", "unavailable"
TIMEOUT = aiohttp.ClientTimeout(total=10)
Files = list[tuple[str, bytes]]


def parse_webhook_url(url: str) -> tuple[str, str]:
    found = URL.search(url)
    if found is None:
        raise ValueError("DISCORD_WEBHOOK_URL: must be a channel webhook URL (…/api/webhooks/ID/TOKEN)")
    return found["id"], found["token"]


class _ChannelKind(Exception):
    def __init__(self, forum: bool) -> None:
        super().__init__("forum" if forum else "text channel")
        self.forum = forum


class WebhookSink:
    name = "discord"

    def __init__(
        self,
        webhook_url: str,
        api_url: str,
        clock: Clock,
        gate: RateGate | None = None,
        mentions: Mapping[str, render.Calling] | None = None,
    ) -> None:
        hook_id, token = parse_webhook_url(webhook_url)
        self._base = f"{api_url.rstrip('/')}/webhooks/{hook_id}/{token}"
        self.clock = clock
        self.mentions = dict(mentions or {})  # entry kind -> who it pings (reminders, escalations)
        self.gate = gate or RateGate()
        self.forum: bool | None = None  # learnt from Discord on the first alert
        self._session: aiohttp.ClientSession | None = None
        self._refused: set[str] = set()  # outbox keys whose last attempt Discord answered with an error

    async def open_thread(self, incident: IncidentCard, delivery: Delivery) -> ThreadRef:
        embed = self._embed(render.card_embed(incident, self.clock.now()), delivery, "alert")
        body = {"embeds": [embed.to_dict()], "allowed_mentions": NO_MENTIONS}
        for _ in range(2):
            extra = {"thread_name": render.thread_name(incident)} if self.forum else {}
            try:
                sent = await self._send(
                    "POST", "", {**body, **extra}, Where("post the alert", webhook=True), delivery.key
                )
            except _ChannelKind as kind:
                self.forum = kind.forum
                continue
            thread = str(sent["channel_id"]) if self.forum else None
            return ThreadRef(str(sent["channel_id"]), str(sent["id"]), thread)
        raise RetryLater("the webhook's channel changed kind twice in a row")

    async def post_update(
        self, thread: ThreadRef, incident: IncidentCard, entry: EntryView, delivery: Delivery
    ) -> None:
        embed = self._embed(
            render.entry_embed(incident, entry, standalone=thread.thread is None), delivery, f"update of #{incident.id}"
        )
        body = {"embeds": [embed.to_dict()], **_calling(self.mentions.get(entry.kind))}
        where = Where("post an update", in_thread=thread.thread is not None, webhook=True)
        await self._send("POST", "", body, where, delivery.key, thread=thread.thread)

    async def post_postmortem(
        self, thread: ThreadRef, incident: IncidentCard, draft: Draft, delivery: Delivery
    ) -> None:
        chart = f"{draft.basename}.png"
        embed = self._embed(
            render.postmortem_embed(incident, chart, standalone=thread.thread is None),
            delivery,
            f"postmortem of #{incident.id}",
        )
        files = [(f"{draft.basename}.md", draft.markdown.encode("utf-8")), (chart, draft.chart_png)]
        body = {"embeds": [embed.to_dict()], "allowed_mentions": NO_MENTIONS}
        where = Where("post the postmortem draft", in_thread=thread.thread is not None, webhook=True)
        await self._send("POST", "", body, where, delivery.key, thread=thread.thread, files=files)

    async def refresh(self, thread: ThreadRef, incident: IncidentCard) -> None:
        body = {"embeds": [render.card_embed(incident, self.clock.now()).to_dict()], "allowed_mentions": NO_MENTIONS}
        await self._send(
            "PATCH",
            f"/messages/{thread.parent}",
            body,
            Where("edit the alert", webhook=True),
            None,
            thread=thread.thread,
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _embed(self, embed: discord.Embed, delivery: Delivery, what: str) -> discord.Embed:
        if not delivery.maybe_sent or delivery.key in self._refused:
            return embed
        log.warning(
            "discord: the %s may already be in the channel (an earlier answer was lost, and a webhook "
            "cannot look its messages up); sending it again, marked",
            what,
        )
        return render.mark_resent(embed)

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        where: Where,
        key: str | None,
        thread: str | None = None,
        files: Files | None = None,
    ) -> dict[str, Any]:
        params = {"wait": "true"} if method == "POST" else {}
        if thread is not None:
            params["thread_id"] = thread
        status, data = await self._request(method, path, params, body, where, files or [])
        if status < 300:
            self._refused.discard(key or "")
            return data
        if key is not None and (status < 500 or status in NOT_PROCESSED):
            self._refused.add(key)  # this attempt surely posted nothing
        elif key is not None:
            self._refused.discard(key)  # a 500 or a 504 may come after the post was made
        raise self._refusal(status, data, where)

    async def _request(
        self, method: str, path: str, params: dict[str, str], body: dict[str, Any], where: Where, files: Files
    ) -> tuple[int, dict[str, Any]]:
        """Discord's answer, after waiting out rate limits; a lost answer is `RetryLater`."""
        status, data = 429, {}
        for _ in range(TRIES):
            await self.gate.wait(method)
            content: dict[str, Any] = {"data": _form(body, files)} if files else {"json": body}
            try:
                async with self._http().request(method, self._base + path, params=params, **content) as response:
                    self.gate.update(method, response.headers)
                    status, data = response.status, await _json(response)
                    if status != 429:
                        return status, data
                    self._limited(method, response, data)
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise RetryLater(f"{where.what}: {type(exc).__name__}: {exc}") from None
        return status, data

    def _limited(self, bucket: str, response: aiohttp.ClientResponse, data: dict[str, Any]) -> None:
        retry_after = float(data.get("retry_after") or response.headers.get("Retry-After") or 1.0)
        is_global = bool(data.get("global")) or response.headers.get("X-RateLimit-Global") == "true"
        self.gate.limited(bucket, retry_after, is_global)

    @staticmethod
    def _refusal(status: int, data: dict[str, Any], where: Where) -> Exception:
        code = int(data.get("code") or 0)
        if code == FORUM_NEEDS_THREAD:
            return _ChannelKind(forum=True)
        if code == NOT_A_FORUM:
            return _ChannelKind(forum=False)
        detail = str(data.get("message", "")) + (f" {data['errors']}" if "errors" in data else "")
        return classify(status, code, detail, where, _float(data.get("retry_after")))

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session


def _calling(calling: render.Calling | None) -> dict[str, Any]:
    """Nobody is pinged, unless this entry calls the on-call (then exactly them)."""
    if calling is None or not calling.text:
        return {"allowed_mentions": NO_MENTIONS}
    return {"content": calling.text, "allowed_mentions": calling.allowed().to_dict()}


def _form(body: dict[str, Any], files: Files) -> aiohttp.FormData:
    """A multipart body (a new one per attempt: aiohttp sends a FormData once)."""
    form = aiohttp.FormData(quote_fields=False)
    payload = {**body, "attachments": [{"id": i, "filename": name} for i, (name, _) in enumerate(files)]}
    form.add_field("payload_json", json.dumps(payload))  # a plain field, as discord.py sends it
    for index, (name, data) in enumerate(files):
        form.add_field(f"files[{index}]", data, filename=name, content_type="application/octet-stream")
    return form


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        data = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {"message": (await response.text())[:200]}
    return data if isinstance(data, dict) else {"message": str(data)[:200]}
