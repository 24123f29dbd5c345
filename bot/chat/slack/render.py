"""Incident cards, thread replies and command answers as Block Kit, built with slack_sdk's models.

All vendor and user text passes through `escape` (Slack's three control characters) and `cut`
(Slack's limits, with a visible marker), so a status update can neither ping `@channel` through
`<!channel>` nor break the message.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.metadata import Metadata

from bot.commands.context import Answer
from bot.engine.views import EntryView, IncidentCard, human_duration, resolved_after, words

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000
MARKER = " … (cut)"
EVENT_TYPE = "statusbot_message"
ACK, RESOLVE, SNOOZE, POSTMORTEM = "incident_ack", "incident_resolve", "incident_snooze", "incident_postmortem"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(MARKER)] + MARKER


def when(moment: datetime) -> str:
    """Slack shows the reader's local time; the fallback is UTC."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def mention(targets: str) -> str:
    """`S…` user groups and `U…`/`W…` users, as Slack mentions (our own configuration, not vendor text)."""
    parts = [t.strip() for t in targets.split(",") if t.strip()]
    return " ".join(f"<!subteam^{t}>" if t.startswith("S") else f"<@{t}>" for t in parts if t[:1] in "SUW")


def person(name: str | None, user_id: str | None) -> str:
    if user_id and user_id[:1] in "UW":
        return f"<@{user_id}>"
    return escape(name) if name else "nobody yet"


def metadata(key: str, incident_id: int) -> Metadata:
    return Metadata(event_type=EVENT_TYPE, event_payload={"key": key, "incident": incident_id})


def parent_text(card: IncidentCard) -> str:
    return cut(escape(f"[#{card.id}] {words(card.status)}, {card.impact} impact: {card.title}"), FALLBACK_LIMIT)


def parent_blocks(card: IncidentCard, now: datetime) -> list[Block]:
    fields = [
        ("Status", escape(words(card.status))),
        ("Impact", escape(card.impact)),
        ("Components", escape(", ".join(card.components)) or "not named"),
        ("Started", when(card.started_at)),
        ("Acknowledged by", person(card.acknowledged_by, card.acknowledged_by_id)),
        ("Duration", human_duration(card.duration(now)) + ("" if card.is_open else " (resolved)")),
    ]
    timing = card.timing
    if timing:
        fields.append(("Lead", timing))
    if card.probe:
        fields.append(("Vendor", escape(card.vendor_status)))
    if card.streams:
        fields.append(("Seen by", escape(card.seen_by)))
    context = [f"#{card.id} · {escape(card.service)}"]
    if card.shortlink:
        context.append(f"<{card.shortlink}|status page>")
    context += card.remarks
    return [
        HeaderBlock(text=PlainTextObject(text=cut(f"{card.icon} {card.title}", HEADER_LIMIT), emoji=True)),
        SectionBlock(
            fields=[MarkdownTextObject(text=cut(f"*{name}*\n{value}", FIELD_LIMIT)) for name, value in fields]
        ),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]),
        ActionsBlock(block_id=f"incident:{card.id}", elements=_buttons(card)),
    ]


def _buttons(card: IncidentCard) -> list[ButtonElement]:
    value = str(card.id)
    buttons = []
    if card.is_open and card.acknowledged_at is None:
        buttons.append(ButtonElement(text="Acknowledge", action_id=ACK, value=value, style="primary"))
        buttons.append(ButtonElement(text="Snooze 1h", action_id=SNOOZE, value=value))
    if card.is_open:
        buttons.append(ButtonElement(text="Resolve", action_id=RESOLVE, value=value, style="danger"))
    buttons.append(ButtonElement(text="Postmortem", action_id=POSTMORTEM, value=value))
    return buttons


def entry_text(card: IncidentCard, entry: EntryView, mentions: dict[str, str] | None = None) -> str:
    label = entry.label
    calling = (mentions or {}).get(entry.kind, "")
    return (f"{calling} " if calling else "") + cut(escape(f"[#{card.id}] {label}: {entry.body}"), FALLBACK_LIMIT)


def entry_blocks(card: IncidentCard, entry: EntryView, mentions: dict[str, str] | None = None) -> list[Block]:
    head = f"*{escape(entry.label)}* · {when(entry.at)}"
    if entry.is_vendor_update:
        body = escape(entry.body)
    else:
        body = f"by {person(entry.actor, entry.actor_id)}" if entry.signed_by_person else escape(entry.body)
        calling = (mentions or {}).get(entry.kind, "")
        body = f"{calling} {body}" if calling else body
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=cut(f"{head}\n{body}", SECTION_LIMIT)))]
    if entry.components:
        moves = "; ".join(f"{escape(name)}: {words(old) or '?'} → {words(new)}" for name, old, new in entry.components)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=cut(moves, SECTION_LIMIT))]))
    if entry.resolves:
        took = resolved_after(card, entry.at)
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=cut(f"✅ #{card.id} *{escape(card.title)}* resolved {took}", SECTION_LIMIT))
                ]
            )
        )
    return blocks


def answer_blocks(answer: Answer) -> list[Block]:
    title = ("" if answer.ok else "⚠️ ") + escape(answer.title)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=cut(f"*{title}*", SECTION_LIMIT)))]
    if answer.fields:
        blocks.append(
            SectionBlock(
                fields=[
                    MarkdownTextObject(text=cut(f"*{escape(k)}*\n{escape(v)}", FIELD_LIMIT))
                    for k, v in answer.fields[:10]
                ]
            )
        )
    text, chunks = "", []
    for raw in answer.lines:  # one section per ~3,000 characters of lines, at most 40 sections
        line = escape(raw)
        if len(text) + len(line) + 1 > SECTION_LIMIT and text:
            chunks.append(text)
            text = ""
        text = f"{text}\n{line}" if text else cut(line, SECTION_LIMIT)
    if text:
        chunks.append(text)
    blocks += [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in chunks[:40]]
    return blocks[:50]
