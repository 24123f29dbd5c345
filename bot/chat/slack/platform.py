"""Slack for statusbot: slack-bolt's AsyncApp on the bot's own aiohttp server (`POST /slack/events`,
Slack's v0 signature checked by Bolt) or over Socket Mode when `SLACK_APP_TOKEN` is set.

Slash commands and buttons go to the chat-agnostic command layer; this file only turns Slack
payloads into a `CommandContext` and `Answer`s into Block Kit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.deadline import Pending, Reply, answer_within
from bot.chat.routing import Router
from bot.chat.slack import payload, render
from bot.chat.slack.settings import SlackSettings
from bot.chat.slack.sink import SlackSink
from bot.clock import Clock
from bot.commands.context import Answer, CommandContext, Services
from bot.commands.dispatch import dispatch
from bot.commands.responders import Responders
from bot.config import Settings
from bot.delivery.pacing import Pacer
from bot.engine.events import Actor
from bot.logs import Throttled

log = logging.getLogger(__name__)
GROUP_TTL = 300.0
SOCKET_CONNECT_WAIT = 15
BUTTON_COMMANDS = {
    render.ACK: "ack",
    render.RESOLVE: "resolve",
    render.SNOOZE: "snooze",
    render.POSTMORTEM: "postmortem",
}


def message(answer: Answer) -> dict[str, Any]:
    return {
        "text": render.cut(render.escape(answer.text), render.FALLBACK_LIMIT),
        "blocks": render.answer_blocks(answer),
        "response_type": "ephemeral" if answer.ephemeral else "in_channel",
    }


class UserGroup:
    """The members of the responders' user group, read from Slack at most every `GROUP_TTL` seconds."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._members: frozenset[str] = frozenset()
        self._fetched = float("-inf")

    async def has(self, actor: Actor, group: str) -> bool:
        if time.monotonic() - self._fetched > GROUP_TTL:
            try:
                answer = await self.client.usergroups_users_list(usergroup=group)
                self._members, self._fetched = frozenset(answer.get("users", [])), time.monotonic()
            except SlackApiError as exc:
                log.error("slack: cannot read user group %s: %s", group, exc.response.get("error"))
        return actor.id in self._members


