"""`statusbot`: run the bot, manage its database, look at and act on incidents from a shell."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot import logs
from bot.clock import SystemClock
from bot.config import ConfigError, Settings, load_settings
from bot.engine.events import Actor
from bot.engine.incidents import ActionError, IncidentEngine
from bot.engine.views import card, human_duration
from bot.serialize import component_json, entry_json, incident_json
from bot.store import queries
from bot.store.db import Database, upgrade

app = typer.Typer(
    help="Watches a vendor's status page and runs each incident as one chat thread.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable keys).")]


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(f"statusbot: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _with_db(action: Callable[[Settings, Database], T]) -> T:
    settings = _settings()
    logs.setup("WARNING")
    database = Database(settings.database_url)
    try:
        database.upgrade()
        return action(settings, database)
    finally:
        database.dispose()


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def run() -> None:
    """Run the bot: poll the status page, serve HTTP, deliver to the configured chats."""
    from bot.app import StatusBot

    settings = _settings()
    logs.setup(settings.log_level, settings.log_format)
    asyncio.run(StatusBot(settings).run_until_signalled())


@db_app.command("backup")
def db_backup(target: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the copy.")]) -> None:
    """Copy the SQLite database while the bot runs (SQLite's online backup)."""
    import sqlite3

    settings = _settings()
    if not settings.database_url.startswith("sqlite:///"):
        typer.echo("statusbot: db backup copies SQLite databases; for Postgres use pg_dump", err=True)
        raise typer.Exit(2)
    source = Path(settings.database_url.removeprefix("sqlite:///"))
    if not source.is_file():
        typer.echo(f"statusbot: no database at {source}", err=True)
        raise typer.Exit(1)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    typer.echo(f"copied {source} to {target}")


@app.command()
def backfill(
    since: Annotated[datetime | None, typer.Option(help="Only incidents started since (YYYY-MM-DD).")] = None,
) -> None:
    """Import older history from the status page's JSON API, without posting anything."""

    def go(settings: Settings, database: Database) -> None:
        engine = IncidentEngine(database, _configured_sinks(settings), SystemClock())
        start = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
        for service in settings.effective_services():
            count = asyncio.run(_backfill_one(settings, engine, service.name, service.page_base, start))
            typer.echo(f"{service.name}: {count} incidents imported as history (nothing posted)")

    _with_db(go)


async def _backfill_one(
    settings: Settings, engine: IncidentEngine, service: str, page_url: str, since: datetime | None
) -> int:
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
            typer.echo(f"statusbot: backfill of {service} stopped: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            await client.aclose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest revision."""
    settings = _settings()
    upgrade(settings.database_url)
    typer.echo("database is at the newest schema revision")


@app.command()
def doctor() -> None:
    """Check the set-up (database, status page, API key, Slack, Discord): one line each, a fix for each failure."""
    from bot.doctor import run_checks

    settings = _settings()
    logs.setup("ERROR")
    checks = asyncio.run(run_checks(settings))
    for check in checks:
        typer.echo(check.line())
    raise typer.Exit(0 if all(check.ok for check in checks) else 1)


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Components and open incidents, from the database."""

    def show(settings: Settings, database: Database) -> None:
        with database.session() as session:
            comps = queries.components(session)
            open_ = queries.incidents(session)
        if as_json:
            _emit(
                {"components": [component_json(c) for c in comps], "open_incidents": [incident_json(i) for i in open_]}
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
        for incident in open_:
            typer.echo(_incident_line(incident))

    _with_db(show)


def _incident_line(incident: Any) -> str:
    view = card(incident)
    acked = f"acked by {view.acknowledged_by}" if view.acknowledged_by else "not acknowledged"
    return (
        f"  #{view.id:<4} {view.status:<13} {view.impact:<8} {view.started_at:%Y-%m-%d %H:%M}  "
        f"{human_duration(view.duration(SystemClock().now())):>8}  {acked:<22} {view.title}"
    )


@app.command()
def incidents(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved incidents.")] = False,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Open incidents (or all, newest first)."""

    def show(settings: Settings, database: Database) -> None:
        with database.session() as session:
            rows = queries.incidents(session, include_resolved=all_, limit=limit)
        if as_json:
            _emit([incident_json(i) for i in rows])
            return
        for incident in rows:
            typer.echo(_incident_line(incident))
        if not rows:
            typer.echo("no incidents" if all_ else "no open incidents")

    _with_db(show)


@app.command()
def show(incident_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonFlag = False) -> None:
    """One incident and its whole timeline."""

    def show_one(settings: Settings, database: Database) -> None:
        with database.session() as session:
            incident = _get(session, incident_id)
            entries = queries.timeline(session, incident_id)
        if as_json:
            _emit({**incident_json(incident), "timeline": [entry_json(e) for e in entries]})
            return
        view = card(incident)
        typer.echo(
            f"#{view.id} {view.title}\n  {view.status}, {view.impact} impact, "
            f"{', '.join(view.components) or 'no components named'}"
        )
        typer.echo(
            f"  started {view.started_at:%Y-%m-%d %H:%M} UTC, TTA {human_duration(view.time_to_acknowledge)},"
            f" TTR {human_duration(view.time_to_resolve)}  {view.shortlink or ''}"
        )
        for entry in entries:
            who = f" ({entry.actor})" if entry.actor else ""
            typer.echo(f"  {entry.at:%Y-%m-%d %H:%M}  {entry.kind:<14} {entry.status or '':<13} {entry.body}{who}")

    _with_db(show_one)


def _get(session: Any, incident_id: int) -> Any:
    from bot.store.models import Incident

    incident = session.get(Incident, incident_id)
    if incident is None:
        typer.echo(f"statusbot: there is no incident #{incident_id}", err=True)
        raise typer.Exit(1)
    return incident


def _act(incident_id: int, by: str, verb: str) -> None:
    def act(settings: Settings, database: Database) -> None:
        # The running bot's delivery worker posts the outbox rows this writes.
        engine = IncidentEngine(database, _configured_sinks(settings), SystemClock())
        try:
            getattr(engine, verb)(incident_id, Actor(name=by, platform="cli"))
        except ActionError as exc:
            typer.echo(f"statusbot: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"#{incident_id} {'acknowledged' if verb == 'acknowledge' else 'resolved'} by {by}")

    _with_db(act)


def _configured_sinks(settings: Settings) -> list[str]:
    from bot.app import sink_names

    return sink_names(settings)


By = Annotated[str, typer.Option("--by", help="Who is acting (shown in the thread).")]


@app.command()
def ack(incident_id: Annotated[int, typer.Argument(metavar="ID")], by: By) -> None:
    """Acknowledge an incident: you own it now."""
    _act(incident_id, by, "acknowledge")


@app.command()
def resolve(incident_id: Annotated[int, typer.Argument(metavar="ID")], by: By) -> None:
    """Resolve an incident by hand."""
    _act(incident_id, by, "resolve")


@app.command()
def stats(window: Annotated[str, typer.Option(help="7d, 30d or 90d.")] = "30d", as_json: JsonFlag = False) -> None:
    """MTTA and MTTR (median, p90), vendor impact by component, probe uptime, our lead time."""
    from dataclasses import asdict

    from bot import stats as figures
    from bot.commands.handlers import WINDOWS

    if window not in WINDOWS:
        typer.echo(f"statusbot: --window must be one of {', '.join(WINDOWS)}", err=True)
        raise typer.Exit(2)

    def show(settings: Settings, database: Database) -> None:
        probes = {p.name: p.components for p in settings.effective_probes()}
        result = figures.compute(database, SystemClock().now(), WINDOWS[window], probes)
        if as_json:
            _emit({**asdict(result), "since": result.since.isoformat().replace("+00:00", "Z")})
            return
        typer.echo("\n".join(figures.describe(result)))

    _with_db(show)


@app.command()
def postmortem(
    incident_id: Annotated[int, typer.Argument(metavar="ID")],
    out: Annotated[
        Path | None,
        typer.Option(help="Markdown file to write (default postmortem-ID.md); the chart goes beside it as .png"),
    ] = None,
) -> None:
    """Write the postmortem draft of an incident (Markdown) and its chart (PNG)."""
    from bot.postmortem.draft import TemplateProblem, build

    def write(settings: Settings, database: Database) -> None:
        try:
            draft = build(database, incident_id, SystemClock().now(), settings.templates_dir)
        except TemplateProblem as exc:
            typer.echo(f"statusbot: your postmortem template is broken: {exc}", err=True)
            raise typer.Exit(1) from None
        except LookupError as exc:
            typer.echo(f"statusbot: {exc}", err=True)
            raise typer.Exit(1) from None
        target = out or Path(f"{draft.basename}.md")
        chart = target.with_suffix(".png")
        target.write_text(draft.markdown.replace(f"({draft.basename}.png)", f"({chart.name})"), encoding="utf-8")
        chart.write_bytes(draft.chart_png)
        typer.echo(f"wrote {target} and {chart}")

    _with_db(write)


@app.command()
def demo(delay: Annotated[float, typer.Option(help="Seconds between replayed steps.")] = 0.3) -> None:
    """Replay a 3-hour Claude outage through the whole pipeline in seconds, offline."""
    from bot.demo.replay import run_demo

    logs.setup("WARNING")
    asyncio.run(run_demo(sys.stdout, delay=delay))


slack_app = typer.Typer(help="Slack set-up.", no_args_is_help=True)
app.add_typer(slack_app, name="slack")


@slack_app.command("manifest")
def slack_manifest(
    url: Annotated[
        str | None,
        typer.Option(help="Public base URL of the bot (https://…); without it, the manifest uses Socket Mode."),
    ] = None,
) -> None:
    """Print the Slack app manifest to paste at api.slack.com/apps → Create New App → From a manifest."""
    from bot.chat.slack.manifest import for_install

    command = Settings.model_fields["command"].default
    with contextlib.suppress(ConfigError):
        command = load_settings().command
    _emit(for_install(url, command))


def main() -> None:
    app()
