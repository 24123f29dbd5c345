"""`statusbot`: run the bot, manage its database, look at and act on incidents from a shell.

Start-up stays light: this module imports only typer and the standard library, and each command
imports what it needs when it runs, so `--help`, `status`, `incidents` and `show` never load a chat
library, matplotlib or Alembic. Every mistake is one line on stderr with exit status 2 (the command
line or a setting is wrong) or 1 (it could not be done): see bot/problems.py and bot/cli_errors.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.chat import registry
from bot.cli_errors import OneLineGroup
from bot.problems import USAGE, Problem

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store.db import Database
    from bot.store.reader import Reader

app = typer.Typer(
    cls=OneLineGroup,
    help="Watches a vendor's status page and runs each incident as one chat thread.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags read as flags, and rich is never imported
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable keys).")]
IncidentArg = Annotated[str, typer.Argument(metavar="ID", help="The incident's number: 12 or #12.", show_default=False)]
By = Annotated[str, typer.Option("--by", help="Who is acting (shown in the thread).", show_default=False)]
Db = Annotated[
    str | None,
    typer.Option("--db", help="The database: a SQLite file or a URL. Default: DATABASE_URL.", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"statusbot {version('statusbot')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Watches a vendor's status page and runs each incident as one chat thread."""


# -- plumbing ----------------------------------------------------------------------------------
def _settings(db: str | None = None) -> Settings:
    from bot.config import settings_or_problem

    overrides = {} if db is None else {"database_url": db if "://" in db else f"sqlite:///{Path(db).absolute()}"}
    return settings_or_problem(**overrides)


def _reading(action: Callable[[Settings, Database], T], db: str | None) -> T:
    """Commands that only read: the database must exist, and is neither created nor migrated."""
    return _with_database(action, db, create=False)


def _looking(action: Callable[[Settings, Reader], T], db: str | None) -> T:
    """`status`, `incidents` and `show` read as `_reading` does, but without the ORM, whose import
    alone would take most of their 0.4 s (bot/store/reader.py)."""
    from bot.store.reader import Reader

    with _database_settings(db, create=False) as settings, Reader.open(settings.database_url) as reader:
        return action(settings, reader)


def _changing(action: Callable[[Settings, Database], T], db: str | None, *, create: bool = False) -> T:
    """Commands that change incidents: the database must exist (unless `create`); it is migrated first."""
    return _with_database(action, db, create=create, migrate=True)


def _with_database(
    action: Callable[[Settings, Database], T], db: str | None, *, create: bool, migrate: bool = False
) -> T:
    from bot.store.db import Database

    with _database_settings(db, create=create) as settings:
        database = Database(settings.database_url)
        try:
            if migrate:
                database.upgrade()
            return action(settings, database)
        finally:
            database.dispose()


@contextmanager
def _database_settings(db: str | None, *, create: bool) -> Iterator[Settings]:
    """The settings, inside which a database failure is one line; the database must exist unless `create`."""
    settings = _settings(db)
    from bot import logs
    from bot.store.errors import database_errors, require_existing

    logs.setup("WARNING")
    with database_errors(settings.database_url):
        if not create:
            require_existing(settings.database_url)
        yield settings


def _incident_number(text: str) -> int:
    from bot.commands.arguments import BadArgument, incident_number

    try:
        return incident_number(text.strip())
    except BadArgument as exc:
        raise Problem(f"{exc} Give the incident's number, e.g. 12 or #12.", USAGE) from None


def _run(coroutine: Any) -> Any:
    import asyncio

    return asyncio.run(coroutine)


def _now() -> datetime:
    return datetime.now(UTC)


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# -- the bot -----------------------------------------------------------------------------------
@app.command()
def run() -> None:
    """Run the bot: poll, serve HTTP, deliver to the chats.

    Polls the status page (and the probes), serves /healthz, /metrics and the webhooks, and delivers
    incident threads to the configured chats. Upgrades the database first. Stops on SIGTERM.
    """
    from bot.serve import serve  # `statusbot run` itself comes there without this parser: bot/launch.py

    serve()


@app.command()
def doctor(db: Db = None) -> None:
    """Check the whole set-up: one line per check, with its fix.

    The database, each status page, the API key, each chat platform. Exit status 0 when all pass.
    """
    settings = _settings(db)
    from bot import logs
    from bot.doctor import run_checks

    logs.setup("ERROR")
    checks = _run(run_checks(settings))
    for check in checks:
        typer.echo(check.line())
    raise typer.Exit(0 if all(check.ok for check in checks) else 1)


