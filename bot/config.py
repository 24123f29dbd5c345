"""Settings: environment (and `.env`) first, then an optional `statusbot.toml`, then defaults.

Secrets are `SecretStr`: printing a Settings object or logging it never shows them. Each field's
environment name is its alias; in the TOML file the same setting is spelled by its field name
(`poll_interval = 30`). Each kind of source's folder and each chat platform's folder may bring its own
settings (its settings.py's `SETTINGS`), mixed in from the registries (`with_platforms`); code reaches
them through `view`. `describe()` feeds the README's settings table (bot/readme.py).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, TypeVar, cast, get_args, get_origin

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.chat import registry
from bot.engine.resolution import AutoResolve
from bot.problems import USAGE, Problem
from bot.sources import registry as sources
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
    model: str = "claude-haiku-4-5"  # anthropic_messages: the one-model form of `models`
    models: list[str] = Field(default_factory=list)  # anthropic_messages: one outcome stream per model
    latency_threshold_ms: float = Field(5000.0, gt=0)
    components: list[str] = Field(default_factory=list)  # vendor component ids or names this probe stands for
    interval: float | None = Field(None, gt=0)
    service: str | None = None  # which declared service it probes (default: the first)

    @model_validator(mode="after")
    def _url_for_http(self) -> ProbeSpec:
        if self.kind == "http" and self.url is None:
            raise ValueError(f"probe {self.name}: an http probe needs a url")
        if self.models and self.kind != "anthropic_messages":
            raise ValueError(f"probe {self.name}: `models` is for anthropic_messages probes")
        if self.models and "model" in self.model_fields_set:
            raise ValueError(f"probe {self.name}: give `model` or `models`, not both")
        twice = sorted({m for m in self.models if self.models.count(m) > 1})
        if twice:
            raise ValueError(f"probe {self.name}: {', '.join(twice)} is listed more than once in `models`")
        if any(not m.strip() for m in self.models):
            raise ValueError(f"probe {self.name}: a model name in `models` is empty")
        return self

    def streams(self) -> list[tuple[str, str | None]]:
        """(stream key, model) per outcome stream: one model (or none) keeps the probe's name as its key,
        so existing data stays valid; several models are `<probe>:<model>` each."""
        if self.kind != "anthropic_messages":
            return [(self.name, None)]
        if len(self.models) <= 1:
            return [(self.name, (self.models or [self.model])[0])]
        return [(f"{self.name}:{model}", model) for model in self.models]


class Channels(BaseModel):
    """A table that may name a channel per platform: each platform adds its key (`CHANNELS`)."""

    def channel(self, key: str) -> str | None:
        """The channel this table names under one platform's key, if it names one."""
        value = getattr(self, key, None)
        return value if isinstance(value, str) else None


class RouteSpec(Channels):
    """Send a service's incidents on these components (or of these impacts) to their own channel."""

    model_config = ConfigDict(extra="forbid")

    components: list[str] = Field(default_factory=list)  # names or ids; empty: any
    impact: list[Literal["none", "minor", "major", "critical", "maintenance"]] = Field(default_factory=list)


