"""The throwaway platform's settings, mixed into bot.config.Settings through the registry."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, HttpUrl, SecretStr, model_validator

from bot.chat.setting import setting

CHANNEL = r"^19:[a-z0-9]+@thread$"


class TeamsChannels(BaseModel):
    teams_channel: str | None = Field(None, pattern=CHANNEL)


class TeamsSettings(BaseModel):
    teams_url: HttpUrl | None = setting(None, "TEAMS_URL", "Base URL of the Teams relay. Setting it turns Teams on.")
    teams_token: SecretStr | None = setting(None, "TEAMS_TOKEN", "Bearer token of the relay.")
    teams_channel: str | None = setting(None, "TEAMS_CHANNEL", "Channel for incident threads.", pattern=CHANNEL)

    @model_validator(mode="after")
    def _teams_complete(self) -> Self:
        if self.teams_url is not None and not (self.teams_channel and self.teams_token):
            raise ValueError("TEAMS_CHANNEL: is required with TEAMS_URL, and so is TEAMS_TOKEN")
        return self


SETTINGS, CHANNELS = TeamsSettings, TeamsChannels
