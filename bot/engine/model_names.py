"""The model names a vendor incident's title and updates mention, matched against API model ids.

Anthropic names models many ways across its status page's archive: "Claude Opus 4.5", "Opus 4.5",
"opus 4.7", "Sonnet 4.6 elevated error rate", "Claude 3.7 Sonnet" (version first), "claude-3-5-sonnet"
(an API id), "Opus 4.8 (Fast Mode)", "Opus-48" and "Opus 48" (4.8 without its dot), and family-only
mentions ("Claude Opus and Sonnet 4.6", "all Sonnet and Opus models"). Each mention reads as a
`ModelName`: a family and a version (None: any version of the family), written `opus-4.5` or
`opus`. An API id reads the same way (`claude-opus-4-5`, `claude-3-5-haiku-20241022`), so the two meet.

"non-Opus models" names no Opus. A title that speaks of models in the plural ("multiple models",
"Claude Fable 5, Claude Sonnet 5, and other models", "requests to Claude models") is about models
in general: `read` gives no names for it, and the incident is matched by component as any other.
Updates add the models they name (an incident that spreads names more), but only the title can make
an incident general.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

FAMILIES = ("opus", "sonnet", "haiku", "fable", "mythos")
_FAMILY = "|".join(FAMILIES)
_VERSION = r"\d+(?:[.-]\d{1,2}(?!\d))?"
_FAMILY_FIRST = re.compile(rf"(?<![\w-])(?:claude[\s-]+)?({_FAMILY})(?:[\s-]+({_VERSION}))?(?![\w])", re.I)
_VERSION_FIRST = re.compile(rf"(?<![\w-])claude[\s-]+({_VERSION})[\s-]+({_FAMILY})(?![\w])", re.I)
_GENERAL = re.compile(r"\bmodels\b", re.I)
_NEGATED = re.compile(r"non[\s-]*$", re.I)


@dataclass(frozen=True, order=True)
class ModelName:
    family: str  # opus, sonnet, ...
    version: str | None = None  # "4.5", "5"; None: any version of the family

    def __str__(self) -> str:
        return f"{self.family}-{self.version}" if self.version else self.family

    @property
    def label(self) -> str:
        """`Opus 4.5`, `Sonnet` (any version)."""
        return self.family.capitalize() + (f" {self.version}" if self.version else "")

    def matches(self, model_id: str) -> bool:
        """Whether this mention names the model an API id calls."""
        model = parse_id(model_id)
        if model is None or model.family != self.family:
            return False
        return self.version is None or self.version == model.version

    @classmethod
    def parse(cls, text: str) -> ModelName:
        """A stored name back (`opus-4.5`, `opus`)."""
        family, _, version = text.partition("-")
        return cls(family, version or None)


def _version(raw: str | None) -> str | None:
    """`4-5`, `4.5` -> `4.5`; `4.0` -> `4`; `48` -> `4.8` (the archive's "Opus 48"; two
    digits from 31 to 99, so "Opus 12 minutes" stays no version anyone has)."""
    if raw is None:
        return None
    major, _, minor = raw.replace("-", ".").partition(".")
    if not minor and len(major) == 2 and major[0] in "3456789" and major[1] != "0":
        major, minor = major[0], major[1]
    return major if minor in ("", "0") else f"{major}.{minor}"


def mentions(text: str) -> list[ModelName]:
    """Every model the text names, in order, once each."""
    found: dict[ModelName, int] = {}
    for match in _VERSION_FIRST.finditer(text):
        found.setdefault(ModelName(match[2].lower(), _version(match[1])), match.start())
    taken = [m.span() for m in _VERSION_FIRST.finditer(text)]
    for match in _FAMILY_FIRST.finditer(text):
        if _NEGATED.search(text[: match.start()]) or any(a <= match.start() < b for a, b in taken):
            continue
        found.setdefault(ModelName(match[1].lower(), _version(match[2])), match.start())
    return sorted(found, key=lambda name: found[name])


def parse_id(model_id: str) -> ModelName | None:
    """`claude-opus-4-5`, `claude-3-5-haiku-20241022`, `claude-sonnet-4-6` as a ModelName; None for an
    id that names no known family (another vendor's, a proxy's alias)."""
    named = mentions(model_id)
    return named[0] if len(named) == 1 else None


def named(title: str, updates: Iterable[str] = ()) -> list[str]:
    """The models a vendor incident names, as stored (`opus-4.5`); [] when it names none or its title
    speaks of models in general."""
    if _GENERAL.search(title):
        return []
    names = mentions(title)
    for body in updates:
        names += [n for n in mentions(body) if n not in names]
    return [str(n) for n in _without_covered(names)]


def _without_covered(names: list[ModelName]) -> list[ModelName]:
    """A family named alone covers its versions: `opus` and `opus-4.5` are just `opus`."""
    families = {n.family for n in names if n.version is None}
    return [n for n in names if n.version is None or n.family not in families]


def matches_any(names: Iterable[str], model_id: str | None) -> bool:
    """Whether a stream calling `model_id` is one of the models named."""
    return model_id is not None and any(ModelName.parse(n).matches(model_id) for n in names)


def labels(names: Iterable[str]) -> str:
    """`Opus 4.5, Sonnet 4.6`."""
    return ", ".join(ModelName.parse(n).label for n in names)
