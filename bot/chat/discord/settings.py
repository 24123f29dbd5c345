"""Discord's settings: its fields (environment names are the aliases, TOML keys the field names), their
validation, and the key a `[[services]]` table or route sets to send a service's incidents elsewhere.

Mixed into `bot.config.Settings` by the registry; this module imports nothing but pydantic, so reading
the configuration never loads discord.py.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, HttpUrl, SecretStr, model_validator

from bot.chat.setting import setting

SNOWFLAKE = r"^[0-9]{15,25}$"


class DiscordChannels(BaseModel):
    discord_channel_id: str | None = Field(None, pattern=SNOWFLAKE)


class DiscordSettings(BaseModel):
    discord_bot_token: SecretStr | None = setting(
        None, "DISCORD_BOT_TOKEN", "Bot token. Setting it turns Discord on (alerts, threads, `/claude`, buttons)."
    )
    discord_channel_id: str | None = setting(
        None, "DISCORD_CHANNEL_ID", "Channel id for incident alerts.", pattern=SNOWFLAKE
    )
    discord_guild_id: str | None = setting(
        None,
        "DISCORD_GUILD_ID",
        "Server id. With it, `/claude` is synced to this server only and is available at once.",
        pattern=SNOWFLAKE,
    )
    discord_api_url: HttpUrl = setting(
        HttpUrl("https://discord.com/api/v10"), "DISCORD_API_URL", "Discord REST base URL, for proxies and tests."
    )
    discord_gateway_url: str = setting(
        "wss://gateway.discord.gg",
        "DISCORD_GATEWAY_URL",
        "Discord gateway URL, for proxies and tests.",
        pattern=r"^wss?://",
    )
    discord_webhook_url: SecretStr | None = setting(
        None, "DISCORD_WEBHOOK_URL", "A channel webhook URL: alerts only, with no bot (webhook-only mode)."
    )
    discord_responder_role: str | None = setting(
        None, "DISCORD_RESPONDER_ROLE", "Role id whose members may ack and resolve.", pattern=SNOWFLAKE
    )
    discord_oncall: str = setting(
        "", "DISCORD_ONCALL", "Who reminders mention in Discord: `role:ID` or `user:ID`, comma-separated."
    )
    discord_escalation: str = setting("", "DISCORD_ESCALATION", "Who escalations mention in Discord (same form).")

    @model_validator(mode="after")
    def _discord_complete(self) -> Self:
        if self.discord_bot_token is not None and not self.discord_channel_id:
            raise ValueError("DISCORD_CHANNEL_ID: is required with DISCORD_BOT_TOKEN")
        if self.discord_bot_token is None and self.discord_channel_id and self.discord_webhook_url is None:
            raise ValueError("DISCORD_BOT_TOKEN: is required when DISCORD_CHANNEL_ID is set")
        hook = self.discord_webhook_url
        if hook is not None and "/webhooks/" not in hook.get_secret_value():
            raise ValueError("DISCORD_WEBHOOK_URL: must be a channel webhook URL (…/api/webhooks/ID/TOKEN)")
        return self


SETTINGS, CHANNELS = DiscordSettings, DiscordChannels
