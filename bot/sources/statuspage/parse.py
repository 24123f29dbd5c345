"""Statuspage JSON (v2 API and subscriber webhooks) into normalised events.

Tolerant where real pages differ (unknown fields, `incident_updates` missing, `affected_components:
null`, incident.io-backed pages with ULID ids), strict where the data is unusable: a document that is
not the expected shape raises `ParseError` with one clear line; one broken record is left out and
named (a `Rejected`), the rest of the page still counts, and the listing says it is incomplete, so
an incident that could not be read is never taken for one that vanished.

Values are checked against what the store can hold: times within a sane range (and convertible to
UTC), integers within the 32-bit columns; strings are made storable earlier, by `bot.inputs`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from bot.engine.events import (
    ComponentChange,
    ComponentObserved,
    IncidentObserved,
    PageSnapshot,
    UpdateObserved,
)
from bot.engine.vendor_events import VENDOR_STATUS
from bot.inputs import printable
from bot.store.limits import INT4_MAX, INT4_MIN

log = logging.getLogger(__name__)
SOURCE = "statuspage"


class ParseError(ValueError):
    """The document is not what a Statuspage API returns. `kind` groups refusals for the log:
    `shape` (not the expected document) or `invalid:<field>` (one field failed validation)."""

    def __init__(self, message: str, kind: str = "shape") -> None:
        super().__init__(message)
        self.kind = kind


EARLIEST, LATEST = datetime(1990, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def _moment(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not EARLIEST <= aware <= LATEST:  # compared before converting: far dates overflow astimezone
        raise ValueError(f"a time outside {EARLIEST.year}-{LATEST.year}")
    return aware.astimezone(UTC)


def _known_status(value: str) -> str:
    if value not in VENDOR_STATUS:  # an unknown word must not reopen (or resolve) anything
        raise ValueError(f"not a Statuspage status: {printable(value, 40)!r}")
    return value


def _link_or_none(value: str | None) -> str | None:
    """A link we can put in a message, or none (a bad link is not worth losing the incident over)."""
    return value if value is not None and _LINK.fullmatch(value) else None


_LINK = re.compile(r"https?://[^\s<>|`]{1,500}")
Moment = Annotated[datetime, AfterValidator(_moment)]
Position = Annotated[int, Field(ge=INT4_MIN, le=INT4_MAX)]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]  # Statuspage codes, ULIDs
VendorStatus = Annotated[str, AfterValidator(_known_status)]


@dataclass(frozen=True)
class Rejected:
    """One record left out of a document: which, where, and why (for one log line)."""

    document: str
    ident: str
    field: str
    problem: str

    def line(self) -> str:
        return f"{self.document}: skipped {self.ident}: {self.field}: {self.problem}"


@dataclass(frozen=True)
class Listing:
    """The incidents a document lists, and the records it holds that could not be read."""

    events: tuple[IncidentObserved, ...]
    rejected: tuple[Rejected, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.rejected


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WireAffected(_Wire):
    code: Ident
    name: str = ""
    old_status: str | None = None
    new_status: str = "operational"


class WireUpdate(_Wire):
    id: Ident
    status: VendorStatus
    body: str = ""
    created_at: Moment
    display_at: Moment | None = None
    affected_components: list[WireAffected] | None = None


class WireComponent(_Wire):
    id: Ident
    name: str
    status: str = "operational"
    updated_at: Moment | None = None
    position: Position | None = 0
    group: bool | None = False


class WireIncident(_Wire):
    id: Ident
    name: str
    status: VendorStatus
    impact: str = "none"
    created_at: Moment
    started_at: Moment | None = None
    resolved_at: Moment | None = None
    shortlink: Annotated[str | None, AfterValidator(_link_or_none)] = None
    scheduled_for: Moment | None = None
    incident_updates: list[WireUpdate] = Field(default_factory=list)
    components: list[WireComponent] | None = None

    @field_validator("incident_updates", mode="before")
    @classmethod
    def _null_updates(cls, value: Any) -> Any:
        return [] if value is None else value


def incident_event(raw: WireIncident, service: str, maintenance: bool = False) -> IncidentObserved:
    newest = {u.id: u for u in reversed(raw.incident_updates)}  # one per id, as the page lists it first (newest)
    updates = tuple(_update(u) for u in newest.values())
    components = tuple((c.id, c.name) for c in raw.components or ())
    return IncidentObserved(
        service=service,
        source=SOURCE,
        upstream_id=raw.id,
        title=raw.name,
        status=raw.status,
        impact=raw.impact,
        started_at=raw.started_at or raw.scheduled_for or raw.created_at,
        resolved_at=raw.resolved_at,
        shortlink=raw.shortlink,
        is_maintenance=maintenance or raw.impact == "maintenance",
        components=components,
        updates=tuple(sorted(updates, key=lambda u: u.at)),
    )


def _update(raw: WireUpdate) -> UpdateObserved:
    changes = tuple(
        ComponentChange(a.code, a.name, a.old_status, a.new_status)
        for a in raw.affected_components or ()
        if a.old_status != a.new_status
    )
    return UpdateObserved(
        upstream_id=raw.id,
        status=raw.status,
        body=raw.body.strip(),
        at=raw.display_at or raw.created_at,
        changes=changes,
    )


def component_event(raw: WireComponent, service: str) -> ComponentObserved:
    return ComponentObserved(
        service=service,
        component_id=raw.id,
        name=raw.name,
        status=raw.status,
        at=raw.updated_at,
        position=raw.position or 0,
        is_group=bool(raw.group),
    )


def _document(data: Any, key: str, what: str) -> list[Any]:
    if not isinstance(data, dict):
        raise ParseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    items = data.get(key)
    if not isinstance(items, list):
        raise ParseError(f"{what}: no '{key}' list in the document")
    return items


def _each(items: list[Any], model: type[_Wire], what: str) -> tuple[list[Any], tuple[Rejected, ...]]:
    parsed, rejected = [], []
    for index, item in enumerate(items):
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as exc:
            ident = item.get("id") if isinstance(item, dict) else None
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "item"
            name = printable(ident) if isinstance(ident, str) and ident else f"item {index}"
            rejected.append(Rejected(what, name, printable(field), printable(str(first["msg"]), 120)))
    return parsed, tuple(rejected)


def read_incidents(data: Any, service: str) -> Listing:
    """`/api/v2/incidents.json` (or `incidents/unresolved.json`), with what could not be read."""
    wires, rejected = _each(_document(data, "incidents", "incidents.json"), WireIncident, "incidents.json")
    return Listing(tuple(incident_event(w, service) for w in wires), rejected)


def parse_incidents(data: Any, service: str) -> tuple[IncidentObserved, ...]:
    """The incidents that could be read (backfill, doctor): unreadable ones are logged and left out."""
    listing = read_incidents(data, service)
    for rejected in listing.rejected:
        log.warning("%s", rejected.line())
    return listing.events


def parse_summary(data: Any, service: str) -> PageSnapshot:
    """`/api/v2/summary.json`: components and maintenance windows (incident.io pages omit the latter).
    `rejected` holds the records that could not be read; a maintenance among them makes the snapshot
    incomplete."""
    components, rejected = _each(_document(data, "components", "summary.json"), WireComponent, "summary.json")
    maint_raw = data.get("scheduled_maintenances")
    maintenances = None
    complete = True
    if isinstance(maint_raw, list):
        wires, bad = _each(maint_raw, WireIncident, "summary.json maintenance")
        maintenances = tuple(incident_event(w, service, maintenance=True) for w in wires)
        rejected, complete = rejected + bad, not bad
    return PageSnapshot(
        service=service,
        source=SOURCE,
        components=tuple(component_event(c, service) for c in components),
        maintenances=maintenances,
        complete=complete,
        rejected=tuple(r.line() for r in rejected),
    )


def parse_webhook(data: Any, service: str) -> IncidentObserved | ComponentObserved:
    """A Statuspage subscriber webhook: the incident kind or the component kind."""
    if not isinstance(data, dict):
        raise ParseError("webhook: expected a JSON object")
    try:
        if isinstance(data.get("incident"), dict):
            return incident_event(WireIncident.model_validate(data["incident"]), service)
        if isinstance(data.get("component"), dict):
            return component_event(WireComponent.model_validate(data["component"]), service)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = printable(".".join(str(p) for p in first["loc"]))
        kind = "invalid:" + ".".join(str(p) for p in first["loc"] if not isinstance(p, int))
        raise ParseError(f"webhook: {where}: {printable(str(first['msg']), 120)}", kind[:120]) from None
    raise ParseError("webhook: neither an 'incident' nor a 'component' payload")
