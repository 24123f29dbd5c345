"""Incident alerts, thread updates and command answers as Discord embeds.

Vendor text goes through `text.escape`, every embed through `text.fit`. Times are Discord timestamps
(`<t:…>`), which each reader sees in their own time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

from bot.chat.discord.text import THREAD_NAME, cut, escape, fit, quiet
from bot.commands.context import Answer
from bot.engine.views import EntryView, IncidentCard, human_duration, resolved_after, words

GREEN, BLURPLE, GREY, RED = 0x2EB67D, 0x5865F2, 0x99AAB5, 0xE01E5A
IMPACT_COLOUR = {"critical": RED, "major": 0xF2711C, "minor": 0xECB22E, "none": GREY, "maintenance": BLURPLE}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying"}
CLOSED_STATUSES = {"resolved", "completed", "postmortem"}


def colour(status: str | None, impact: str) -> int:
    """Green once over, blurple for maintenance, otherwise by impact (red is critical)."""
    if status in CLOSED_STATUSES:
        return GREEN
    if status in MAINTENANCE_STATUSES:
        return BLURPLE
    return IMPACT_COLOUR.get(impact, GREY)


def when(moment: datetime) -> str:
    stamp = int(moment.timestamp())
    return f"<t:{stamp}:f> (<t:{stamp}:R>)"


def person(name: str | None, user_id: str | None) -> str:
    """A Discord user as a mention (embeds never ping); anyone else (another platform, the CLI) by escaped name."""
    if user_id and user_id.isdigit():
        return f"<@{user_id}>"
    return escape(name) if name else "nobody yet"


def thread_name(card: IncidentCard) -> str:
    return cut(f"#{card.id} {card.title}", THREAD_NAME)


def card_embed(card: IncidentCard, now: datetime) -> discord.Embed:
    embed = discord.Embed(
        title=f"{card.icon} {escape(card.title)}",
        colour=colour(card.status, card.impact),
        url=card.shortlink if _is_link(card.shortlink) else None,
    )
    for name, value, inline in _card_fields(card, now):
        embed.add_field(name=name, value=value, inline=inline)
    embed.set_footer(text=" · ".join(_notes(card)))
    return fit(embed)


def _notes(card: IncidentCard) -> list[str]:
    return [f"#{card.id} · {card.service}", *card.remarks]


def _card_fields(card: IncidentCard, now: datetime) -> list[tuple[str, str, bool]]:
    duration = human_duration(card.duration(now)) + ("" if card.is_open else " (resolved)")
    return [
        ("Status", words(card.status), True),
        ("Impact", escape(card.impact), True),
        ("Duration", duration, True),
        ("Components", escape(", ".join(card.components)) or "not named", False),
        ("Started", when(card.started_at), True),
        ("Acknowledged by", person(card.acknowledged_by, card.acknowledged_by_id), True),
        *([("Lead", timing, False)] if (timing := card.timing) else []),
        *([("Vendor", card.vendor_status, False)] if card.probe else []),
        *([("Seen by", escape(card.seen_by), False)] if card.streams else []),
    ]


def _is_link(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("https://", "http://"))


def entry_embed(card: IncidentCard, entry: EntryView, *, standalone: bool = False) -> discord.Embed:
    """One timeline entry. `standalone` (no thread to post in): the title names the incident."""
    label = entry.label
    title = f"#{card.id} {escape(card.title)} — {label}" if standalone else label
    body = f"by {person(entry.actor, entry.actor_id)}" if entry.signed_by_person else escape(entry.body)
    embed = discord.Embed(
        title=title,
        description=body,
        timestamp=entry.at,
        colour=colour(entry.status if entry.is_vendor_update else card.status, card.impact),
    )
    if entry.components:
        moves = "\n".join(f"{escape(name)}: {words(old) or '?'} → {words(new)}" for name, old, new in entry.components)
        embed.add_field(name="Components", value=moves, inline=False)
    if entry.resolves:
        embed.add_field(name="Resolved", value=f"✅ {resolved_after(card, entry.at)}", inline=False)
    embed.set_footer(text=f"#{card.id} · {card.service}")
    return fit(embed)


def answer_embed(answer: Answer) -> discord.Embed:
    title = ("" if answer.ok else "⚠️ ") + quiet(answer.title)
    embed = discord.Embed(
        title=title, description=quiet("\n".join(answer.lines)) or None, colour=BLURPLE if answer.ok else RED
    )
    for name, value in answer.fields:
        embed.add_field(name=quiet(name), value=quiet(value), inline=True)
    return fit(embed)


def mark_resent(embed: discord.Embed) -> discord.Embed:
    """A post whose earlier attempt may have landed (webhook path): say so, so a reader knows why."""
    note = "sent again after a lost answer: this may be a duplicate"
    embed.set_footer(text=f"{embed.footer.text} · {note}" if embed.footer.text else note)
    return fit(embed)


def postmortem_embed(card: IncidentCard, chart_file: str, *, standalone: bool = False) -> discord.Embed:
    title = f"#{card.id} {escape(card.title)} — postmortem draft" if standalone else "📝 Postmortem draft"
    embed = discord.Embed(
        title=title,
        colour=BLURPLE,
        description=f"Every fact statusbot recorded about #{card.id}, as Markdown (attached). "
        "The sections marked ✍️ are yours.",
    )
    embed.set_image(url=f"attachment://{chart_file}")
    embed.set_footer(text=f"#{card.id} · {card.service}")
    return fit(embed)


def postmortem_inline(card: IncidentCard, markdown: str, standalone: bool = False) -> discord.Embed:
    """The draft's own text, when it cannot be attached (no Attach Files permission)."""
    title = f"#{card.id} {escape(card.title)} — postmortem draft" if standalone else "📝 Postmortem draft"
    embed = discord.Embed(title=title, colour=BLURPLE, description=quiet(markdown))
    embed.set_footer(
        text=f"#{card.id} · {card.service} · give the bot Attach Files for the Markdown file and the chart"
    )
    return fit(embed)


@dataclass(frozen=True)
class Calling:
    """Who a reminder or an escalation pings: our own configuration (DISCORD_ONCALL), never vendor text.
    Only they may be pinged; allowed_mentions name them and nobody else."""

    users: tuple[int, ...] = ()
    roles: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        return " ".join([*(f"<@&{r}>" for r in self.roles), *(f"<@{u}>" for u in self.users)])

    def allowed(self) -> discord.AllowedMentions:
        return discord.AllowedMentions(
            everyone=False,
            replied_user=False,
            users=[discord.Object(u) for u in self.users],
            roles=[discord.Object(r) for r in self.roles],
        )


def calling(targets: str) -> Calling:
    """`role:ID` and `user:ID`, comma-separated; anything else is ignored."""
    users: list[int] = []
    roles: list[int] = []
    for part in (p.strip() for p in targets.split(",")):
        kind, _, ident = part.partition(":")
        if ident.isdigit() and kind in ("role", "user"):
            (roles if kind == "role" else users).append(int(ident))
    return Calling(tuple(users), tuple(roles))
