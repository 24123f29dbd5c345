"""The console: each incident as a thread in the terminal, coloured when stdout is a terminal.

● #3 claude  Elevated errors on Claude.ai, API — investigating · critical · claude.ai, Claude API
  #3 14:53  investigating  We are seeing increased errors on Claude.ai, API, and Claude Code
  #3 16:29  identified     A fix has been implemented …  [Claude API: major outage → operational]
✔ #3 claude  resolved by vendor after 2h 49m — Elevated errors on Claude.ai, API
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TextIO

from bot.chat.base import Delivery, ThreadRef
from bot.engine.views import EntryView, IncidentCard, resolved_after, words
from bot.postmortem.draft import Draft

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
COLOURS = {
    "resolved": "32",
    "investigating": "31",
    "identified": "33",
    "monitoring": "36",
    "critical": "1;31",
    "major": "31",
    "minor": "33",
    "none": "2",
    "maintenance": "35",
}


def clean(text: str) -> str:
    """One line, no terminal control sequences (vendor text is untrusted)."""
    return " ".join(_CONTROL.sub(" ", text).split())


def moves(entry: EntryView) -> str:
    """Component changes grouped by transition: `claude.ai, Claude Code: operational → major outage`."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name, old, new in entry.components:
        groups.setdefault((old, new), []).append(clean(name))
    return "; ".join(f"{', '.join(names)}: {words(old) or '?'} → {words(new)}" for (old, new), names in groups.items())


class ConsoleSink:
    name = "console"

    def __init__(
        self, stream: TextIO | None = None, colour: bool | None = None, folder: str | Path = "postmortems"
    ) -> None:
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.folder = Path(folder)

    async def open_thread(self, incident: IncidentCard, delivery: Delivery) -> ThreadRef:
        marker = "🔧" if incident.kind == "maintenance" else "●"
        facts = [
            self._paint(words(incident.status), incident.status),
            self._paint(f"{incident.impact} impact", incident.impact),
        ]
        if incident.components:
            facts.append(", ".join(clean(c) for c in incident.components))
        facts.append(f"started {incident.started_at:%Y-%m-%d %H:%M} UTC")
        if not incident.vendor_confirmed:
            facts.append(incident.vendor_status)
        timing = incident.timing
        facts += [timing] if timing else []
        facts += [f"seen by {clean(incident.seen_by)}"] if incident.streams else []
        facts += incident.remarks
        link = f"  {incident.shortlink}" if incident.shortlink else ""
        self._write(
            f"{marker} #{incident.id} {incident.service}  {self._bold(clean(incident.title))}"
            f" — {' · '.join(facts)}{link}"
        )
        return ThreadRef(channel="stdout", parent=str(incident.id))

    async def post_update(
        self, thread: ThreadRef, incident: IncidentCard, entry: EntryView, delivery: Delivery
    ) -> None:
        label = entry.label.lower()
        text = clean(entry.body)
        if entry.components:
            text = f"{text}  [{moves(entry)}]"
        self._write(
            f"    #{incident.id} {entry.at:%m-%d %H:%M}  {self._paint(f'{label:<13}', entry.status or '')} {text}"
        )
        if entry.resolves:
            self._write(
                f"{self._paint('✔', 'resolved')} #{incident.id} {incident.service}  resolved by "
                f"{incident.resolved_by or 'vendor'} {resolved_after(incident, entry.at)} — {clean(incident.title)}"
            )

    async def refresh(self, thread: ThreadRef, incident: IncidentCard) -> None:
        """A terminal cannot edit a printed line; the updates already carry the change."""

    async def post_postmortem(
        self, thread: ThreadRef, incident: IncidentCard, draft: Draft, delivery: Delivery
    ) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        markdown = self.folder / f"{draft.basename}.md"
        markdown.write_text(draft.markdown, encoding="utf-8")
        (self.folder / f"{draft.basename}.png").write_bytes(draft.chart_png)
        self._write(f"📝 #{incident.id} {incident.service}  postmortem draft: {markdown} (chart beside it)")

    async def aclose(self) -> None:
        self.stream.flush()

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def _paint(self, text: str, key: str) -> str:
        code = COLOURS.get(key)
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text

    def _bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.colour else text
