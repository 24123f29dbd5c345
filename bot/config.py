"""Settings: environment (and `.env`) first, then an optional `statusbot.toml`, then defaults.

Secrets are `SecretStr`: printing a Settings object or logging it never shows them. Each field's
environment name is its alias; in the TOML file the same setting is spelled by its field name
(`poll_interval = 30`). `describe()` feeds the README's settings table and `statusbot config`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.engine.resolution import AutoResolve
from bot.sources.alertmanager.settings import AlertmanagerSettings
from bot.sources.signals.settings import SignalSettings
from bot.store import urls

CONFIG_ENV = "STATUSBOT_CONFIG"
DEFAULT_CONFIG_FILE = "statusbot.toml"


def _env(name: str, field: str) -> Any:
    """Accept the env name (env/.env) and the field name (TOML)."""
    return AliasChoices(name, field)


PositiveSeconds = Annotated[float, Field(gt=0)]


ProbeKind = Literal["anthropic_messages", "anthropic_models", "http"]
CLAUDE_API_COMPONENT = "Claude API (api.anthropic.com)"


class ProbeSpec(BaseModel):
    """One synthetic probe, declared as a `[[probes]]` table in statusbot.toml."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    kind: ProbeKind
    url: HttpUrl | None = None  # http probes
    expect_status: int = Field(200, ge=100, le=599)
    model: str = "claude-haiku-4-5"  # anthropic_messages
    latency_threshold_ms: float = Field(5000.0, gt=0)
    components: list[str] = Field(default_factory=list)  # vendor component ids or names this probe stands for
    interval: float | None = Field(None, gt=0)
    service: str | None = None  # which declared service it probes (default: the first)

    @model_validator(mode="after")
    def _url_for_http(self) -> ProbeSpec:
        if self.kind == "http" and self.url is None:
            raise ValueError(f"probe {self.name}: an http probe needs a url")
        return self


class RouteSpec(BaseModel):
    """Send a service's incidents on these components (or of these impacts) to their own channel."""

    model_config = ConfigDict(extra="forbid")

    components: list[str] = Field(default_factory=list)  # names or ids; empty: any
    impact: list[Literal["none", "minor", "major", "critical", "maintenance"]] = Field(default_factory=list)
    slack_channel: str | None = Field(None, pattern=r"^[CGD][A-Z0-9]{2,}$")
    discord_channel_id: str | None = Field(None, pattern=r"^[0-9]{15,25}$")


