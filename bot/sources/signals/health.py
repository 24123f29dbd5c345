"""Are signals arriving? For `statusbot doctor` when a signal token is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.engine.views import human_duration
from bot.store.db import make_engine
from bot.store.traffic import last_received

NEVER_FIX = (
    "point the reporter (or your sender) at this bot: url = its base URL, token = STATUSBOT_SIGNALS_TOKEN; "
    "check that your app can reach POST /signals/<service>"
)


@dataclass(frozen=True)
class Freshness:
    ok: bool
    detail: str
    fix: str | None = None


def freshness(database_url: str, now: datetime, stale_after: timedelta) -> Freshness:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            last = last_received(session)
    except SQLAlchemyError:
        return Freshness(False, "cannot read the database (see the database check)", "fix the database check first")
    finally:
        engine.dispose()
    if last is None:
        return Freshness(False, "the token is set but no signal has arrived yet", NEVER_FIX)
    age = now - last
    if age > stale_after:
        return Freshness(
            False, f"no signal for {human_duration(age)} (the last at {last:%Y-%m-%d %H:%M} UTC)", NEVER_FIX
        )
    return Freshness(True, f"the last signal arrived {human_duration(age)} ago")
