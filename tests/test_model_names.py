"""The model-name reader: the variants of the status page's archive, matched against API model ids."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.model_names import FAMILIES, ModelName, matches_any, mentions, named, parse_id
from tests.conftest import shared_path


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Elevated errors on Claude Opus 4.5", ["opus-4.5"]),
        ("Elevated errors on Opus 4.5", ["opus-4.5"]),
        ("Sonnet 4.6 elevated error rate", ["sonnet-4.6"]),
        ("opus 4.7 elevated errors", ["opus-4.7"]),
        ("Errors on claude-3-5-sonnet", ["sonnet-3.5"]),
        ("Errors on claude-3-5-haiku-20241022 requests", ["haiku-3.5"]),
        ("Elevated errors on Claude 3.7 Sonnet", ["sonnet-3.7"]),
        ("Claude 3 Opus degraded", ["opus-3"]),
        ("Elevated errors on Claude Opus 4.8 (Fast Mode)", ["opus-4.8"]),
        ("Elevated errors on Opus 4.8 Fast", ["opus-4.8"]),
        ("elevated errors on Opus 48", ["opus-4.8"]),  # the archive's typo
        ("Elevated errors on Opus-48", ["opus-4.8"]),
        ("Errors on Claude Opus 4", ["opus-4"]),
        ("Errors on Claude Opus 4.0", ["opus-4"]),
        ("Elevated error rates on Claude Opus and Sonnet 4.6", ["opus", "sonnet-4.6"]),  # a family alone
        ("Haiku degraded", ["haiku"]),
        ("Opus 4.6 and Sonnet 4.6 error rate elevated", ["opus-4.6", "sonnet-4.6"]),
        ("Elevated Error Rates for Opus 4.8, Opus 4.7, and Haiku 4.5", ["opus-4.8", "opus-4.7", "haiku-4.5"]),
        ("Elevated errors on Claude Mythos 5 and Claude Fable 5", ["mythos-5", "fable-5"]),
        ("Elevated errors on multiple models", []),
        ("Elevated errors for Claude Fable 5, Claude Sonnet 5, and other models", []),  # general
        ("Elevated errors on requests to Claude models", []),
        ("Errors on non-Opus requests", []),
        ("Elevated errors on Claude.ai", []),
        ("Claude Desktop release (Claude 1.1.2) crashes", []),
        ("Claude Code 2.0 login fails", []),
        ("Opus 4.6 is slow for 12 minutes", ["opus-4.6"]),
    ],
)
def test_titles_name_models_as_api_ids_do(title: str, expected: list[str]) -> None:
    assert named(title) == expected


def test_updates_add_the_models_they_name_but_only_the_title_makes_it_general() -> None:
    updates = ["We are investigating errors on Claude Opus 4.5.", "Haiku 4.5 has now also started returning errors."]
    assert named("Elevated errors", updates) == ["opus-4.5", "haiku-4.5"]
    assert named("Elevated errors on Opus 4.5", ["All models have now fully recovered."]) == ["opus-4.5"]
    assert named("Elevated errors on Opus", ["Opus 4.5 is affected"]) == ["opus"]  # the family covers it
    assert named("Errors on multiple models", ["Opus 4.5 is affected"]) == []
    assert mentions("The issue affecting requests to non-Opus models has been resolved") == []


@pytest.mark.parametrize(
    ("model_id", "name"),
    [
        ("claude-opus-4-5", "opus-4.5"),
        ("claude-opus-4-5-20251101", "opus-4.5"),
        ("claude-sonnet-4-6", "sonnet-4.6"),
        ("claude-haiku-4-5", "haiku-4.5"),
        ("claude-3-5-haiku-20241022", "haiku-3.5"),
        ("claude-3-7-sonnet-latest", "sonnet-3.7"),
        ("claude-opus-4-20250514", "opus-4"),
        ("claude-opus-4-1-20250805", "opus-4.1"),
        ("claude-3-haiku-20240307", "haiku-3"),
    ],
)
def test_api_ids_read_as_the_same_names(model_id: str, name: str) -> None:
    assert str(parse_id(model_id)) == name


def test_a_mention_matches_its_models_only() -> None:
    assert ModelName("opus", "4.5").matches("claude-opus-4-5-20251101")
    assert not ModelName("opus", "4.5").matches("claude-opus-4-1")
    assert not ModelName("opus", "4").matches("claude-opus-4-5")  # Claude Opus 4 is its own model
    assert ModelName("opus").matches("claude-opus-4-1") and not ModelName("opus").matches("claude-sonnet-4-6")
    assert matches_any(["sonnet-4.6", "haiku-4.5"], "claude-haiku-4-5")
    assert not matches_any(["sonnet-4.6"], "gpt-4o") and not matches_any(["sonnet-4.6"], None)
    assert parse_id("gpt-4o") is None and parse_id("my-proxy-alias") is None


@given(st.text(max_size=300))
def test_any_text_reads_without_error_and_gives_known_families(text: str) -> None:
    for name in mentions(text):
        assert name.family in FAMILIES and (name.version is None or re.fullmatch(r"\d+(\.\d{1,2})?", name.version))
    named(text, [text])


def real_titles() -> dict[str, str]:
    folder = shared_path("anthropic", "incidents_json_snapshots")
    titles: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        for incident in json.loads(path.read_text(encoding="utf-8"))["incidents"]:
            titles[incident["id"]] = incident["name"]
    return titles


def test_every_real_title_that_names_a_model_family_is_read() -> None:
    """Each real title of the archive: one that names a family (and speaks of no models in general)
    gives at least one name, of that family; one that names none gives none."""
    titles = real_titles()
    family = re.compile(rf"(?<![\w-])({'|'.join(FAMILIES)})\b", re.I)
    reading = {title: named(title) for title in titles.values()}
    for title, names in reading.items():
        said = {m.lower() for m in family.findall(title)}
        if said and not re.search(r"\bmodels\b", title, re.I):
            assert names and {ModelName.parse(n).family for n in names} == said, title
        else:
            assert names == [], title
    naming = [t for t, names in reading.items() if names]
    # 200 incidents (117 distinct titles); 122 of them (62 titles) name a model, on 2026-12-02
    assert len(titles) >= 150 and len(naming) >= 50