class ServiceSpec(BaseModel):
    """One watched vendor, declared as a `[[services]]` table in statusbot.toml."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    statuspage_url: HttpUrl
    command: str | None = Field(None, pattern=r"^/[a-z0-9_-]{1,31}$")  # default: /<name>
    slack_channel: str | None = Field(None, pattern=r"^[CGD][A-Z0-9]{2,}$")
    discord_channel_id: str | None = Field(None, pattern=r"^[0-9]{15,25}$")
    routes: list[RouteSpec] = Field(default_factory=list)

    @property
    def page_base(self) -> str:
        return str(self.statuspage_url).rstrip("/")

    @property
    def slash(self) -> str:
        return self.command or f"/{self.name}"


class Settings(BaseSettings, SignalSettings, AlertmanagerSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite:///statusbot.db",
        validation_alias=_env("DATABASE_URL", "database_url"),
        description="SQLAlchemy URL of the database.",
    )
    statuspage_url: HttpUrl = Field(
        HttpUrl("https://status.claude.com"),
        validation_alias=_env("STATUSPAGE_URL", "statuspage_url"),
        description="Base URL of the vendor's Atlassian Statuspage.",
    )
    service_name: str = Field(
        "claude",
        min_length=1,
        max_length=40,
        validation_alias=_env("STATUSBOT_SERVICE", "service_name"),
        description="Name shown for the watched service.",
    )
    poll_interval: PositiveSeconds = Field(
        30.0,
        validation_alias=_env("STATUSBOT_POLL_INTERVAL", "poll_interval"),
        description="Seconds between status page polls.",
    )
    http_timeout: PositiveSeconds = Field(
        10.0,
        validation_alias=_env("STATUSBOT_HTTP_TIMEOUT", "http_timeout"),
        description="Timeout of one request to the status page, in seconds.",
    )
    outbox_sweep_interval: PositiveSeconds = Field(
        5.0,
        validation_alias=_env("STATUSBOT_OUTBOX_SWEEP", "outbox_sweep_interval"),
        description="Seconds between outbox sweeps (delivery also starts at once on each change).",
    )
    lease_ttl: float = Field(
        10.0,
        ge=1.0,
        le=300.0,
        validation_alias=_env("STATUSBOT_LEASE_TTL", "lease_ttl"),
        description="Seconds a leader's lease lasts unrenewed: with several replicas, a follower leads within"
        " 1.2 × this after the leader dies.",
    )
    host: str = Field(
        "0.0.0.0", validation_alias=_env("STATUSBOT_HOST", "host"), description="Address the HTTP server listens on."
    )
    port: int = Field(
        8080,
        ge=0,
        le=65535,
        validation_alias=_env("PORT", "port"),
        description="Port of the HTTP server (health, webhooks, Slack events); 0 picks a free one.",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=_env("STATUSBOT_WEBHOOK_SECRET", "webhook_secret"),
        description="Secret path part of the Statuspage webhook URL; the route is off without it.",
    )
    console: bool | None = Field(
        None,
        validation_alias=_env("STATUSBOT_CONSOLE", "console"),
        description="Print incident threads to stdout (default: on when no chat is set).",
    )
    command: str = Field(
        "/claude",
        pattern=r"^/[a-z0-9_-]{1,31}$",
        validation_alias=_env("STATUSBOT_COMMAND", "command"),
        description="The slash command's name (as created in Slack / Discord).",
    )
    responders: str = Field(
        "",
        validation_alias=_env("STATUSBOT_RESPONDERS", "responders"),
        description="Comma-separated chat user ids who may ack/resolve (default: anyone).",
    )
    slack_bot_token: SecretStr | None = Field(
        None,
        validation_alias=_env("SLACK_BOT_TOKEN", "slack_bot_token"),
        description="Bot token (`xoxb-…`); enables Slack.",
    )
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=_env("SLACK_SIGNING_SECRET", "slack_signing_secret"),
        description="Verifies requests to `/slack/events` (HTTP mode).",
    )
    slack_app_token: SecretStr | None = Field(
        None,
        validation_alias=_env("SLACK_APP_TOKEN", "slack_app_token"),
        description="App-level token (`xapp-…`): use Socket Mode instead of a public URL.",
    )
    slack_channel: str | None = Field(
        None,
        pattern=r"^[CGD][A-Z0-9]{2,}$",
        validation_alias=_env("SLACK_CHANNEL", "slack_channel"),
        description="Channel id (`C…`) for incident threads.",
    )
    slack_api_url: HttpUrl = Field(
        HttpUrl("https://slack.com/api/"),
        validation_alias=_env("SLACK_API_URL", "slack_api_url"),
        description="Slack Web API base URL (for proxies and tests).",
    )
    slack_post_interval: float = Field(
        1.0,
        ge=0.0,
        le=60.0,
        validation_alias=_env("SLACK_POST_INTERVAL", "slack_post_interval"),
        description="Seconds between two messages in one channel (Slack asks for about one a second).",
    )
    slack_responder_group: str | None = Field(
        None,
        pattern=r"^S[A-Z0-9]{2,}$",
        validation_alias=_env("SLACK_RESPONDER_GROUP", "slack_responder_group"),
        description="Slack user group id (`S…`) whose members may ack/resolve.",
    )
    discord_bot_token: SecretStr | None = Field(
        None,
        validation_alias=_env("DISCORD_BOT_TOKEN", "discord_bot_token"),
        description="Bot token; enables Discord (alerts, thread, /claude, buttons).",
    )
    discord_channel_id: str | None = Field(
        None,
        pattern=r"^[0-9]{15,25}$",
        validation_alias=_env("DISCORD_CHANNEL_ID", "discord_channel_id"),
        description="Channel id for incident alerts.",
    )
    discord_guild_id: str | None = Field(
        None,
        pattern=r"^[0-9]{15,25}$",
        validation_alias=_env("DISCORD_GUILD_ID", "discord_guild_id"),
        description="Server id: sync /claude to this server only (available at once).",
    )
    discord_api_url: HttpUrl = Field(
        HttpUrl("https://discord.com/api/v10"),
        validation_alias=_env("DISCORD_API_URL", "discord_api_url"),
        description="Discord REST base URL (for proxies and tests).",
    )
    discord_gateway_url: str = Field(
        "wss://gateway.discord.gg",
        pattern=r"^wss?://",
        validation_alias=_env("DISCORD_GATEWAY_URL", "discord_gateway_url"),
        description="Discord gateway URL (for proxies and tests).",
    )
    discord_webhook_url: SecretStr | None = Field(
        None,
        validation_alias=_env("DISCORD_WEBHOOK_URL", "discord_webhook_url"),
        description="Channel webhook URL: alerts only, no bot (webhook-only mode).",
    )
    discord_responder_role: str | None = Field(
        None,
        pattern=r"^[0-9]{15,25}$",
        validation_alias=_env("DISCORD_RESPONDER_ROLE", "discord_responder_role"),
        description="Role id whose members may ack/resolve.",
    )
    anthropic_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("ANTHROPIC_API_KEY", "anthropic_api_key"),
        description="API key for the Anthropic probes; without it they are off.",
    )
    anthropic_base_url: HttpUrl = Field(
        HttpUrl("https://api.anthropic.com"),
        validation_alias=_env("ANTHROPIC_BASE_URL", "anthropic_base_url"),
        description="Anthropic API base URL (for proxies and tests).",
    )
    probe_interval: PositiveSeconds = Field(
        30.0,
        validation_alias=_env("STATUSBOT_PROBE_INTERVAL", "probe_interval"),
        description="Seconds between probes while all is well.",
    )
    probe_recheck: PositiveSeconds = Field(
        10.0,
        validation_alias=_env("STATUSBOT_PROBE_RECHECK", "probe_recheck"),
        description="Seconds between probes after a failure.",
    )
    probe_timeout: PositiveSeconds = Field(
        10.0,
        validation_alias=_env("STATUSBOT_PROBE_TIMEOUT", "probe_timeout"),
        description="Timeout of one probe attempt (no hidden retries).",
    )
    probe_open_after: int = Field(
        3,
        ge=1,
        validation_alias=_env("STATUSBOT_PROBE_OPEN_AFTER", "probe_open_after"),
        description="Consecutive failures that open an incident.",
    )
    probe_resolve_after: int = Field(
        2,
        ge=1,
        validation_alias=_env("STATUSBOT_PROBE_RESOLVE_AFTER", "probe_resolve_after"),
        description="Consecutive successes that resolve it.",
    )
    probe_flap_cycles: int = Field(
        3,
        ge=1,
        validation_alias=_env("STATUSBOT_PROBE_FLAP_CYCLES", "probe_flap_cycles"),
        description="More open/close cycles than this in the window: flapping.",
    )
    probe_flap_window: PositiveSeconds = Field(
        3600.0,
        validation_alias=_env("STATUSBOT_PROBE_FLAP_WINDOW", "probe_flap_window"),
        description="Window (seconds) for counting flapping cycles.",
    )
    probe_reopen_window: PositiveSeconds = Field(
        1800.0,
        validation_alias=_env("STATUSBOT_PROBE_REOPEN_WINDOW", "probe_reopen_window"),
        description="Failing again this soon (seconds) after recovery reopens the same incident.",
    )
    connectivity_url: HttpUrl = Field(
        HttpUrl("https://www.google.com/generate_204"),
        validation_alias=_env("STATUSBOT_CONNECTIVITY_URL", "connectivity_url"),
        description="Independent target checked before blaming the vendor.",
    )
    probe_retention_days: float = Field(
        7.0,
        gt=0,
        validation_alias=_env("STATUSBOT_PROBE_RETENTION_DAYS", "probe_retention_days"),
        description="Days raw probe results are kept before per-minute rollups.",
    )
    probes: list[ProbeSpec] = Field(default_factory=list, description="`[[probes]]` tables (TOML only).")
    services: list[ServiceSpec] = Field(default_factory=list, description="`[[services]]` tables (TOML only).")
    catchup_hours: float = Field(
        6.0,
        ge=0,
        validation_alias=_env("STATUSBOT_CATCHUP_HOURS", "catchup_hours"),
        description="After a shorter downtime, missed updates are posted; after a longer "
        "one, what resolved meanwhile is recorded silently.",
    )
    retention_days: float | None = Field(
        None,
        gt=0,
        validation_alias=_env("STATUSBOT_RETENTION_DAYS", "retention_days"),
        description="Delete timelines of incidents resolved this long ago",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        validation_alias=_env("STATUSBOT_LOG_FORMAT", "log_format"),
        description="`text`, or `json` for one JSON object per line.",
    )
    remind_every: float = Field(
        15.0,
        ge=0,
        validation_alias=_env("STATUSBOT_REMIND_EVERY", "remind_every"),
        description="Minutes between reminders of an unacknowledged incident (0: off).",
    )
    escalate_after: float = Field(
        30.0,
        ge=0,
        validation_alias=_env("STATUSBOT_ESCALATE_AFTER", "escalate_after"),
        description="Minutes unacknowledged before the escalation target is called (0: off).",
    )
    quiet_hours: str = Field(
        "",
        pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
        validation_alias=_env("STATUSBOT_QUIET_HOURS", "quiet_hours"),
        description="No reminders in this span, e.g. `22:00-07:00` (in STATUSBOT_TIMEZONE).",
    )
    timezone: str = Field(
        "UTC",
        validation_alias=_env("STATUSBOT_TIMEZONE", "timezone"),
        description="Time zone of the quiet hours (IANA name).",
    )
    auto_resolve: AutoResolve = Field(
        AutoResolve.VENDOR,
        validation_alias=_env("STATUSBOT_AUTO_RESOLVE", "auto_resolve"),
        description="Who closes an incident both saw: vendor, agree (vendor and probes), either.",
    )
    slack_oncall: str = Field(
        "",
        validation_alias=_env("SLACK_ONCALL", "slack_oncall"),
        description="Who reminders mention in Slack: user group (`S…`) or user ids (`U…`).",
    )
    slack_escalation: str = Field(
        "",
        validation_alias=_env("SLACK_ESCALATION", "slack_escalation"),
        description="Who escalations mention in Slack (same form).",
    )
    discord_oncall: str = Field(
        "",
        validation_alias=_env("DISCORD_ONCALL", "discord_oncall"),
        description="Who reminders mention in Discord: `role:ID` or `user:ID`, comma-separated",
    )
    discord_escalation: str = Field(
        "",
        validation_alias=_env("DISCORD_ESCALATION", "discord_escalation"),
        description="Who escalations mention in Discord (same form).",
    )
    templates_dir: str | None = Field(
        None,
        validation_alias=_env("STATUSBOT_TEMPLATES", "templates_dir"),
        description="Folder with your own `postmortem.md.j2` (default: the shipped one).",
    )
    postmortem_dir: str = Field(
        "postmortems",
        validation_alias=_env("STATUSBOT_POSTMORTEM_DIR", "postmortem_dir"),
        description="Where the console writes postmortem drafts and charts.",
    )
    log_level: str = Field(
        "INFO",
        pattern=r"(?i)^(debug|info|warning|error)$",
        validation_alias=_env("STATUSBOT_LOG_LEVEL", "log_level"),
        description="debug, info, warning or error.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not (urls.is_sqlite(value) or urls.is_postgres(value)):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        if urls.is_postgres(value):
            _require_psycopg()
        return urls.normalise(value)

    @model_validator(mode="after")
    def _slack_complete(self) -> Settings:
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

    @model_validator(mode="after")
    def _discord_complete(self) -> Settings:
        if self.discord_bot_token is not None and not self.discord_channel_id:
            raise ValueError("DISCORD_CHANNEL_ID: is required with DISCORD_BOT_TOKEN")
        if self.discord_bot_token is None and self.discord_channel_id and self.discord_webhook_url is None:
            raise ValueError("DISCORD_BOT_TOKEN: is required when DISCORD_CHANNEL_ID is set")
        hook = self.discord_webhook_url
        if hook is not None and "/webhooks/" not in hook.get_secret_value():
            raise ValueError("DISCORD_WEBHOOK_URL: must be a channel webhook URL (…/api/webhooks/ID/TOKEN)")
        return self

    def effective_services(self) -> list[ServiceSpec]:
        """Declared services; by default the one named by STATUSBOT_SERVICE / STATUSPAGE_URL."""
        return self.services or [
            ServiceSpec(
                name=self.service_name,
                statuspage_url=self.statuspage_url,
                command=self.command,
                slack_channel=self.slack_channel,
                discord_channel_id=self.discord_channel_id,
            )
        ]

    def service_of(self, probe: ProbeSpec) -> str:
        return probe.service or self.effective_services()[0].name

    def effective_probes(self) -> list[ProbeSpec]:
        """Declared probes; by default one `api` probe of the Messages API when a key is set. Anthropic
        probes need the key: without it they are left out (the app says so at start-up)."""
        probes = self.probes or [ProbeSpec(name="api", kind="anthropic_messages", components=[CLAUDE_API_COMPONENT])]
        if self.anthropic_api_key is None:
            probes = [p for p in probes if p.kind == "http"]
        return probes

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name such as Europe/Paris") from None
        return value

    @model_validator(mode="after")
    def _services_consistent(self) -> Settings:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"{config_path() or DEFAULT_CONFIG_FILE}: [[services]] names must be unique")
        known = {s.name for s in self.effective_services()}
        for probe in self.probes:
            if probe.service is not None and probe.service not in known:
                raise ValueError(
                    f"{config_path() or DEFAULT_CONFIG_FILE}: probe {probe.name} names an unknown "
                    f"service {probe.service!r}"
                )
        return self

    @property
    def discord_enabled(self) -> bool:
        return self.discord_bot_token is not None or self.discord_webhook_url is not None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def responder_ids(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.responders.split(",") if part.strip())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = CheckedTomlSource(settings_cls, toml_file=config_path())
        return init_settings, env_settings, dotenv_settings, toml

    @property
    def statuspage_base(self) -> str:
        return str(self.statuspage_url).rstrip("/")

    @property
    def chat_configured(self) -> bool:
        return self.slack_enabled or self.discord_enabled

    @property
    def console_enabled(self) -> bool:
        return self.console if self.console is not None else not self.chat_configured


def _require_psycopg() -> None:
    """A PostgreSQL URL is refused at once when its driver cannot be loaded, not at the first query."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ValueError(
            f"PostgreSQL needs the psycopg driver, which cannot be loaded ({exc}): pip install 'statusbot[postgres]'"
        ) from None


