"""The throwaway source's settings, mixed into bot.config.Settings through the registry."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, HttpUrl


class NewSourceSettings(BaseModel):
    newsource_url: HttpUrl | None = Field(
        None,
        validation_alias=AliasChoices("NEWSOURCE_URL", "newsource_url"),
        description="A health endpoint to watch. Setting it turns the source on.",
    )
    newsource_interval: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("NEWSOURCE_INTERVAL", "newsource_interval"), description="Seconds."
    )


SETTINGS = NewSourceSettings
