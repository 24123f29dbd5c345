"""The throwaway platform's room: configured, routed, doctored and delivered to like any other."""

from __future__ import annotations

from functools import partial

import httpx
from aiohttp import web

from bot.chat.base import Delivery, ThreadRef
from bot.chat.room import Room
from bot.chat.routing import Router
from bot.clock import Clock
from bot.commands.context import Services
from bot.config import Settings
from bot.doctor import Check, Doctor, Spec, failed, passed
from bot.engine.views import EntryView, IncidentCard
from bot.postmortem.draft import Draft
from tests.teams.settings import TeamsChannels, TeamsSettings


class TeamsRoom(Room[TeamsSettings]):
    name = "teams"
    settings = TeamsSettings
    channels = TeamsChannels

    def enabled(self, settings: TeamsSettings) -> bool:
        return settings.teams_url is not None

    def build(self, settings: Settings, clock: Clock) -> TeamsPlatform:
        return TeamsPlatform(self.own(settings), self.router(settings))

    def checks(self, settings: Settings, channels: list[str]) -> list[Spec]:
        return [Spec("teams relay", partial(check_relay, teams=self.own(settings)), "check TEAMS_URL")]


async def check_relay(doctor: Doctor, teams: TeamsSettings) -> Check:
    assert teams.teams_token is not None
    token = teams.teams_token.get_secret_value()
    answer = await doctor.get(f"{teams.teams_url}health", headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        return failed(f"the relay answers {answer.status_code} to token {token}", "check TEAMS_TOKEN")
    return passed("the relay answers")


class TeamsSink:
    name = "teams"

    def __init__(self, teams: TeamsSettings, router: Router) -> None:
        assert teams.teams_token is not None
        headers = {"Authorization": f"Bearer {teams.teams_token.get_secret_value()}"}
        self.http = httpx.AsyncClient(base_url=str(teams.teams_url), headers=headers)
        self.router = router

    async def _post(self, body: dict[str, object]) -> str:
        answer = await self.http.post("messages", json=body)
        answer.raise_for_status()
        return str(answer.json()["id"])

    async def open_thread(self, incident: IncidentCard, delivery: Delivery) -> ThreadRef:
        channel = self.router.channel(incident)
        parent = await self._post({"channel": channel, "text": f"#{incident.id} {incident.title}"})
        return ThreadRef(channel=channel, parent=parent)

    async def post_update(
        self, thread: ThreadRef, incident: IncidentCard, entry: EntryView, delivery: Delivery
    ) -> None:
        await self._post({"channel": thread.channel, "reply_to": thread.parent, "text": f"{entry.label}: {entry.body}"})

    async def refresh(self, thread: ThreadRef, incident: IncidentCard) -> None:
        return None

    async def post_postmortem(
        self, thread: ThreadRef, incident: IncidentCard, draft: Draft, delivery: Delivery
    ) -> None:
        await self._post({"channel": thread.channel, "reply_to": thread.parent, "text": "postmortem"})

    async def aclose(self) -> None:
        await self.http.aclose()


class TeamsPlatform:
    name = "teams"
    leader_only = False

    def __init__(self, teams: TeamsSettings, router: Router) -> None:
        self.sink = TeamsSink(teams, router)

    def bind(self, services: Services) -> None:
        return None

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


ROOM = TeamsRoom()
