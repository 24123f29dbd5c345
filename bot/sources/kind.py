"""What the core knows of a kind of status source: its `Kind`, one per folder listed in
bot/sources/registry.py. The core loops over the kinds to read the settings, build the sources and
run the doctor, and so never names one."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType
from typing import TYPE_CHECKING

from bot.sources import registry

if TYPE_CHECKING:  # annotations only: the sources and the doctor are loaded when they are used
    from bot.config import Settings
    from bot.doctor import Spec
    from bot.sources.source import Context, Source


@dataclass(frozen=True)
class Kind:
    package: str

    def module(self, name: str) -> ModuleType | None:
        """Its folder's `name`.py, when it has one."""
        full = f"{self.package}.{name}"
        return import_module(full) if find_spec(full) is not None else None

    def sources(self, context: Context) -> list[Source]:
        module = self.module("sources")
        return list(module.sources(context)) if module else []

    def checks(self, settings: Settings) -> list[Spec]:
        module = self.module("checks")
        return list(module.checks(settings)) if module else []


def source_kinds() -> list[Kind]:
    """Every registered kind, in the registry's order."""
    return [Kind(package) for package in registry.SOURCES]
