"""Slack transport for incident threads: post the parent, reply in its thread, edit it in place.

Slack's answers become the delivery worker's three outcomes: 429 and 5xx are `RetryLater` (with
Slack's Retry-After), configuration errors are `SinkMisconfigured` (reported once), and messages
Slack will never accept are `Undeliverable`. Every post carries message metadata holding its outbox
key, so a post whose answer was lost is found in the channel (or thread) and not posted again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.base import Delivery, RetryLater, SinkMisconfigured, ThreadRef, Undeliverable
from bot.chat.slack import render
from bot.clock import Clock
from bot.delivery.pacing import Pacer
from bot.engine.views import EntryView, IncidentCard
from bot.postmortem.draft import Draft

log = logging.getLogger(__name__)

CONFIG_ERRORS = {
    "invalid_auth": "SLACK_BOT_TOKEN is wrong or was revoked",
    "not_authed": "SLACK_BOT_TOKEN is missing",
    "account_inactive": "the bot's token belongs to a deactivated app or user",
    "token_revoked": "SLACK_BOT_TOKEN was revoked; reinstall the app",
    "token_expired": "SLACK_BOT_TOKEN expired; reinstall the app",
    "missing_scope": "the app lacks a scope; reinstall it from slack/manifest.json",
    "channel_not_found": "SLACK_CHANNEL is not a channel the bot can see (use the id, C…)",
    "not_in_channel": "the bot is not in SLACK_CHANNEL; type /invite @statusbot there",
    "is_archived": "SLACK_CHANNEL is archived",
    "restricted_action": "the workspace does not let the bot post in SLACK_CHANNEL",
}
NEVER_ACCEPTED = {
    "msg_too_long",
    "invalid_blocks",
    "invalid_blocks_format",
    "no_text",
    "invalid_arguments",
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "metadata_too_large",
}
LOOKBACK = 200
LOOKUP_PAGES = 10  # 2,000 messages: a parent is near the top of the channel, a reply may end a long thread


class SlackSink:
    name = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        clock: Clock,
        pacer: Pacer | None = None,
        mentions: dict[str, str] | None = None,
        route: Callable[[IncidentCard], str] | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.route = route or (lambda incident: channel)  # which channel a new incident's thread goes to
        self.clock = clock
        self.pacer = pacer or Pacer(1.0)
        self.mentions = mentions or {}  # entry kind -> who to call (reminders, escalations)

    async def open_thread(self, incident: IncidentCard, delivery: Delivery) -> ThreadRef:
        channel = self.route(incident)
        if delivery.maybe_sent:
            found = await self._find(delivery.key, channel, parent=None)
            if found:
                log.info("slack: parent of #%s was already posted (ts %s); not posting again", incident.id, found)
                return ThreadRef(channel, found)
        answer = await self._call(
            "chat_postMessage",
            ready=delivery.ready,
            channel=channel,
            text=render.parent_text(incident),
            blocks=render.parent_blocks(incident, self.clock.now()),
            metadata=render.metadata(delivery.key, incident.id),
            unfurl_links=False,
            unfurl_media=False,
        )
        return ThreadRef(answer["channel"], answer["ts"])

    async def post_update(
        self, thread: ThreadRef, incident: IncidentCard, entry: EntryView, delivery: Delivery
    ) -> None:
        if delivery.maybe_sent and await self._find(delivery.key, thread.channel, parent=thread.parent):
            return
        await self._call(
            "chat_postMessage",
            ready=delivery.ready,
            channel=thread.channel,
            thread_ts=thread.parent,
            text=render.entry_text(incident, entry, self.mentions),
            blocks=render.entry_blocks(incident, entry, self.mentions),
            reply_broadcast=entry.resolves,
            metadata=render.metadata(delivery.key, incident.id),
            unfurl_links=False,
            unfurl_media=False,
        )

    async def refresh(self, thread: ThreadRef, incident: IncidentCard) -> None:
        await self._call(
            "chat_update",
            channel=thread.channel,
            ts=thread.parent,
            text=render.parent_text(incident),
            blocks=render.parent_blocks(incident, self.clock.now()),
        )

    async def post_postmortem(
        self, thread: ThreadRef, incident: IncidentCard, draft: Draft, delivery: Delivery
    ) -> None:
        name = f"{draft.basename}.md"
        if delivery.maybe_sent and await self._has_file(thread, name):
            return
        await self._call(
            "files_upload_v2",
            ready=delivery.ready,
            channel=thread.channel,
            thread_ts=thread.parent,
            initial_comment=render.escape(
                f"Postmortem draft for #{incident.id}, with every fact "
                "statusbot recorded. The sections marked ✍️ are yours."
            ),
            file_uploads=[
                {"content": draft.markdown, "filename": name, "title": f"Postmortem #{incident.id}"},
                {
                    "content": draft.chart_png,
                    "filename": f"{draft.basename}.png",
                    "title": "Probe latency and error rate",
                },
            ],
        )

    async def _has_file(self, thread: ThreadRef, name: str) -> bool:
        answer = await self._call(
            "conversations_replies", paced=False, channel=thread.channel, ts=thread.parent, limit=LOOKBACK
        )
        return any(f.get("name") == name for m in answer.get("messages", []) for f in m.get("files") or [])

    async def aclose(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None and not session.closed:
            await session.close()

    async def _find(self, key: str, channel: str, parent: str | None) -> str | None:
        """The ts of the message that carries this outbox key, if an earlier attempt posted it. The
        channel is read newest first, a thread oldest first (so a busy thread is read page by page,
        up to LOOKUP_PAGES pages)."""
        method = "conversations_history" if parent is None else "conversations_replies"
        args: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": LOOKBACK}
        if parent is not None:
            args["ts"] = parent
        for _ in range(LOOKUP_PAGES):
            answer = await self._call(method, paced=False, **args)
            for message in answer.get("messages", []):
                meta = message.get("metadata") or {}
                if meta.get("event_type") == render.EVENT_TYPE and meta.get("event_payload", {}).get("key") == key:
                    return str(message["ts"])
            args["cursor"] = (answer.get("response_metadata") or {}).get("next_cursor")
            if not (answer.get("has_more") and args["cursor"]):
                return None
        return None

    async def check(self) -> None:
        """Slack's cheapest call, `auth.test`: raises while Slack is unreachable (the sink-health stage)."""
        await self._call("auth_test", paced=False)

    async def _call(self, method: str, paced: bool = True, ready: Callable[[], None] | None = None, **args: Any) -> Any:
        """`ready` (a post's fence) is asked last, after the pacing wait: a leader that lost the lease
        while it waited, or while it looked an earlier attempt up, raises here and posts nothing."""
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession()  # one pool of connections, not one per post
        if paced:
            await self.pacer.wait(args["channel"])
        if ready is not None:
            ready()
        try:
            return await getattr(self.client, method)(**args)
        except SlackApiError as exc:
            raise self._classify(method, args.get("channel", self.channel), exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RetryLater(f"{method}: {type(exc).__name__}: {exc}") from None

    def _classify(self, method: str, channel: str, exc: SlackApiError) -> Exception:
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        if status == 429 or error in ("ratelimited", "rate_limited"):
            wait = float(exc.response.headers.get("Retry-After", 1) or 1)
            self.pacer.hold(channel, wait)
            return RetryLater(f"{method}: rate limited", retry_after=wait)
        if error in CONFIG_ERRORS:
            return SinkMisconfigured(f"Slack {method} said {error}: {CONFIG_ERRORS[error]}")
        if error in NEVER_ACCEPTED:
            return Undeliverable(f"Slack {method} said {error}")
        return RetryLater(f"{method}: HTTP {status} {error or 'error'}")
