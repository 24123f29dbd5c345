"""The layout's promises, read from the tree: nothing outside a platform's folder names the platform,
the engine names no source (it carries the event's `source`) and imports none, and a new folder is
packaged without being listed anywhere."""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import shutil
import subprocess
import sys
from importlib import import_module
from pathlib import Path

from bot.chat import registry
from bot.chat.room import Room

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("bot", "migrations", "templates")  # what the package ships (migrations and templates as bot.*)
TEXT = {".py", ".j2", ".json", ".mako", ".toml", ".txt"}


def platforms() -> dict[str, Path]:
    """Each registered platform's name and folder."""
    found = {}
    for package in registry.PLATFORMS:
        room: Room[object] = import_module(f"{package}.room").ROOM
        found[room.name] = ROOT.joinpath(*package.split("."))
    return found


def shipped_files() -> list[Path]:
    return sorted(p for top in SHIPPED for p in (ROOT / top).rglob("*") if p.suffix in TEXT and p.is_file())


def test_the_registry_lists_real_folders() -> None:
    found = platforms()
    assert found and all((folder / "room.py").is_file() for folder in found.values()), found


def test_no_module_outside_a_platforms_folder_names_it() -> None:
    registry_file = ROOT / "bot" / "chat" / "registry.py"
    named: list[str] = []
    for name, folder in platforms().items():
        word = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
        for path in shipped_files():
            if path == registry_file or folder in path.parents:
                continue
            text = path.read_text(encoding="utf-8")
            named += [
                f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                for n, line in enumerate(text.splitlines(), 1)
                if word.search(line)
            ]
    assert named == [], "\n".join(named)


def source_names() -> set[str]:
    """The `source` every kind of status source writes on its incidents and entries (its `SOURCE`)."""
    import bot.sources

    names = set()
    for module in pkgutil.walk_packages(bot.sources.__path__, "bot.sources."):
        value = getattr(import_module(module.name), "SOURCE", None)
        if isinstance(value, str):
            names.add(value)
    return names


def strings(tree: ast.Module) -> list[ast.Constant]:
    """The module's string constants, docstrings left out (prose may speak of sources)."""
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


# The one engine module that spells the kinds of outcome stream (issue 13's `Stream`: its constructors
# and labels); every other engine module takes the `source` from the event or the stream.
STREAMS = ROOT / "bot" / "engine" / "streams.py"


def test_the_engine_names_no_source_and_imports_none() -> None:
    sources = source_names()
    assert {"statuspage", "probe", "traffic", "alertmanager"} <= sources, sources  # the walk finds them
    found: list[str] = []
    for path in sorted((ROOT / "bot" / "engine").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in strings(tree) if path != STREAMS else []:
            if any(node.value == s or node.value.startswith(f"{s}:") for s in sources):
                found.append(f"{where}:{node.lineno}: the string {node.value!r}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                found += [
                    f"{where}:{node.lineno}: imports {m}"
                    for m in modules
                    if m.startswith(("bot.sources", "bot.chat", "bot.delivery"))
                ]
    assert found == [], "\n".join(found)


PACKAGES = """
import json
from distutils.core import run_setup
print(json.dumps(sorted(run_setup("setup.py", stop_after="config").packages)))
"""


def packaged(root: Path) -> list[str]:
    """The packages setuptools would build from the tree at `root` (setup.py and pyproject.toml, read
    the way `pip install` reads them)."""
    done = subprocess.run([sys.executable, "-c", PACKAGES], cwd=root, capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_every_folder_is_packaged_a_new_one_too_without_being_listed(tmp_path: Path) -> None:
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for top in SHIPPED:
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    for new in ("bot/chat/newchat", "bot/sources/newsource"):  # a contributor's new platform and source
        (tmp_path / new).mkdir()
        (tmp_path / new / "__init__.py").write_text("")
    folders = {
        ".".join(("bot", *p.parent.relative_to(tmp_path / "bot").parts))
        for p in (tmp_path / "bot").rglob("__init__.py")
    }
    found = set(packaged(tmp_path))
    assert {"bot.chat.newchat", "bot.sources.newsource"} <= folders <= found
    assert {"bot.migrations", "bot.migrations.versions", "bot.templates"} <= found
    assert found - folders == {"bot.migrations", "bot.migrations.versions", "bot.templates"}