class SlackPlatform:
    name = "slack"
    leader_only = False  # HTTP events reach any replica; Socket Mode allows 10 connections per app

    def __init__(self, settings: Settings, slack: SlackSettings, router: Router, clock: Clock) -> None:
        assert slack.slack_bot_token is not None and slack.slack_channel is not None
        self.settings, self.slack = settings, slack
        # No automatic retries in the client: the outbox retries, and a blind retry of a post whose
        # answer was lost would post it twice.
        self.client = AsyncWebClient(
            token=slack.slack_bot_token.get_secret_value(), base_url=str(slack.slack_api_url), retry_handlers=[]
        )
        mentions = {
            "reminder": render.mention(slack.slack_oncall),
            "escalation": render.mention(slack.slack_escalation or slack.slack_oncall),
        }
        self.sink = SlackSink(
            self.client,
            slack.slack_channel,
            clock,
            mentions=mentions,
            route=router.channel,
            pacer=Pacer(slack.slack_post_interval),
        )
        responders = Responders(settings.responder_ids, slack.slack_responder_group)
        self.may_act = responders.check(UserGroup(self.client).has)
        self.services = {s.slash: s.name for s in settings.effective_services()}  # command -> service
        self.commands = tuple(self.services)
        self.actions = tuple(BUTTON_COMMANDS)
        self.app: AsyncApp | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.pending = Pending()
        self.refused = Throttled(log)

    def bind(self, services: Services) -> None:
        secret = self.slack.slack_signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else None,
            request_verification_enabled=secret is not None,
            # Listeners ack themselves within budget and push slow work to a task, so
            # Bolt can answer as soon as they return instead of polling for the ack.
            process_before_response=True,
        )
        for command, service in self.services.items():
            self.app.command(command)(self._command_listener(services, service))
        for action_id in self.actions:
            self.app.action(action_id)(self._button_listener(services, BUTTON_COMMANDS[action_id]))

    def routes(self) -> list[web.RouteDef]:
        if self.slack.slack_app_token is not None:
            return []
        return [web.post("/slack/events", self._http_events)]

    async def start(self) -> None:
        token = self.slack.slack_app_token
        if token is None or self.app is None:
            return
        self._socket = AsyncSocketModeHandler(self.app, token.get_secret_value(), web_client=self.client)
        connecting = asyncio.ensure_future(self._socket.connect_async())
        done, _ = await asyncio.wait({connecting}, timeout=SOCKET_CONNECT_WAIT)
        if done and connecting.exception() is None:
            log.info("slack: connected in Socket Mode")
        else:  # slack_sdk keeps retrying in the background; say what to check, once
            log.error(
                "slack: Socket Mode is not connected after %ds: check SLACK_APP_TOKEN (xapp-…, with the "
                "connections:write scope) and that Socket Mode is on in the app's settings",
                SOCKET_CONNECT_WAIT,
            )

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
        await asyncio.wait_for(self.settle(), timeout=5)

    async def _http_events(self, request: web.Request) -> web.Response:
        assert self.app is not None
        wrong = payload.problem(await request.read(), request.content_type)
        if wrong is not None:  # checked before Bolt, which would answer 500 (see payload.py)
            self.refused.warning(f"slack.{wrong}", "slack: refused a request to /slack/events: %s", wrong)
            return web.json_response({"ok": False, "error": wrong}, status=400)
        return await to_aiohttp_response(await self.app.async_dispatch(await to_bolt_request(request)))

    def _command_listener(self, services: Services, service: str) -> Any:
        async def on_command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
            actor = self._actor(command.get("user_id"), command.get("user_name"))
            text = command.get("text", "")
            if actor is None or not isinstance(text, str):
                self.refused.warning("slack.command", "slack: ignored a slash command without a user or text")
                await ack(text="This request is missing its user or text.", response_type="ephemeral")
                return
            reply = Reply(
                now=lambda answer: ack(**message(answer)),
                hold=lambda: ack(text="Working on it…", response_type="ephemeral"),
                later=lambda answer: respond(**message(answer)),
            )
            await answer_within(dispatch(text, self._context(actor, service), services), reply, self.pending)

        return on_command

    def _button_listener(self, services: Services, verb: str) -> Any:
        async def on_button(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            user: dict[str, Any] = body["user"] if isinstance(body.get("user"), dict) else {}
            actor = self._actor(user.get("id"), user.get("username") or user.get("name"))
            where: dict[str, Any] = body["channel"] if isinstance(body.get("channel"), dict) else {}
            channel = str(where.get("id") or self.slack.slack_channel or "")
            value = action.get("value", "") if isinstance(action, dict) else None
            if actor is None or not isinstance(value, str):
                self.refused.warning("slack.button", "slack: ignored a button click without a user or value")
                return

            async def act() -> None:
                answer = await dispatch(f"{verb} {value}", self._context(actor), services)
                if not answer.ok or verb == "postmortem":
                    await self._ephemeral(channel, str(actor.id), answer)

            self.pending.start(act())  # the ack carries nothing, so it goes at once

        return on_button

    async def settle(self) -> None:
        """Wait for button work and late answers still running (tests, clean shutdown)."""
        await self.pending.settle()

    @staticmethod
    def _actor(user_id: Any, name: Any) -> Actor | None:
        """Who a Slack payload says acts, or None when it says nothing usable."""
        if not isinstance(user_id, str) or not user_id:
            return None
        return Actor(name=name if isinstance(name, str) and name else user_id, id=user_id, platform="slack")

    def _context(self, actor: Actor, service: str | None = None) -> CommandContext:
        return CommandContext(actor=actor, may_act=self.may_act, service=service)

    async def _ephemeral(self, channel: str, user: str, answer: Answer) -> None:
        payload = message(answer)
        payload.pop("response_type")
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, **payload)
        except SlackApiError as exc:
            log.warning("slack: could not answer %s privately: %s", user, exc.response.get("error"))
