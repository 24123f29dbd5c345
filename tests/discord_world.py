"""A bot wired to the loopback Discord (REST + gateway) and Statuspage fakes, in simulated time.

The real discord.py client logs in and connects to the fake's gateway; commands and clicks are
INTERACTION_CREATE dispatches, so discord.py's own command tree and dynamic items handle them.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
from discord.gateway import DiscordWebSocket

from bot.app import StatusBot
from bot.chat.discord.platform import DiscordPlatform
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo.scenario import Scenario
from tests.fakes.discord_api import FakeDiscord, FakeInteraction, StoredMessage
from tests.fakes.statuspage import FakeStatuspage

TOKEN = "discord-test-token"
APP_ID, GUILD_ID = 1100000000000000001, 1200000000000000001
CHANNEL_ID, FORUM_ID = 1300000000000000001, 1300000000000000005
RESPONDER_ROLE = 1400000000000000001
ALICE, BOB, MALLORY = 1500000000000000001, 1500000000000000002, 1500000000000000003
EPHEMERAL = 1 << 6


@dataclass
class Answered:
    """What the person who ran a command or clicked a button saw."""

    kind: int  # the first callback's type: 4 answered, 5 deferred (then a follow-up), 6 silent update
    ephemeral: bool
    text: str  # title, description and fields of the embed, as one string
    seconds: float  # INTERACTION_CREATE sent -> first callback received


@dataclass
class DiscordWorld:
    bot: StatusBot
    dc: FakeDiscord
    page: FakeStatuspage
    clock: ManualClock

    @property
    def platform(self) -> DiscordPlatform:
        return self.bot.platforms[0]  # type: ignore[return-value]

    async def poll(self) -> None:
        await self.bot.poller.poll()
        await self.drain()

    async def drain(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            await self.bot.worker.drain()

    def serve_minute(self, scenario: Scenario, minute: float) -> None:
        self.page.serve_scenario(scenario, minute)

    async def restart(self) -> None:
        """Stop the bot (its Discord client disconnects) and start a new one on the same database."""
        settings = self.bot.settings
        await self.bot.stop()
        self.bot = await start_bot(settings, self.clock, self.dc)

    def alerts(self, channel: int = CHANNEL_ID) -> list[StoredMessage]:
        """Messages in the channel, interaction answers left out."""
        return [m for m in self.dc.messages(channel) if m.interaction_id is None]

    def thread(self, alert: StoredMessage) -> list[StoredMessage]:
        return self.dc.messages(alert.id)  # a thread started on a message has the message's id

    async def command(
        self, sub: str, incident: str | None = None, user: int = ALICE, roles: tuple[int, ...] = (), **more: str
    ) -> Answered:
        given = {"incident": incident, **more}
        options = [{"type": 3, "name": name, "value": value} for name, value in given.items() if value is not None]
        payload = self.dc.slash_command_payload(
            self.bot.settings.command.lstrip("/"), [{"type": 1, "name": sub, "options": options}]
        )
        return await self._interact({**payload, "member": member(user, roles)})

    async def click(self, verb: str, incident_id: int, user: int = ALICE, roles: tuple[int, ...] = ()) -> Answered:
        alert = next(m for m in self.alerts() if f"statusbot:{verb}:{incident_id}" in json.dumps(m.data))
        payload = {
            "type": 3,
            "data": {"custom_id": f"statusbot:{verb}:{incident_id}", "component_type": 2},
            "message": alert.data,
            "member": member(user, roles),
        }
        return await self._interact(payload)

    async def _interact(self, payload: dict[str, Any]) -> Answered:
        started = time.monotonic()
        interaction = await self.dc.send_interaction(payload, channel_id=CHANNEL_ID)
        await self.dc.wait_for(lambda: interaction.callbacks, timeout=5)
        seconds = time.monotonic() - started
        commands = self.platform.commands
        assert commands is not None
        await commands.settle()
        await self.dc.wait_for(lambda: self._finished(interaction), timeout=5)
        return self._answered(interaction, seconds)

    def _finished(self, interaction: FakeInteraction) -> bool:
        kind = interaction.callbacks[0]["type"]
        return kind == 4 or (kind == 5 and bool(interaction.followup_ids)) or kind == 6

    def _answered(self, interaction: FakeInteraction, seconds: float) -> Answered:
        first = interaction.callbacks[0]
        if first["type"] == 4:
            data = first["data"]
        elif interaction.followup_ids:
            data = self.dc.message(interaction.followup_ids[-1]).data
        else:
            data = {}
        flags = int(data.get("flags") or 0) | int((first.get("data") or {}).get("flags") or 0)
        return Answered(first["type"], bool(flags & EPHEMERAL), embed_text(data), seconds)


def member(user: int, roles: tuple[int, ...] = ()) -> dict[str, Any]:
    names = {ALICE: "alice", BOB: "bob", MALLORY: "mallory"}
    name = names.get(user, f"user{user % 1000}")
    return {
        "user": {"id": str(user), "username": name, "global_name": name.capitalize()},
        "roles": [str(r) for r in roles],
        "nick": None,
    }


def embed_text(data: dict[str, Any]) -> str:
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(p for p in parts if p)


def discord_settings(tmp: Path, dc: FakeDiscord, page: FakeStatuspage, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp / 'bot.db'}",
        "statuspage_url": page.base_url,
        "console": False,
        "port": 0,
        "host": "127.0.0.1",
        "http_timeout": 1.0,
        "discord_bot_token": TOKEN,
        "discord_channel_id": str(CHANNEL_ID),
        "discord_guild_id": str(GUILD_ID),
        "discord_api_url": dc.api_base,
        "discord_gateway_url": dc.gateway_url,
    }
    return Settings(**{k: v for k, v in {**values, **extra}.items() if v is not None})


def fake_discord(fake: type[FakeDiscord] = FakeDiscord, **options: Any) -> FakeDiscord:
    channels = {
        CHANNEL_ID: {"name": "incidents"},
        FORUM_ID: {"name": "incident-forum", "type": 15},
        **options.pop("extra_channels", {}),
    }
    # Discord's own per-channel limit is 5 messages per 5 s; discord.py would sleep it out for real, so
    # the world allows more (one test shows the bot keeping to tight limits without a 429).
    settings = {"message_rate_limit": (50, 1.0), **options}
    return fake(token=TOKEN, application_id=APP_ID, guild_id=GUILD_ID, channels=channels, **settings)


async def start_bot(settings: Settings, clock: ManualClock, dc: FakeDiscord, connect: bool = True) -> StatusBot:
    bot = StatusBot(settings, clock=clock)
    bot.db.upgrade()
    try:
        await bot.platforms[0].start()
        if settings.discord_bot_token is not None and connect:
            guild = int(settings.discord_guild_id) if settings.discord_guild_id else None
            await dc.wait_for(lambda: dc.connected and dc.commands(guild), timeout=5)
    except BaseException:
        await bot.stop()  # a client left connected would keep the fake's gateway (and the test) open
        raise
    return bot


@asynccontextmanager
async def discord_world(
    tmp: Path,
    start: datetime | None = None,
    dc_options: dict[str, Any] | None = None,
    webhook: int | None = None,
    fake: type[FakeDiscord] = FakeDiscord,
    connect: bool = True,
    **extra: Any,
) -> AsyncIterator[DiscordWorld]:
    """`webhook=CHANNEL_ID` (or FORUM_ID): webhook-only mode, a webhook in that channel and no bot token."""
    clock = ManualClock(start or datetime(2026, 4, 15, 14, 0, tzinfo=UTC))
    saved = discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY  # the platform points discord.py at the fake
    async with fake_discord(fake, **(dc_options or {})) as dc, FakeStatuspage() as page:
        if webhook is not None:
            extra.update(
                discord_webhook_url=dc.add_webhook(webhook).url,
                discord_bot_token=None,
                discord_channel_id=None,
                discord_guild_id=None,
            )
        bot = await start_bot(discord_settings(tmp, dc, page, **extra), clock, dc, connect)
        world = DiscordWorld(bot, dc, page, clock)
        try:
            yield world
        finally:
            await world.bot.stop()
            discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
