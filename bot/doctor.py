"""`statusbot doctor`: check the whole set-up, one line per check, with a fix for each failure.

`plan` lists the checks the settings call for: the database, then each kind of source's own (its
folder's checks.py: each service's status page, the Anthropic key, the signals), then each chat
platform's own (its folder's doctor.py: token, scopes, each channel the bot posts to, …). Each check
is a small coroutine answering a `Check`; `run_checks` runs them all at once, each under its own time
limit, so one hanging service cannot hang the run, and turns any exception into a failed check with a
one-line reason. Checks for what is not configured are skipped and count as passing. Answers several
checks need (a platform's "who am I") are fetched once (`Doctor.once`); a check that needs a working
token is skipped while the token fails, so one broken piece gives one failing line. No secret is ever
printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot import tls
from bot.chat.room import rooms
from bot.config import Settings
from bot.sources.kind import source_kinds
from bot.sources.statuspage.client import USER_AGENT
from bot.store.db import alembic_config, make_engine

CHECK_TIMEOUT = 10.0
NOT_CONFIGURED = "not configured"
T = TypeVar("T")

UPGRADE = "run `statusbot db upgrade`"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return f"– {self.name}: {self.detail}"
        if self.ok:
            return f"✔ {self.name}: {self.detail}"
        return f"✘ {self.name}: {self.detail}" + (f" — fix: {self.fix}" if self.fix else "")


# Check functions answer with these; the runner names the answer after the check's Spec.
def passed(detail: str) -> Check:
    return Check("", True, detail)


def failed(detail: str, fix: str) -> Check:
    return Check("", False, detail, fix)


def skipped(why: str) -> Check:
    return Check("", True, f"skipped: {why}", skipped=True)


class Unreachable(Exception):
    """A request got no HTTP answer; the message names the host, never a path (paths can hold tokens)."""


class Doctor:
    """One run: the settings, one HTTP client, and answers several checks share (each fetched once)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(
            timeout=settings.http_timeout, headers={"User-Agent": USER_AGENT}, verify=tls.context()
        )
        self._shared: dict[str, asyncio.Task[Any]] = {}

    async def once(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        if key not in self._shared:
            self._shared[key] = asyncio.ensure_future(make())
        return await asyncio.shield(self._shared[key])  # one check's time-out must not cancel the others'

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.get(url, **kwargs)
        except httpx.TimeoutException:
            raise Unreachable(f"{origin(url)} did not answer within {self.settings.http_timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot reach {origin(url)} ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        for task in self._shared.values():
            task.cancel()
        await asyncio.gather(*self._shared.values(), return_exceptions=True)
        await self.http.aclose()


# ------------------------------------------------------------------------------------------- database
async def check_database(doctor: Doctor) -> Check:
    return await in_daemon_thread(lambda: _database(doctor.settings.database_url))


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """Not asyncio.to_thread: asyncio.run waits for the default executor at exit, so a database that never
    answers would hang doctor after its check had timed out."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(settles: Callable[[], None]) -> None:
        if not future.done():
            settles()

    def run() -> None:
        try:
            result = work()
            outcome = partial(future.set_result, result)
        except Exception as exc:
            outcome = partial(future.set_exception, exc)
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="doctor-database", daemon=True).start()
    return await future


def _database(url: str) -> Check:
    try:
        parsed = make_url(url)
    except ArgumentError:  # its message would quote the URL, password and all
        return failed("DATABASE_URL is not a database URL", "set it to sqlite:///PATH or postgresql://…")
    shown = parsed.render_as_string(hide_password=True)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).expanduser().is_file():
        return failed(f"there is no database file at {file}", UPGRADE)  # and connecting would create one
    scripts = ScriptDirectory.from_config(alembic_config(url))
    head, current = scripts.get_current_head(), _revision(url)
    if current == head:
        return passed(f"{shown} is reachable and migrated (revision {head})")
    if current is None:
        return failed(f"{shown} has no statusbot schema yet", UPGRADE)
    if current not in {script.revision for script in scripts.walk_revisions()}:
        return failed(
            f"{shown} is at revision {current}, which this statusbot does not know",
            "upgrade statusbot to the version that wrote it, or point DATABASE_URL at the right database",
        )
    return failed(f"{shown} is at revision {current}, not the newest ({head})", UPGRADE)


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Spec:
    name: str
    run: Callable[[Doctor], Awaitable[Check]]
    fix: str  # what to look at when the check cannot finish (no answer, an unexpected error)


def plan(settings: Settings) -> list[Spec]:
    """The checks these settings call for, in the order they are printed."""
    specs = [
        Spec("database", check_database, f"check DATABASE_URL (and that the database server is up), then {UPGRADE}")
    ]
    for kind in source_kinds():
        specs += kind.checks(settings)
    for room in rooms():
        specs += room.checks(settings, room.channels_in_use(settings))
    return specs


def named(check: str, target: str | None, count: int) -> str:
    """`… channel C123` when there are several of that check, else just `… channel`."""
    return f"{check} {target}" if count > 1 and target else check


# ------------------------------------------------------------------------------------------- runner
async def run_checks(
    settings: Settings, timeout: float | None = None, checks: Iterable[Spec] | None = None
) -> list[Check]:
    """Every check of `plan(settings)`, in order. Each gets `timeout` seconds (default 10 s, or two HTTP
    time-outs if that is longer)."""
    limit = timeout if timeout is not None else max(CHECK_TIMEOUT, 2 * settings.http_timeout)
    doctor = Doctor(settings)
    try:
        results = await asyncio.gather(
            *(_run_one(spec, doctor, limit) for spec in (plan(settings) if checks is None else checks))
        )
    finally:
        await doctor.aclose()
    redact = _redactor(settings)
    return [replace(c, detail=redact(c.detail), fix=c.fix and redact(c.fix)) for c in results]


async def _run_one(spec: Spec, doctor: Doctor, limit: float) -> Check:
    try:
        return replace(await asyncio.wait_for(spec.run(doctor), limit), name=spec.name)
    except TimeoutError:
        return Check(spec.name, False, f"no answer within {limit:g} s", spec.fix)
    except Exception as exc:  # a check reports, it never raises: one line, no traceback
        return Check(spec.name, False, _one_line(exc), spec.fix)


def _one_line(exc: Exception, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    text = text if isinstance(exc, Unreachable) else f"{type(exc).__name__}: {text}".rstrip(": ")
    return text[:limit] + ("…" if len(text) > limit else "")


def origin(url: str) -> str:
    """Scheme, host and port of a URL: never its path, which can hold a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _redactor(settings: Settings) -> Callable[[str], str]:
    """Blank out every secret the settings hold, wherever a message might have picked one up."""
    fields = (getattr(settings, name) for name in type(settings).model_fields)
    values = [field.get_secret_value() for field in fields if isinstance(field, SecretStr)]
    for room in rooms():
        values += room.secrets(room.own(settings))
    values += [password] if (password := _db_password(settings.database_url)) else []
    secrets = sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    return redact


def _db_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:  # the database check says so
        return None
