"""Text that is safe to show on Discord: vendor text escaped, everything cut to Discord's embed limits.

`escape` is for vendor text (incident titles, update bodies, component names): mentions get a
zero-width space after the `@` (so `@everyone`, `@here`, `<@&role>` and `<@user>` cannot ping even
where allowed_mentions were lost) and markdown is escaped (so a status update cannot restyle the
message or hide a masked link). `fit` applies Discord's limits to a whole embed, cutting with a
visible marker instead of letting Discord refuse the message.
"""

from __future__ import annotations

import re

import discord

TITLE, DESCRIPTION, FIELDS, FIELD_NAME, FIELD_VALUE, FOOTER, AUTHOR, TOTAL = 256, 4096, 25, 256, 1024, 2048, 256, 6000
THREAD_NAME = 100
MARKER = " … (cut)"
BLANK = "—"
_LINE_START = re.compile(r"^([ \t]*)([#>]|-[ \t])", re.MULTILINE)


def escape(text: str) -> str:
    """Vendor text: no mention can ping, no markdown renders (headings and quotes included)."""
    text = discord.utils.escape_markdown(discord.utils.escape_mentions(text))
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


def quiet(text: str) -> str:
    """Our own text that may quote vendor text (command answers): mentions defused, markdown kept."""
    return discord.utils.escape_mentions(text)


def cut(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: limit - len(MARKER)].rstrip() + MARKER


def fit(embed: discord.Embed) -> discord.Embed:
    """Every part within its own limit, at most 25 fields, and at most 6,000 characters in all."""
    if embed.title:
        embed.title = cut(embed.title, TITLE)
    if embed.description:
        embed.description = cut(embed.description, DESCRIPTION)
    if embed.footer.text:
        embed.set_footer(text=cut(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(name=cut(embed.author.name, AUTHOR), url=embed.author.url)
    _fit_fields(embed)
    _fit_total(embed)
    return embed


def _fit_fields(embed: discord.Embed) -> None:
    fields = [(f.name or "", f.value or "", bool(f.inline)) for f in embed.fields]
    if len(fields) > FIELDS:
        fields = [*fields[: FIELDS - 1], ("More", f"{len(fields) - FIELDS + 1} more not shown{MARKER}", False)]
    embed.clear_fields()
    for name, value, inline in fields:
        embed.add_field(name=cut(name, FIELD_NAME) or BLANK, value=cut(value, FIELD_VALUE) or BLANK, inline=inline)


def _fit_total(embed: discord.Embed) -> None:
    """Over 6,000 characters: shorten the description, then the longest field values, then drop fields."""
    floor = len(MARKER) + 1
    while (excess := len(embed) - TOTAL) > 0:
        if embed.description and len(embed.description) > floor:
            embed.description = cut(embed.description, max(floor, len(embed.description) - excess))
        elif any(len(f.value or "") > floor for f in embed.fields):
            index, field = max(enumerate(embed.fields), key=lambda pair: len(pair[1].value or ""))
            value = field.value or ""
            embed.set_field_at(
                index, name=field.name, value=cut(value, max(floor, len(value) - excess)), inline=bool(field.inline)
            )
        elif embed.fields:
            embed.remove_field(len(embed.fields) - 1)
        else:
            return  # title, footer and author alone stay under 6,000 within their own limits
