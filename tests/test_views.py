"""One table of entry labels and status icons (bot/engine/views.py) serves every renderer: a kind of
entry or a status none of them knows yet is shown by its name, never a KeyError."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.chat.base import Delivery, ThreadRef
from bot.chat.console.sink import ConsoleSink
from bot.chat.discord.render import card_embed, entry_embed
from bot.chat.slack.render import entry_blocks, entry_text, parent_blocks
from bot.engine.views import ENTRY_LABEL, STATUS_ICON, card, entry_view
from bot.store.enums import EntryKind, Status
from bot.store.models import Incident, TimelineEntry

AT = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)


def incident(status: str = Status.INVESTIGATING) -> Incident:
    return Incident(
        id=7, service="claude", source="statuspage", title="Errors", status=status, started_at=AT, detected_at=AT
    )


def entry(kind: str) -> TimelineEntry:
    return TimelineEntry(id=3, incident_id=7, at=AT, recorded_at=AT, kind=kind, source="statusbot", body="shift change")


def test_every_kind_but_a_vendor_update_has_a_label_and_every_status_an_icon() -> None:
    assert set(ENTRY_LABEL) == set(EntryKind) - {EntryKind.VENDOR_UPDATE}
    assert set(Status) <= set(STATUS_ICON)


@pytest.mark.parametrize("kind", ["handover", *EntryKind])
async def test_every_renderer_shows_any_kind_of_entry_by_its_label(kind: str) -> None:
    view, shown = card(incident()), entry_view(entry(kind))
    label = "Update" if kind == EntryKind.VENDOR_UPDATE else ENTRY_LABEL.get(kind, "Handover")  # no status given
    assert entry_view(entry(kind)).label == label

    out = io.StringIO()
    await ConsoleSink(out, colour=False).post_update(ThreadRef("stdout", "7"), view, shown, Delivery("1"))
    assert label.lower() in out.getvalue()
    assert label in entry_text(view, shown)
    assert label in str(entry_blocks(view, shown)[0].to_dict())
    assert label in str(entry_embed(view, shown).title)


async def test_a_status_no_table_knows_is_drawn_as_an_open_incident() -> None:
    view = card(incident(status="degraded_somehow"))
    assert view.icon == STATUS_ICON[Status.INVESTIGATING]
    out = io.StringIO()
    await ConsoleSink(out, colour=False).open_thread(view, Delivery("1"))
    assert "degraded somehow" in out.getvalue()
    assert parent_blocks(view, AT) and card_embed(view, AT).title
