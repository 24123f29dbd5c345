"""Alertmanager's webhook payload, version 4, as its documentation gives it. Fields we do not use are
accepted and ignored (Alertmanager may add some); the ones we use are checked."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

MAX_ALERTS = 1000
ZERO_TIME = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
_NAME_PART = re.compile(r"[^A-Za-z0-9_.-]+")


class PayloadError(ValueError):
    """Not a version-4 Alertmanager payload; the message names the field."""


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL", max_length=2000)
    fingerprint: str = Field(pattern=r"^[0-9a-zA-Z]{1,64}$")

    @property
    def name(self) -> str:
        return _NAME_PART.sub("_", self.labels.get("alertname", "alert"))[:60] or "alert"

    @property
    def ended_at(self) -> datetime | None:
        return None if self.ends_at is None or self.ends_at <= ZERO_TIME else self.ends_at


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[Alert] = Field(max_length=MAX_ALERTS)
    group_key: str = Field("", alias="groupKey")
    truncated_alerts: int = Field(0, ge=0, alias="truncatedAlerts")
    external_url: str = Field("", alias="externalURL")


def parse(data: object) -> Payload:
    try:
        return Payload.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise PayloadError(f"{where}: {error['msg']}"[:300]) from None
