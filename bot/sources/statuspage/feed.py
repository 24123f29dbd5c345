"""Statuspage's `history.atom` feed into normalised incidents, for pages whose JSON API is not usable
(and as a second opinion on those that are). Each entry's HTML content holds its updates, newest first:
`<small>Aug <var>21</var>, <var>00:37</var> UTC</small><br><strong>Resolved</strong> - body`. The
feed gives no year per update and no components; `Update` means "no change of status"."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from datetime import datetime

from bot.clock import parse_time
from bot.engine.events import IncidentObserved, UpdateObserved
from bot.sources.statuspage.parse import SOURCE, ParseError

ATOM = "{http://www.w3.org/2005/Atom}"
UPDATE = re.compile(
    r"<small>\s*(\w{3})\s*<var[^>]*>\s*(\d{1,2})\s*</var>,\s*"
    r"<var[^>]*>\s*(\d{1,2}:\d{2})\s*</var>\s*UTC\s*</small>"
    r"\s*<br\s*/?>\s*<strong>([^<]+)</strong>\s*-\s*(.*?)\s*</p>",
    re.S,
)
TAGS = re.compile(r"<[^>]+>")
MONTHS = {
    m: i
    for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)
}


def parse_atom(text: str, service: str) -> tuple[IncidentObserved, ...]:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ParseError(f"history.atom: not XML: {exc}") from None
    if root.tag != f"{ATOM}feed":
        raise ParseError("history.atom: not an Atom feed")
    return tuple(event for entry in root.iter(f"{ATOM}entry") if (event := _entry(entry, service)) is not None)


def _entry(entry: ElementTree.Element, service: str) -> IncidentObserved | None:
    link = entry.find(f"{ATOM}link")
    published = parse_time(entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated"))
    if link is None or published is None:
        return None
    code = (link.get("href") or "").rstrip("/").rsplit("/", 1)[-1]
    updates = _updates(code, html.unescape(entry.findtext(f"{ATOM}content") or ""), published)
    if not updates:
        return None
    status = updates[-1].status
    return IncidentObserved(
        service=service,
        source=SOURCE,
        upstream_id=code,
        title=(entry.findtext(f"{ATOM}title") or code).strip(),
        status=status,
        impact="none",
        started_at=updates[0].at,
        resolved_at=updates[-1].at if status == "resolved" else None,
        shortlink=link.get("href"),
        updates=updates,
        partial=True,
    )


def _updates(code: str, content: str, published: datetime) -> tuple[UpdateObserved, ...]:
    found = []
    for month, day, clock, label, body in UPDATE.findall(content):
        hour, minute = (int(part) for part in clock.split(":"))
        year = published.year - (1 if MONTHS.get(month, 1) > published.month else 0)
        at = published.replace(
            year=year, month=MONTHS.get(month, 1), day=int(day), hour=hour, minute=minute, second=0, microsecond=0
        )
        found.append((at, label.strip().lower(), " ".join(TAGS.sub(" ", body).split())))
    updates, status = [], "investigating"
    for index, (at, label, body) in enumerate(sorted(found, key=lambda u: u[0])):
        status = status if label == "update" else label
        updates.append(UpdateObserved(f"{code}-{at:%Y%m%d%H%M}-{index}", status, body, at))
    return tuple(updates)