@app.command()
def demo(delay: Annotated[float, typer.Option(min=0, help="Seconds between replayed steps.")] = 0.05) -> None:
    """Replay a 3-hour Claude outage, offline, in seconds.

    The whole pipeline runs in simulated time; the database it leaves (./statusbot-demo.db) is yours
    to try `show`, `ack`, `stats` and `postmortem` on.
    """
    from bot import logs
    from bot.demo.replay import run_demo

    logs.setup("WARNING")
    if not _run(run_demo(sys.stdout, delay=delay)):
        raise typer.Exit(1)


# -- the database ------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(db: Db = None) -> None:
    """Create or migrate the database schema to the newest revision."""
    settings = _settings(db)
    from bot.store.db import current_revision, upgrade
    from bot.store.errors import database_errors, shown_url

    url = settings.database_url
    with database_errors(url):
        upgrade(url)
        revision = current_revision(url)
    typer.echo(f"{shown_url(url)} is at the newest schema revision ({revision})")


@db_app.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the copy (a file or a folder).")],
    db: Db = None,
) -> None:
    """Copy the SQLite database while the bot runs (SQLite's online backup)."""
    settings = _settings(db)
    from bot.store.backup import backup

    typer.echo(backup(settings.database_url, target))


@app.command()
def backfill(
    since: Annotated[datetime | None, typer.Option(help="Only incidents started since (YYYY-MM-DD).")] = None,
    db: Db = None,
) -> None:
    """Import older history from the page, posting nothing."""

    def go(settings: Settings, database: Database) -> None:
        from bot.clock import SystemClock
        from bot.engine.incidents import IncidentEngine

        engine = IncidentEngine(database, _configured_sinks(settings), SystemClock())
        start = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
        for service in settings.effective_services():
            count = _run(_backfill_one(settings, engine, service.name, service.page_base, start))
            typer.echo(f"{service.name}: {count} incidents imported as history (nothing posted)")

    _changing(go, db, create=True)


async def _backfill_one(settings: Settings, engine: Any, service: str, page_url: str, since: datetime | None) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from bot.sources.statuspage.backfill import backfill as run_backfill
    from bot.sources.statuspage.client import FetchError, StatuspageClient
    from bot.sources.statuspage.parse import ParseError

    client = StatuspageClient(page_url, settings.http_timeout)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
        task = bar.add_task(f"{service}: reading page 1")
        try:
            return await run_backfill(
                client,
                engine,
                service,
                since,
                lambda page, count: bar.update(task, description=f"{service}: page {page}, {count} incidents imported"),
            )
        except (FetchError, ParseError) as exc:
            raise Problem(f"backfill of {service} stopped: {exc}") from None
        finally:
            await client.aclose()