class ServiceSpec(Channels):
    """One watched vendor, declared as a `[[services]]` table in statusbot.toml."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    statuspage_url: HttpUrl
    command: str | None = Field(None, pattern=r"^/[a-z0-9_-]{1,31}$")  # default: /<name>
    routes: list[RouteSpec] = Field(default_factory=list)

    @property
    def page_base(self) -> str:
        return str(self.statuspage_url).rstrip("/")

    @property
    def slash(self) -> str:
        return self.command or f"/{self.name}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite:///statusbot.db",
        validation_alias=_env("DATABASE_URL", "database_url"),
        description="SQLAlchemy URL of the database.",
    )
    statuspage_url: HttpUrl = Field(
        HttpUrl("https://status.claude.com"),
        validation_alias=_env("STATUSPAGE_URL", "statuspage_url"),
        description="Base URL of the vendor's Atlassian Statuspage (its API is under `/api/v2/`).",
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
        description="Seconds between outbox sweeps. Delivery also starts at once on each change.",
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
        description="Port of the HTTP server (health, webhooks, chat events); 0 picks a free one.",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=_env("STATUSBOT_WEBHOOK_SECRET", "webhook_secret"),
        description="Secret path part of the Statuspage webhook URL. The route is off without it.",
    )
    console: bool | None = Field(
        None,
        validation_alias=_env("STATUSBOT_CONSOLE", "console"),
        description="Print incident threads to stdout. Default: on when no chat is configured.",
    )
    command: str = Field(
        "/claude",
        pattern=r"^/[a-z0-9_-]{1,31}$",
        validation_alias=_env("STATUSBOT_COMMAND", "command"),
        description="The slash command's name, as created in each chat platform.",
    )
    responders: str = Field(
        "",
        validation_alias=_env("STATUSBOT_RESPONDERS", "responders"),
        description="Comma-separated chat user ids who may ack and resolve. Empty: anyone.",
    )
    anthropic_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("ANTHROPIC_API_KEY", "anthropic_api_key"),
        description="API key for the Anthropic probes. Without it they are off.",
    )
    anthropic_base_url: HttpUrl = Field(
        HttpUrl("https://api.anthropic.com"),
        validation_alias=_env("ANTHROPIC_BASE_URL", "anthropic_base_url"),
        description="Anthropic API base URL, for proxies and tests.",
    )
    probe_interval: PositiveSeconds = Field(
        30.0,
        validation_alias=_env("STATUSBOT_PROBE_INTERVAL", "probe_interval"),
        description="Seconds between probes while all is well.",
    )
    probe_fast_interval: PositiveSeconds = Field(
        6.0,
        validation_alias=_env("STATUSBOT_PROBE_FAST_INTERVAL", "probe_fast_interval"),
        description="Seconds between the free `count_tokens` probes of each model (and twice that between its "
        "`GET /v1/models/{id}` probes, offset by half of it); the paid Messages call runs at `probe_interval`.",
    )
    probe_recheck: PositiveSeconds = Field(
        15.0,
        validation_alias=_env("STATUSBOT_PROBE_RECHECK", "probe_recheck"),
        description="Seconds between probes while a stream looks suspicious or is failing; never less than half "
        "the interval, so an incident costs at most twice the normal rate.",
    )
    probe_timeout: PositiveSeconds = Field(
        10.0,
        validation_alias=_env("STATUSBOT_PROBE_TIMEOUT", "probe_timeout"),
        description="Timeout of one probe attempt. There are no hidden retries.",
    )
    probe_open_after: int = Field(
        5,
        ge=1,
        validation_alias=_env("STATUSBOT_PROBE_OPEN_AFTER", "probe_open_after"),
        description="Consecutive failures (over at least 6 s) that open an incident at once: the hard-outage "
        "path. Partial error rates open by the error-rate test against the stream's own baseline.",
    )
    probe_resolve_after: int = Field(
        2,
        ge=1,
        validation_alias=_env("STATUSBOT_PROBE_RESOLVE_AFTER", "probe_resolve_after"),
        description="Consecutive successes needed (with the error-rate evidence of recovery) to resolve it.",
    )
    probe_flap_cycles: int = Field(
        3,
        ge=1,
        validation_alias=_env("STATUSBOT_PROBE_FLAP_CYCLES", "probe_flap_cycles"),
        description="More open/close cycles than this within the window mark the incident flapping.",
    )
    probe_flap_window: PositiveSeconds = Field(
        3600.0,
        validation_alias=_env("STATUSBOT_PROBE_FLAP_WINDOW", "probe_flap_window"),
        description="The window, in seconds, for counting flapping cycles.",
    )
    probe_reopen_window: PositiveSeconds = Field(
        1800.0,
        validation_alias=_env("STATUSBOT_PROBE_REOPEN_WINDOW", "probe_reopen_window"),
        description="Failing again within this many seconds of recovery reopens the same incident.",
    )
    connectivity_url: HttpUrl = Field(
        HttpUrl("https://www.google.com/generate_204"),
        validation_alias=_env("STATUSBOT_CONNECTIVITY_URL", "connectivity_url"),
        description="An independent target, checked before the vendor is blamed.",
    )
    probe_retention_days: float = Field(
        7.0,
        gt=0,
        validation_alias=_env("STATUSBOT_PROBE_RETENTION_DAYS", "probe_retention_days"),
        description="Days raw probe results are kept before the per-minute rollups.",
    )
    probes: list[ProbeSpec] = Field(default_factory=list, description="`[[probes]]` tables (TOML only).")
    services: list[ServiceSpec] = Field(default_factory=list, description="`[[services]]` tables (TOML only).")
    catchup_hours: float = Field(
        6.0,
        ge=0,
        validation_alias=_env("STATUSBOT_CATCHUP_HOURS", "catchup_hours"),
        description="After a downtime shorter than this, missed updates are posted in order. After a longer one, "
        "incidents that resolved meanwhile are recorded silently.",
    )
    retention_days: float | None = Field(
        None,
        gt=0,
        validation_alias=_env("STATUSBOT_RETENTION_DAYS", "retention_days"),
        description="Delete the timelines of incidents resolved this many days ago. Default: keep everything.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        validation_alias=_env("STATUSBOT_LOG_FORMAT", "log_format"),
        description="`text`, or `json` for one JSON object per line (with `incident`, `source` and `service` "
        "where they apply).",
    )
    remind_every: float = Field(
        15.0,
        ge=0,
        validation_alias=_env("STATUSBOT_REMIND_EVERY", "remind_every"),
        description="Minutes between reminders of an unacknowledged incident. 0 turns them off.",
    )
    escalate_after: float = Field(
        30.0,
        ge=0,
        validation_alias=_env("STATUSBOT_ESCALATE_AFTER", "escalate_after"),
        description="Minutes unacknowledged before the escalation target is called. 0 turns escalation off.",
    )
    quiet_hours: str = Field(
        "",
        pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
        validation_alias=_env("STATUSBOT_QUIET_HOURS", "quiet_hours"),
        description="No reminders in this span, e.g. `22:00-07:00`. Reminders wait until it ends.",
    )
    timezone: str = Field(
        "UTC",
        validation_alias=_env("STATUSBOT_TIMEZONE", "timezone"),
        description="Time zone of the quiet hours (an IANA name).",
    )
    models_in_use: str = Field(
        "",
        validation_alias=_env("STATUSBOT_MODELS_IN_USE", "models_in_use"),
        description="Comma-separated API model ids that matter here (e.g. `claude-opus-4-5,claude-sonnet-4-6`). "
        "A vendor incident that names only other models is marked 'does not affect the models we use', merges "
        "with none of ours and stays quiet (no reminders, no escalation). Default: the models your probes call "
        "and the models your own traffic has reported.",
    )
    auto_resolve: AutoResolve = Field(
        AutoResolve.VENDOR,
        validation_alias=_env("STATUSBOT_AUTO_RESOLVE", "auto_resolve"),
        description="Who closes an incident that both the vendor and our probes saw: `vendor`, `agree` (both must "
        "say so) or `either`.",
    )
    templates_dir: str | None = Field(
        None,
        validation_alias=_env("STATUSBOT_TEMPLATES", "templates_dir"),
        description="A folder with your own `postmortem.md.j2`. Default: the shipped `templates/`.",
    )
    postmortem_dir: str = Field(
        "postmortems",
        validation_alias=_env("STATUSBOT_POSTMORTEM_DIR", "postmortem_dir"),
        description="Where the terminal output writes postmortem drafts and charts.",
    )
    log_level: str = Field(
        "INFO",
        pattern=r"(?i)^(debug|info|warning|error)$",
        validation_alias=_env("STATUSBOT_LOG_LEVEL", "log_level"),
        description="`debug`, `info`, `warning` or `error`. Logs go to stderr.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not (urls.is_sqlite(value) or urls.is_postgres(value)):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        if problem := urls.missing_driver(value):
            raise ValueError(problem)
        return urls.normalise(value)

    def effective_services(self) -> list[ServiceSpec]:
        """Declared services; by default the one named by STATUSBOT_SERVICE / STATUSPAGE_URL."""
        return self.services or [
            ServiceSpec(
                name=self.service_name,
                statuspage_url=self.statuspage_url,
                command=self.command,
            )
        ]

    def service_of(self, probe: ProbeSpec) -> str:
        return probe.service or self.effective_services()[0].name

    def models_used(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the models set in `models_in_use`, the models the probes call)."""
        configured = tuple(m.strip() for m in self.models_in_use.split(",") if m.strip())
        probed = {model for p in self.effective_probes() for _, model in p.streams() if model}
        return configured, tuple(sorted(probed))

    def probe_streams(self) -> list[tuple[str, str | None]]:
        """(stream key, model) of every probe stream, in declaration order."""
        return [stream for p in self.effective_probes() for stream in p.streams()]

    def probe_components(self) -> dict[str, list[str]]:
        """The vendor components each probe stream stands for (its probe's)."""
        return {key: p.components for p in self.effective_probes() for key, _ in p.streams()}

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
        probes = [p.name for p in self.probes]
        twice = sorted({name for name in probes if probes.count(name) > 1})
        if twice:
            raise ValueError(
                f"{config_path() or DEFAULT_CONFIG_FILE}: [[probes]] names must be unique; "
                f"{', '.join(twice)} is declared more than once"
            )
        known = {s.name for s in self.effective_services()}
        for probe in self.probes:
            if probe.service is not None and probe.service not in known:
                raise ValueError(
                    f"{config_path() or DEFAULT_CONFIG_FILE}: probe {probe.name} names an unknown "
                    f"service {probe.service!r}"
                )
        return self

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


