"""The Alertmanager receiver's settings (its SETTINGS, mixed into `bot.config.Settings` by the registry)."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, SecretStr

LABEL = r"[a-zA-Z_][a-zA-Z0-9_]{0,63}"


class AlertmanagerSettings(BaseModel):
    alertmanager_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("STATUSBOT_ALERTMANAGER_SECRET", "alertmanager_secret"),
        description="Secret path part of `POST /alertmanager/<secret>` (Prometheus Alertmanager's webhook). The "
        "route is off without it.",
    )
    alertmanager_match: str = Field(
        "vendor=anthropic",
        pattern=rf"^{LABEL}=[^,=]+(,\s*{LABEL}=[^,=]+)*$",
        validation_alias=AliasChoices("STATUSBOT_ALERTMANAGER_MATCH", "alertmanager_match"),
        description="Labels an alert must carry to count (`label=value`, comma-separated, all must match).",
    )
    alertmanager_model_label: str = Field(
        "model",
        pattern=rf"^{LABEL}$",
        validation_alias=AliasChoices("STATUSBOT_ALERTMANAGER_MODEL_LABEL", "alertmanager_model_label"),
        description="The alert label that names the model, when there is one.",
    )

    def alert_matchers(self) -> dict[str, str]:
        pairs = (part.strip().split("=", 1) for part in self.alertmanager_match.split(","))
        return {name.strip(): value.strip() for name, value in pairs}


SETTINGS = AlertmanagerSettings