@db_app.command("copy")
def db_copy(
    to: Annotated[str, typer.Option("--to", metavar="URL", help="The empty database to fill (postgresql://…).")],
    db: Db = None,
) -> None:
    """Copy every table into another database (SQLite → PostgreSQL) and check the row counts. Stop the bot first."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot import logs
    from bot.store import urls
    from bot.store.copy import CopyError, copy
    from bot.store.db import Database
    from bot.store.errors import describe

    settings = _settings(db)
    logs.setup("WARNING")
    if not (urls.is_sqlite(to) or urls.is_postgres(to)):
        raise Problem("db copy: --to must be a sqlite:/// or postgresql:// URL", USAGE)
    if problem := urls.missing_driver(to):
        raise Problem(f"db copy --to: {problem}", USAGE)
    source, target = Database(settings.database_url), Database(urls.normalise(to))
    try:
        copied = copy(source, target)
    except CopyError as exc:
        raise Problem(f"db copy: {exc}") from None
    except SQLAlchemyError as exc:
        raise Problem(f"db copy: {describe(exc)}") from None
    finally:
        source.dispose()
        target.dispose()
    for item in copied:
        typer.echo(f"{item.table}: {item.rows} rows")
    typer.echo(f"copied {sum(c.rows for c in copied)} rows in {len(copied)} tables; every count matches")


# -- looking -----------------------------------------------------------------------------------
@app.command()
def status(as_json: JsonFlag = False, db: Db = None) -> None:
    """Components and open incidents, from the database."""

    def show(settings: Settings, reader: Reader) -> None:
        from bot.engine.probe_lines import stream_line
        from bot.serialize import component_json, incident_json

        comps = reader.components()
        open_ = reader.incidents()
        views = [reader.card(i) for i in open_]
        streams = reader.probe_statuses(settings.probe_streams())
        now = _now()
        if as_json:
            _emit(
                {
                    "components": [component_json(c) for c in comps],
                    "open_incidents": [incident_json(i, now, v) for i, v in zip(open_, views, strict=True)],
                    "probes": [s.json() for s in streams],
                }
            )
            return
        for service in settings.effective_services():
            typer.echo(f"{service.name} ({service.page_base})")
            own = [c for c in comps if c.service == service.name]
            for comp in own:
                typer.echo(f"  {comp.status.replace('_', ' '):<22} {comp.name}")
            if not own:
                typer.echo("  no components seen yet (is `statusbot run` running?)")
        typer.echo(f"open incidents: {len(open_)}")
        _print_table(open_, now)
        for stream in streams:
            typer.echo(stream_line(stream, now))

    _looking(show, db)


ROW = "  {id:<6} {status:<13} {impact:<8} {started:<16}  {lasted:>8}  {acked:<22} {title}"


def _print_table(incidents: Sequence[Any], now: datetime) -> None:
    from bot.engine.views import card, human_duration

    if not incidents:
        return
    header = {"started": "STARTED (UTC)", "lasted": "DURATION", "acked": "ACKNOWLEDGED"}
    typer.echo(ROW.format(id="ID", status="STATUS", impact="IMPACT", title="TITLE", **header))
    for incident in incidents:
        view = card(incident)
        typer.echo(
            ROW.format(
                id=f"#{view.id}",
                status=view.status.replace("_", " "),
                impact=view.impact,
                started=f"{view.started_at:%Y-%m-%d %H:%M}",
                lasted=human_duration(view.duration(now)),
                acked=f"by {view.acknowledged_by}" if view.acknowledged_by else "not acknowledged",
                title=view.title,
            )
        )


@app.command()
def incidents(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved incidents.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 20,
    as_json: JsonFlag = False,
    db: Db = None,
) -> None:
    """Open incidents (or all, newest first)."""

    def show(settings: Settings, reader: Reader) -> None:
        from bot.serialize import incident_json

        rows = reader.incidents(include_resolved=all_, limit=limit)
        if as_json:
            _emit([incident_json(i, _now(), reader.card(i)) for i in rows])
            return
        _print_table(rows, _now())
        if not rows:
            typer.echo("no incidents" if all_ else "no open incidents")

    _looking(show, db)


@app.command()
def show(incident_id: IncidentArg, as_json: JsonFlag = False, db: Db = None) -> None:
    """One incident and its whole timeline."""
    number = _incident_number(incident_id)

    def show_one(settings: Settings, reader: Reader) -> None:
        from bot.serialize import entry_json, incident_json

        incident = reader.incident(number)
        if incident is None:
            raise Problem(f"there is no incident #{number} (`statusbot incidents --all` lists them)")
        entries = reader.timeline(number)
        view = reader.card(incident)
        if as_json:
            _emit({**incident_json(incident, _now(), view), "timeline": [entry_json(e) for e in entries]})
            return
        for line in _describe(incident, entries):
            typer.echo(line)

    _looking(show_one, db)


def _describe(incident: Any, entries: Sequence[Any]) -> list[str]:
    from bot.engine.views import card, human_duration

    view = card(incident)
    figures = view.durations(_now())
    link = f"  {view.shortlink}" if view.shortlink else ""
    tta = human_duration(figures.tta) + (f" ({view.acknowledged_by})" if view.acknowledged_by else "")
    facts = [
        f"started {view.started_at:%Y-%m-%d %H:%M} UTC",
        f"{'lasted' if view.resolved_at else 'open for'} {human_duration(figures.lasted)}",
        f"TTA {tta}",
        f"TTR {human_duration(figures.ttr)}",
        f"vendor TTR {human_duration(figures.vendor_ttr)}",
        f"lead {figures.lead_text}",
    ]
    components = ", ".join(view.components) or "no components named"
    lines = [
        f"#{view.id} {view.title}",
        f"  {view.status.replace('_', ' ')}, {view.impact} impact, {components}{link}",
        "  " + " · ".join(facts),
    ]
    if not figures.detected:
        lines.append("  recorded as history (statusbot did not see it live): no figures from our detection")
    for entry in entries:
        who = f" ({entry.actor})" if entry.actor and entry.actor not in entry.body else ""
        lines.append(f"  {entry.at:%Y-%m-%d %H:%M}  {entry.kind:<14} {entry.status or '':<13} {entry.body}{who}")
    return lines


@app.command()
def stats(
    window: Annotated[str, typer.Option(help="7d, 30d or 90d.")] = "30d",
    as_json: JsonFlag = False,
    db: Db = None,
) -> None:
    """MTTA, MTTR, vendor impact, probe uptime, our lead.

    MTTA and MTTR as median and p90, minutes of vendor impact by component, probe uptime, and the
    median lead of our detection over the vendor's first update.
    """
    windows = {"7d": 7, "30d": 30, "90d": 90}
    if window not in windows:
        raise Problem(f"--window must be one of {', '.join(windows)} (got {window[:20]!r})", USAGE)

    def show(settings: Settings, database: Database) -> None:
        from dataclasses import asdict

        from bot import stats as figures

        result = figures.compute(database, _now(), windows[window], settings.probe_components())
        if as_json:
            _emit({**asdict(result), "since": result.since.isoformat().replace("+00:00", "Z")})
            return
        typer.echo("\n".join(figures.describe(result)))

    _reading(show, db)


# -- acting ------------------------------------------------------------------------------------
def _act(incident_id: str, by: str, verb: str, db: str | None) -> None:
    number = _incident_number(incident_id)
    name = " ".join(by.split())
    if not name:
        raise Problem("--by needs the name of who is acting, e.g. --by alice (it is shown in the thread)", USAGE)

    def act(settings: Settings, database: Database) -> None:
        from bot.clock import SystemClock
        from bot.engine.events import Actor
        from bot.engine.incidents import ActionError, IncidentEngine
        from bot.store import wakeups

        # The running bot's delivery worker posts the outbox rows this writes (woken at once on PostgreSQL).
        engine = IncidentEngine(
            database,
            _configured_sinks(settings),
            SystemClock(),
            on_commit=lambda: wakeups.notify(database, wakeups.OUTBOX),
        )
        try:
            getattr(engine, verb)(number, Actor(name=name, platform="cli"))
        except ActionError as exc:
            raise Problem(str(exc)) from None
        typer.echo(f"#{number} {'acknowledged' if verb == 'acknowledge' else 'resolved'} by {name}")

    _changing(act, db)


def _configured_sinks(settings: Settings) -> list[str]:
    from bot.app import sink_names

    return sink_names(settings)


@app.command()
def ack(incident_id: IncidentArg, by: By, db: Db = None) -> None:
    """Acknowledge an incident: you own it now."""
    _act(incident_id, by, "acknowledge", db)


@app.command()
def resolve(incident_id: IncidentArg, by: By, db: Db = None) -> None:
    """Resolve an incident by hand."""
    _act(incident_id, by, "resolve", db)


@app.command()
def postmortem(
    incident_id: IncidentArg,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Markdown file (or folder) to write; default postmortem-ID.md here. The chart goes beside it (.png)."
        ),
    ] = None,
    db: Db = None,
) -> None:
    """Write an incident's postmortem draft and its chart."""
    number = _incident_number(incident_id)
    from bot.postmortem.chart_worker import ChartWorker
    from bot.postmortem.draft import draft_basename

    target = _draft_target(out, draft_basename(number))
    charts = ChartWorker(idle=0)  # one chart, then it leaves

    def write(settings: Settings, database: Database) -> None:
        from bot.postmortem.draft import TemplateProblem, build

        charts.warm()  # matplotlib loads in the child while this process reads the incident
        try:
            draft = build(database, number, _now(), settings.templates_dir, charts.draw)
        except TemplateProblem as exc:
            raise Problem(f"your postmortem template is broken: {exc}") from None
        except LookupError:
            raise Problem(f"there is no incident #{number} (`statusbot incidents --all` lists them)") from None
        chart = target.with_suffix(".png")
        try:
            target.write_text(draft.markdown.replace(f"({draft.basename}.png)", f"({chart.name})"), encoding="utf-8")
            chart.write_bytes(draft.chart_png)
        except OSError as exc:
            raise Problem(f"cannot write {exc.filename or target}: {exc.strerror or exc}") from None
        typer.echo(f"wrote {target} and {chart}")

    try:
        _reading(write, db)
    finally:
        charts.close()


def _draft_target(out: Path | None, basename: str) -> Path:
    """Where the draft goes: --out as a file, or into --out when it is a folder. Checked before the draft
    is made, so a mistake costs nothing."""
    target = (out or Path(f"{basename}.md")).expanduser().absolute()
    if target.is_dir():
        target = target / f"{basename}.md"
    if target.suffix == ".png":
        raise Problem(f"--out names the Markdown file; the chart goes beside it (got {out})", USAGE)
    folder = target.parent
    if not folder.is_dir():
        raise Problem(
            f"cannot write {target}: the folder {folder} does not exist (create it, or choose another --out)", USAGE
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise Problem(f"cannot write {target}: permission denied (choose another --out)")
    return target


# -- each platform's own -----------------------------------------------------------------------
def _platform_commands() -> None:
    """A platform's own commands (`statusbot <platform> …`), from its folder's optional cli.py."""
    for package in registry.PLATFORMS:
        if find_spec(f"{package}.cli") is not None:
            app.add_typer(import_module(f"{package}.cli").app, name=package.rsplit(".", 1)[-1])


_platform_commands()


def main() -> None:
    app()
