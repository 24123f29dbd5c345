"""The discord.py client, on the gateway in the bot's own process and event loop.

No privileged intents: only GUILDS, which keeps channels and roles cached. Interactions arrive
whatever the intents. discord.py reads its REST base from `Route.BASE` and its gateway from
`DiscordWebSocket.DEFAULT_GATEWAY`; `point_at` sets both from the settings (proxies, tests).

discord.py's HTTP client already honours Discord's rate limits on this path: it waits before a
request when `X-RateLimit-Remaining` is 0 (until `X-RateLimit-Reset-After`), and on a 429 it sleeps
`retry_after` (holding every request while a *global* limit lasts) and sends again. Waits longer than
`MAX_INLINE_RATELIMIT` raise `discord.RateLimited` instead, which the sink hands to the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient

from bot.chat.base import RetryLater, SinkMisconfigured
from bot.chat.discord.buttons import ButtonHandler

log = logging.getLogger(__name__)
MAX_INLINE_RATELIMIT = 30.0  # discord.py's smallest allowed value
LOGIN_WAIT = 10.0
GUILD_READY_TIMEOUT = 0.5  # nothing waits for on_ready; no need to sit 2 s on it
RETRY_LOGIN = (1.0, 60.0)
BAD_TOKEN = "DISCORD_BOT_TOKEN was refused (401); copy it again (developer portal → Bot → Reset Token)"


def point_at(api_url: str, gateway_url: str) -> None:
    discord.http.Route.BASE = api_url.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def intents() -> discord.Intents:
    chosen = discord.Intents.none()
    chosen.guilds = True
    return chosen


class StatusbotClient(discord.Client):
    """A plain client with a command tree, a handler for alert buttons and setup steps run at login."""

    def __init__(self) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here: no warning about it
        super().__init__(
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            max_ratelimit_timeout=MAX_INLINE_RATELIMIT,
            guild_ready_timeout=GUILD_READY_TIMEOUT,
        )
        self.tree: app_commands.CommandTree[StatusbotClient] = app_commands.CommandTree(self)
        self.button_handler: ButtonHandler | None = None
        self.setup_steps: list[Callable[[], Awaitable[None]]] = []

    async def setup_hook(self) -> None:
        for step in self.setup_steps:
            await step()


class DiscordConnection:
    """Logs in (REST), then stays on the gateway, reconnecting and resuming as discord.py does."""

    def __init__(self, token: str) -> None:
        self.client = StatusbotClient()
        self.prepare: Callable[[StatusbotClient], None] = lambda client: None  # wires commands and buttons
        self._token = token
        self._logged_in = asyncio.Event()
        self.problem: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.client.is_closed():  # leading again after a spell as a follower: a closed client's
            self.client = StatusbotClient()  # HTTP session cannot be reopened, so a new client
            self.prepare(self.client)
            self._logged_in.clear()
            self.problem = None
        self._task = asyncio.create_task(self._run(), name="discord-gateway")
        logged_in = asyncio.ensure_future(self._logged_in.wait())
        await asyncio.wait({self._task, logged_in}, timeout=LOGIN_WAIT, return_when=asyncio.FIRST_COMPLETED)
        logged_in.cancel()
        if self._logged_in.is_set():
            log.info("discord: logged in as %s", self.client.user)
        elif self.problem is None:
            log.error(
                "discord: not logged in after %.0fs; still trying (check DISCORD_API_URL and the network)", LOGIN_WAIT
            )

    async def _run(self) -> None:
        delay = RETRY_LOGIN[0]
        while not self._logged_in.is_set():
            try:
                await self.client.login(self._token)
            except discord.LoginFailure:
                self.problem = BAD_TOKEN
                log.error("discord: %s", BAD_TOKEN)
                return
            except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
                log.warning("discord: login failed (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(RETRY_LOGIN[1], delay * 2)
            else:
                self._logged_in.set()
        await self._stay_connected()

    async def _stay_connected(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except discord.ConnectionClosed as exc:
            log.error("discord: the gateway closed the connection for good (%s); commands and buttons are off", exc)
        except Exception:
            log.exception("discord: the gateway connection failed; commands and buttons are off")

    async def http(self) -> HTTPClient:
        """The logged-in REST client, or the reason there is none yet."""
        if self.problem is not None:
            raise SinkMisconfigured(self.problem)
        try:
            await asyncio.wait_for(self._logged_in.wait(), LOGIN_WAIT)
        except TimeoutError:
            raise RetryLater("not logged in to Discord yet") from None
        return self.client.http

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def __repr__(self) -> str:  # never the token
        return f"<DiscordConnection logged_in={self._logged_in.is_set()}>"
