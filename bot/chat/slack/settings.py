"""Slack's settings: its fields (environment names are the aliases, TOML keys the field names), their
validation, and the key a `[[services]]` table or route sets to send a service's incidents elsewhere.

Mixed into `bot.config.Settings` by the registry; this module imports nothing but pydantic, so reading
the configuration never loads slack_sdk.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, HttpUrl, SecretStr, model_validator

from bot.chat.setting import setting

CHANNEL = r"^[CGD][A-Z0-9]{2,}$"


class SlackChannels(BaseModel):
    slack_channel: str | None = Field(None, pattern=CHANNEL)


class SlackSettings(BaseModel):
    slack_bot_token: SecretStr | None = setting(
        None, "SLACK_BOT_TOKEN", "Bot token (`xoxb-…`). Setting it turns Slack on."
    )
    slack_signing_secret: SecretStr | None = setting(
        None, "SLACK_SIGNING_SECRET", "Verifies requests to `/slack/events` (HTTP mode)."
    )
    slack_app_token: SecretStr | None = setting(
        None,
        "SLACK_APP_TOKEN",
        "App-level token (`xapp-…`, scope `connections:write`). Selects Socket Mode: no public URL needed.",
    )
    slack_channel: str | None = setting(
        None, "SLACK_CHANNEL", "Channel id (`C…`) for incident threads.", pattern=CHANNEL
    )
    slack_api_url: HttpUrl = setting(
        HttpUrl("https://slack.com/api/"), "SLACK_API_URL", "Slack Web API base URL, for proxies and tests."
    )
    slack_post_interval: float = setting(
        1.0,
        "SLACK_POST_INTERVAL",
        "Seconds between two messages in one channel (Slack asks for about one a second).",
        ge=0.0,
        le=60.0,
    )
    slack_responder_group: str | None = setting(
        None,
        "SLACK_RESPONDER_GROUP",
        "Slack user group id (`S…`) whose members may ack and resolve.",
        pattern=r"^S[A-Z0-9]{2,}$",
    )
    slack_oncall: str = setting(
        "", "SLACK_ONCALL", "Who reminders mention in Slack: a user group (`S…`) or user ids (`U…`)."
    )
    slack_escalation: str = setting("", "SLACK_ESCALATION", "Who escalations mention in Slack (same form).")

    @model_validator(mode="after")
    def _slack_complete(self) -> Self:
        bot, app, secret = self.slack_bot_token, self.slack_app_token, self.slack_signing_secret
        if bot is not None and not bot.get_secret_value().startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN: must be a bot token (xoxb-…)")
        if app is not None and not app.get_secret_value().startswith("xapp-"):
            raise ValueError("SLACK_APP_TOKEN: must be an app-level token (xapp-…) with connections:write")
        if bot is None and (app or secret or self.slack_channel):
            raise ValueError("SLACK_BOT_TOKEN: is required when other SLACK_ settings are set")
        if bot is not None and not self.slack_channel:
            raise ValueError("SLACK_CHANNEL: is required with SLACK_BOT_TOKEN (the channel id, C…)")
        if bot is not None and app is None and secret is None:
            raise ValueError("SLACK_SIGNING_SECRET: is required unless SLACK_APP_TOKEN selects Socket Mode")
        return self


SETTINGS, CHANNELS = SlackSettings, SlackChannels
