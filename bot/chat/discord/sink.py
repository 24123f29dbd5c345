"""Discord transport for incident threads on the bot path: the alert, its thread, edits in place.

The alert is one message in DISCORD_CHANNEL_ID with the incident's embed and buttons; a public thread
started on it carries every update; the alert is edited as the incident changes. `ThreadRef.parent`
is the alert's message id and `ThreadRef.thread` the thread's id.

Idempotency: every post carries the message `nonce` (the outbox key, scoped to the target channel)
with `enforce_nonce`, so a retry after a lost answer or a crash gets the message Discord already
made instead of a second one, for as long as Discord remembers nonces ("the past few minutes"). A
thread that already exists on the alert (160004) is the thread we asked for. An alert posted whose
thread could not be started yet is remembered, so fixing the permission does not post it twice.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import aiohttp
import discord
from discord.http import HTTPClient, Route, handle_message_parameters

from bot.chat.base import Delivery, RetryLater, ThreadRef
from bot.chat.discord import render
from bot.chat.discord.buttons import card_view
from bot.chat.discord.client import DiscordConnection
from bot.chat.discord.errors import THREAD_EXISTS, MissingPermission, Where, classify
from bot.clock import Clock
from bot.engine.views import EntryView, IncidentCard
from bot.postmortem.draft import Draft

log = logging.getLogger(__name__)
# minutes (7 days): long incidents keep their thread open; posting reopens it anyway
ARCHIVE_AFTER: Literal[60, 1440, 4320, 10080] = 10080
NONE = discord.AllowedMentions.none()
NONCE_LIMIT = 25


def nonce(channel: int, key: str) -> str:
    """The outbox key, scoped to the target channel so two deployments sharing a token cannot collide."""
    scoped = f"{_base36(channel)}.{key}"
    return scoped if len(scoped) <= NONCE_LIMIT else key[-NONCE_LIMIT:]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


class DiscordSink:
    name = "discord"

    def __init__(
        self,
        connection: DiscordConnection,
        channel_id: int,
        clock: Clock,
        mentions: Mapping[str, render.Calling] | None = None,
        route: Callable[[IncidentCard], int] | None = None,
    ) -> None:
        self.connection = connection
        self.channel_id = channel_id
        self.route = route or (lambda incident: channel_id)  # which channel a new incident's alert goes to
        self.clock = clock
        self.mentions = dict(mentions or {})  # entry kind -> who it pings (reminders, escalations)
        self._alerts_without_thread: dict[str, int] = {}  # outbox key -> alert message id

    async def open_thread(self, incident: IncidentCard, delivery: Delivery) -> ThreadRef:
        channel = self.route(incident)
        alert = self._alerts_without_thread.get(delivery.key)
        if alert is None:
            params = handle_message_parameters(
                embed=render.card_embed(incident, self.clock.now()),
                view=card_view(incident),
                nonce=nonce(channel, delivery.key),
                allowed_mentions=NONE,
            )
            sent = await self._call(Where("post the alert"), lambda http: http.send_message(channel, params=params))
            alert = int(sent["id"])
            self._alerts_without_thread[delivery.key] = alert
        thread = await self._start_thread(channel, alert, incident)
        self._alerts_without_thread.pop(delivery.key, None)
        return ThreadRef(str(channel), str(alert), str(thread))

    async def _start_thread(self, channel: int, alert: int, incident: IncidentCard) -> int:
        name = render.thread_name(incident)
        where = Where("start the incident's thread")
        try:
            started = await self._call(
                where,
                lambda http: http.start_thread_with_message(
                    channel, alert, name=name, auto_archive_duration=ARCHIVE_AFTER
                ),
            )
        except _AlreadyThere:
            return alert  # a thread started from a message has the message's id
        return int(started["id"])

    async def post_update(
        self, thread: ThreadRef, incident: IncidentCard, entry: EntryView, delivery: Delivery
    ) -> None:
        target = int(thread.thread or thread.channel)
        embed = render.entry_embed(incident, entry, standalone=thread.thread is None)
        calling = self.mentions.get(entry.kind, render.Calling())
        params = handle_message_parameters(
            content=calling.text or None,
            embed=embed,
            nonce=nonce(target, delivery.key),
            allowed_mentions=calling.allowed() if calling.text else NONE,
        )
        where = Where("post an update in the incident's thread", in_thread=thread.thread is not None)
        await self._call(where, lambda http: http.send_message(target, params=params))

    async def post_postmortem(
        self, thread: ThreadRef, incident: IncidentCard, draft: Draft, delivery: Delivery
    ) -> None:
        """The draft as a Markdown attachment and its chart in the message, in the incident's thread; without
        Attach Files, the draft's text in the message instead (the updates keep flowing meanwhile)."""
        target = int(thread.thread or thread.channel)
        standalone, chart = thread.thread is None, f"{draft.basename}.png"
        files = [
            discord.File(io.BytesIO(draft.markdown.encode("utf-8")), filename=f"{draft.basename}.md"),
            discord.File(io.BytesIO(draft.chart_png), filename=chart),
        ]
        where = Where("post the postmortem draft", in_thread=not standalone)
        attached = handle_message_parameters(
            embed=render.postmortem_embed(incident, chart, standalone=standalone),
            files=files,
            nonce=nonce(target, delivery.key),
            allowed_mentions=NONE,
        )
        try:
            await self._call(where, lambda http: http.send_message(target, params=attached))
        except MissingPermission as exc:
            log.warning("discord: %s; posting the draft's text instead", exc)
            inline = handle_message_parameters(
                embed=render.postmortem_inline(incident, draft.markdown, standalone),
                nonce=nonce(target, delivery.key),
                allowed_mentions=NONE,
            )
            await self._call(where, lambda http: http.send_message(target, params=inline))

    async def refresh(self, thread: ThreadRef, incident: IncidentCard) -> None:
        params = handle_message_parameters(
            embed=render.card_embed(incident, self.clock.now()), view=card_view(incident), allowed_mentions=NONE
        )
        await self._call(
            Where("edit the alert"),
            lambda http: http.edit_message(int(thread.channel), int(thread.parent), params=params),
        )

    async def check(self) -> None:
        """Discord's cheapest call, `GET /users/@me`: raises while Discord is unreachable."""
        await self._call(Where("check the connection"), lambda http: http.request(Route("GET", "/users/@me")))

    async def aclose(self) -> None:
        """The platform closes the client (and with it the HTTP session)."""

    async def _call(self, where: Where, request: Callable[[HTTPClient], Awaitable[Any]]) -> Any:
        http = await self.connection.http()
        try:
            return await request(http)
        except discord.RateLimited as exc:  # longer than discord.py waits in line: the outbox waits instead
            raise RetryLater(f"{where.what}: rate limited", retry_after=exc.retry_after) from None
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:
                raise _AlreadyThere from None
            raise classify(exc.status, exc.code, exc.text, where, _retry_after(exc)) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RetryLater(f"{where.what}: {type(exc).__name__}: {exc}") from None


class _AlreadyThere(Exception):
    """Discord says the alert already has a thread (an earlier attempt started it)."""


def _retry_after(exc: discord.HTTPException) -> float | None:
    """A 429 that discord.py did not retry (no `Via`: Cloudflare): its Retry-After header."""
    raw = exc.response.headers.get("Retry-After") if exc.status == 429 else None
    try:
        return float(raw) if raw else None
    except ValueError:
        return None