# ------------------------------------------------------------------------ every platform's own settings
class Composed(NamedTuple):
    settings: type[Settings]
    service: type[ServiceSpec]
    route: type[RouteSpec]


def source_settings() -> list[type[BaseModel]]:
    """The settings models of the kinds of source that have their own (bot/sources/registry.py)."""
    return [
        import_module(f"{package}.settings").SETTINGS
        for package in sources.SOURCES
        if find_spec(f"{package}.settings") is not None
    ]


def with_platforms(platforms: Sequence[str]) -> Composed:
    """The settings with each kind of source's and each platform's own mixed in (their fields and
    checks), and each platform's channel key accepted in `[[services]]` and `[[services.routes]]`.
    `Settings`, `ServiceSpec` and `RouteSpec` are these, built once from the registries when this module
    loads (bot/sources/registry.py, bot/chat/registry.py)."""
    owned = [import_module(f"{package}.settings") for package in platforms]
    channels = tuple(module.CHANNELS for module in owned)
    route: Any = create_model("RouteSpec", __base__=(RouteSpec, *channels), __module__=__name__)
    service: Any = create_model(
        "ServiceSpec",
        __base__=(ServiceSpec, *channels),
        __module__=__name__,
        routes=(list[route], Field(default_factory=list)),
    )
    services = Settings.model_fields["services"]
    settings: Any = create_model(
        "Settings",
        __base__=(Settings, *source_settings(), *(module.SETTINGS for module in owned)),
        __module__=__name__,
        services=(list[service], Field(default_factory=list, description=services.description)),
    )
    return Composed(
        cast("type[Settings]", settings), cast("type[ServiceSpec]", service), cast("type[RouteSpec]", route)
    )


