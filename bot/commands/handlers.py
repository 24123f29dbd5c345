"""The `/claude` subcommands, chat-agnostic: each reads or acts through the engine and returns an
Answer. The chat platforms only render and transport these."""

from __future__ import annotations

from datetime import datetime

from bot import stats
from bot.commands.arguments import bounded_int, incident_number
from bot.commands.context import Answer, CommandContext, Services
from bot.commands.registry import COMMANDS
from bot.engine.incidents import ActionError
from bot.engine.live_cards import card_in, live_card, traffic_line
from bot.engine.probe_lines import stream_line
from bot.engine.views import IncidentCard, card, human_duration
from bot.inputs import printable
from bot.store import probe_status, queries, traffic
from bot.store.models import Incident

RECENT = 10
TRAFFIC_MODELS = 5


def _word(status: str) -> str:
    return status.replace("_", " ")


def incident_line(view: IncidentCard, now: datetime) -> str:
    owner = f"acked by {view.acknowledged_by}" if view.acknowledged_by else "not acknowledged"
    notes = [n for n in (view.timing, view.seen_by and f"seen by {view.seen_by}", view.quiet_note) if n]
    return (
        f"#{view.id} {view.title} — {_word(view.status)}, {view.impact} impact, "
        f"{human_duration(view.duration(now))}, {owner}" + "".join(f" · {n}" for n in notes)
    )


def resolve_id(services: Services, args: list[str]) -> int:
    """`ID`, `#ID`, or nothing for the most recent open incident."""
    if not args:
        with services.db.session() as session:
            latest = queries.latest_open(session)
        if latest is None or latest.id is None:
            raise ActionError("There is no open incident. Give an incident number, e.g. `show 12`.")
        return latest.id
    return incident_number(args[0])


def load(services: Services, incident_id: int) -> Incident:
    with services.db.session() as session:
        incident = session.get(Incident, incident_id)
    if incident is None:
        raise ActionError(f"There is no incident #{incident_id}.")
    return incident


@COMMANDS.command("help", "help", "What I can do.")
async def help_(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    lines = tuple(f"`{services.command} {spec.usage}` — {spec.help}" for spec in COMMANDS)
    return Answer(
        f"statusbot watches {services.service} ({services.page_url}) and runs each incident as one thread.",
        (*lines, "`ID` defaults to the most recent open incident."),
    )


@COMMANDS.command("status", "status [all]", "Components, open incidents, probes and your own traffic, on one screen.")
async def status(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    now = services.clock.now()
    every = bool(args) and args[0].lower() == "all"
    names = list(services.pages or {services.service: ""}) if every else [services.service_for(ctx)]
    lines: list[str] = []
    fields: tuple[tuple[str, str], ...] = ()
    with services.db.session() as session:
        for name in names:
            comps = queries.components(session, name)
            broken = [c for c in comps if c.status != "operational"]
            fields += tuple(
                (f"{name}: {c.name}" if every else c.name, _word(c.status))
                for c in (broken if every else broken or comps)[:10]
            )
            summary = (
                f"{len(broken)} of {len(comps)} components affected"
                if broken
                else f"all {len(comps)} components operational"
                if comps
                else "no components seen yet"
            )
            open_ = [card_in(session, i) for i in queries.incidents(session) if i.service == name]
            lines += [f"{name}: {summary}", *[incident_line(v, now) for v in open_]]
            lines += [] if open_ else [f"{name}: no open incidents."]
            recent = traffic.totals(session, name, now - traffic.RECENT)[:TRAFFIC_MODELS]
            lines += [(f"{name}: " if every else "") + traffic_line(t) for t in recent]
        streams = probe_status.statuses(session, services.probe_streams)
    lines += [stream_line(s, now) for s in streams] or ["Probes: none configured."]
    title = "Status of every watched service" if every else f"Status of {names[0]}"
    return Answer(title, tuple(lines), fields=fields[:10])


@COMMANDS.command("incidents", "incidents", "Recent incidents with time to acknowledge and resolve.")
async def incidents(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    now = services.clock.now()
    with services.db.session() as session:
        rows = [card(i) for i in queries.incidents(session, include_resolved=True, limit=RECENT)]
    lines = tuple(
        f"{incident_line(v, now)} · TTA {human_duration(v.time_to_acknowledge)}"
        f" · TTR {human_duration(v.time_to_resolve)}"
        for v in rows
    )
    return Answer(f"The last {len(rows)} incidents" if rows else "No incidents recorded yet.", lines)


@COMMANDS.command("ack", "ack [ID]", "Acknowledge: you own the incident now.", takes_incident=True, changes_state=True)
async def ack(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    incident = services.engine.acknowledge(resolve_id(services, args), ctx.actor)
    return Answer(f"You acknowledged #{incident.id}: {incident.title}.", incident=card(incident))


@COMMANDS.command("resolve", "resolve [ID]", "Resolve the incident by hand.", takes_incident=True, changes_state=True)
async def resolve(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    incident = services.engine.resolve(resolve_id(services, args), ctx.actor)
    return Answer(f"You resolved #{incident.id}: {incident.title}.", incident=card(incident))


@COMMANDS.command("show", "show [ID]", "One incident and its whole timeline.", takes_incident=True)
async def show(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    incident_id = resolve_id(services, args)
    incident = load(services, incident_id)
    with services.db.session() as session:
        view = live_card(session, incident, services.clock.now())
        entries = queries.timeline(session, incident_id)
    lines = tuple(f"{e.at:%m-%d %H:%M} {_word(e.status or e.kind)}: {e.body}" for e in entries)
    fields = (
        ("Status", _word(view.status)),
        ("Impact", view.impact),
        ("TTA", human_duration(view.time_to_acknowledge)),
        ("TTR", human_duration(view.time_to_resolve)),
    )
    return Answer(f"#{view.id} {view.title}", lines, fields=fields, incident=view)


@COMMANDS.command(
    "postmortem", "postmortem [ID]", "Post the postmortem draft (Markdown + chart) in the thread.", takes_incident=True
)
async def postmortem(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    incident = services.engine.request_postmortem(resolve_id(services, args))
    return Answer(
        f"The postmortem draft for #{incident.id} is on its way to the incident's thread.",
        ("It holds every fact statusbot recorded; the sections marked ✍️ are yours.",),
    )


WINDOWS = {"7d": 7, "30d": 30, "90d": 90}


@COMMANDS.command("stats", "stats [7d|30d|90d]", "MTTA, MTTR, vendor impact, probe uptime, our lead time.")
async def stats_(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    window = args[0].lower() if args else "30d"
    if window not in WINDOWS:
        raise ActionError(f"`{printable(window, 20)}` is not a window; use 7d, 30d or 90d.")
    figures = stats.compute(services.db, services.clock.now(), WINDOWS[window], services.probe_components)
    return Answer(f"{services.service}, last {figures.days} days", tuple(stats.describe(figures)))


@COMMANDS.command(
    "snooze",
    "snooze [ID] [minutes]",
    "Pause reminders for an incident (default 60 minutes).",
    takes_incident=True,
    changes_state=True,
)
async def snooze(ctx: CommandContext, services: Services, args: list[str]) -> Answer:
    minutes = bounded_int(args[1] if len(args) > 1 else "60", 1, 24 * 60, "a number of minutes")
    incident = services.engine.snooze(resolve_id(services, args[:1]), minutes, ctx.actor)
    return Answer(f"Reminders for #{incident.id} are snoozed for {minutes} minutes.", incident=card(incident))
