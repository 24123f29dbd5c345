"""The alert's Acknowledge / Snooze / Resolve / Postmortem buttons.

Their custom_ids (`statusbot:ack:12`) carry the verb and the incident, and `IncidentButton` is a
`DynamicItem` registered with `client.add_dynamic_items`: discord.py rebuilds the button from the
custom_id of whatever message was clicked, so buttons keep working after a restart without any view
being stored. The click goes to the client's `button_handler` (set by the platform).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.engine.views import IncidentCard

log = logging.getLogger(__name__)
TEMPLATE = r"statusbot:(?P<verb>ack|snooze|resolve|postmortem):(?P<id>[0-9]+)"
LABELS = {
    "ack": ("Acknowledge", discord.ButtonStyle.primary),
    "snooze": ("Snooze 1h", discord.ButtonStyle.secondary),
    "resolve": ("Resolve", discord.ButtonStyle.danger),
    "postmortem": ("Postmortem", discord.ButtonStyle.secondary),
}
ButtonHandler = Callable[[discord.Interaction[Any], str, int], Awaitable[None]]


def custom_id(verb: str, incident_id: int) -> str:
    return f"statusbot:{verb}:{incident_id}"


class IncidentButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE):
    def __init__(self, verb: str, incident_id: int) -> None:
        label, style = LABELS[verb]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id(verb, incident_id)))
        self.verb = verb
        self.incident_id = incident_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> IncidentButton:
        return cls(match["verb"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: ButtonHandler | None = getattr(interaction.client, "button_handler", None)
        if handler is None:
            log.warning("discord: button %s clicked before commands were bound", self.custom_id)
            return
        await handler(interaction, self.verb, self.incident_id)


def verbs(card: IncidentCard) -> list[str]:
    """What the alert offers now: ack (and snoozing the reminders) while open and unowned, resolve while open,
    always the postmortem."""
    offered = []
    if card.is_open and card.acknowledged_at is None:
        offered += ["ack", "snooze"]
    if card.is_open:
        offered.append("resolve")
    return [*offered, "postmortem"]


def card_view(card: IncidentCard) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for verb in verbs(card):
        view.add_item(IncidentButton(verb, card.id))
    return view