CoreSettings = Settings
M = TypeVar("M", bound=BaseModel)


def view(settings: Settings, part: type[M]) -> M:
    """A source's typed view of its own settings (they are one object, `part` mixed in by the registry)."""
    if not isinstance(settings, part):
        raise TypeError(f"{type(settings).__name__} has no {part.__name__} (is its folder registered?)")
    return settings


if not TYPE_CHECKING:  # mypy sees the core alone: a platform's own settings are reached by its Room only
    Settings, ServiceSpec, RouteSpec = with_platforms(registry.PLATFORMS)


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


def env_name(field: str, info: FieldInfo | None = None) -> str:
    alias = (info or Settings.model_fields[field]).validation_alias
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


def settings_or_problem(**overrides: Any) -> Settings:
    """The settings, or a Problem (exit status 2) naming the wrong one: how every command starts."""
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise Problem(f"configuration error: {exc}", USAGE) from None


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


class Row(NamedTuple):
    env: str
    toml: str | None  # None: a secret, which belongs in the environment
    default: str
    meaning: str


def describe() -> list[Row]:
    """Every setting: the core's in the order declared, then each registered kind of source's own, then
    each registered platform's own."""
    groups: list[type[BaseModel]] = [CoreSettings, *source_settings()]
    groups += [import_module(f"{package}.settings").SETTINGS for package in registry.PLATFORMS]
    rows, seen = [], {"probes", "services"}  # TOML tables, documented with their sections
    for group in groups:
        for field, info in group.model_fields.items():
            if field in seen:
                continue
            seen.add(field)
            secret = info.annotation in (SecretStr, SecretStr | None)
            rows.append(
                Row(env_name(field, info), None if secret else field, _shown(info.default), info.description or "")
            )
    return rows


def _shown(default: Any) -> str:
    if default is None:
        return "(unset)"
    return "(empty)" if default == "" else str(default).rstrip("/")