class CheckedTomlSource(TomlConfigSettingsSource):
    """statusbot.toml, every key checked against the settings it can set: a misspelt key is an error
    naming it and the closest valid one, instead of a setting silently left at its default."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path | None) -> None:
        super().__init__(settings_cls, toml_file=toml_file)
        problem = unknown_key(settings_cls, self.toml_data)
        if problem:
            raise ValueError(problem)


def unknown_key(model: type[BaseModel], data: Mapping[str, Any], where: str = "") -> str | None:
    """The first key of `data` that sets nothing in `model` (recursively through nested models and
    lists of them), with the closest field name; None when every key is known."""
    fields = model.model_fields
    known = {name: name for name in fields}
    for name, info in fields.items():
        alias = info.validation_alias
        for choice in alias.choices if isinstance(alias, AliasChoices) else ():
            known[str(choice)] = name
    for key, value in data.items():
        if key not in known:
            close = difflib.get_close_matches(key.lower(), list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"{where}unknown key {key!r}{hint}"
        nested = _model_in(fields[known[key]].annotation)
        if nested is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items, 1):
            if isinstance(item, Mapping):
                place = f"[[{key}]] #{index} " if isinstance(value, list) else f"[{key}] "
                problem = unknown_key(nested, item, where + place)
                if problem:
                    return problem
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds: `Spec`, `list[Spec]`, `Spec | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def config_path() -> Path | None:
    path = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
    return path if path.is_file() else None


class ConfigError(Exception):
    """A setting is wrong; the message is one line naming it."""


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    first = alias.choices[0] if isinstance(alias, AliasChoices) else None
    return first if isinstance(first, str) else field.upper()


def load_settings(**overrides: Any) -> Settings:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit and not Path(explicit).is_file():
        raise ConfigError(f"{CONFIG_ENV}: no such file: {explicit}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from None
    except ValueError as exc:  # a TOML syntax error
        raise ConfigError(f"{config_path()}: {exc}") from None


def _first_problem(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        if not err["loc"]:  # a cross-field check: its message already names the setting
            problems.append(err["msg"].removeprefix("Value error, "))
            continue
        loc = err["loc"][0]
        name = env_name(str(loc)) if loc in Settings.model_fields else str(loc)
        if loc in ("probes", "services"):
            where = ".".join(str(part) for part in err["loc"][2:])
            index = err["loc"][1] + 1 if len(err["loc"]) > 1 and isinstance(err["loc"][1], int) else "?"
            name = f"{config_path() or DEFAULT_CONFIG_FILE} [[{loc}]] #{index}" + (f" {where}" if where else "")
        message = err["msg"].removeprefix("Value error, ")
        secret = any(word in name for word in ("SECRET", "TOKEN", "KEY"))
        shown = _without_password(err.get("input"))
        problems.append(f"{name}: {message}" + ("" if secret else f" (got {shown!r})"))
    return "; ".join(problems)


def _without_password(value: Any) -> Any:
    """A URL's password never reaches an error message (`postgresql://bot:***@db/statusbot`)."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", value) if isinstance(value, str) else value


def describe() -> list[tuple[str, str, str]]:
    """(environment name, default, description) for every setting."""
    rows = []
    for field, info in Settings.model_fields.items():
        if field in ("probes", "services"):
            continue
        default = info.default
        shown = "(unset)" if default is None else str(default).rstrip("/")
        rows.append((env_name(field), shown, info.description or ""))
    return rows
