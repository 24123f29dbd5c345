"""The signal API's settings: its SETTINGS, mixed into `bot.config.Settings` by the registry (env names are
the aliases)."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, SecretStr

MAX_BYTES = 1024 * 1024
MAX_BYTES_CEILING = 8 * MAX_BYTES


class SignalSettings(BaseModel):
    signals_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("STATUSBOT_SIGNALS_TOKEN", "signals_token"),
        description="Bearer token for `POST /signals/<service>` (your own traffic). Several, comma-separated, "
        "while rotating. The route is off without it.",
    )
    signals_max_bytes: int = Field(
        MAX_BYTES,
        ge=1024,
        le=MAX_BYTES_CEILING,
        validation_alias=AliasChoices("STATUSBOT_SIGNALS_MAX_BYTES", "signals_max_bytes"),
        description="Largest signal batch body in bytes (at most 8 MiB); 413 above it.",
    )
    signals_max_items: int = Field(
        10_000,
        ge=1,
        le=100_000,
        validation_alias=AliasChoices("STATUSBOT_SIGNALS_MAX_ITEMS", "signals_max_items"),
        description="Most calls or counts in one signal batch; 413 above it.",
    )
    signals_rate: float = Field(
        20.0,
        gt=0,
        validation_alias=AliasChoices("STATUSBOT_SIGNALS_RATE", "signals_rate"),
        description="Signal batches per second per token, bursts of twice that; 429 with `Retry-After` above it.",
    )
    signals_stale_minutes: float = Field(
        15.0,
        gt=0,
        validation_alias=AliasChoices("STATUSBOT_SIGNALS_STALE_MINUTES", "signals_stale_minutes"),
        description="`statusbot doctor` warns when the token is set and no signal arrived for this long.",
    )

    signals_detect_interval: float = Field(
        5.0,
        description="Seconds between the leader's runs that feed the signals that arrived to the detector.",
        validation_alias=AliasChoices("STATUSBOT_SIGNALS_DETECT_INTERVAL", "signals_detect_interval"),
        ge=1.0,
        le=60.0,
    )

    def signal_tokens(self) -> list[str]:
        if self.signals_token is None:
            return []
        return [part.strip() for part in self.signals_token.get_secret_value().split(",") if part.strip()]


SETTINGS = SignalSettings
