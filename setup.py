"""Package discovery, which pyproject.toml cannot express for renamed folders: every package under bot/
is found (a new platform or source folder needs no listing), and migrations/ and templates/ ship as
bot.migrations and bot.templates (pyproject.toml's package-dir maps them)."""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["bot", "bot.*"]),
        *(f"bot.{name}" for name in find_packages(include=["migrations", "migrations.*", "templates"])),
    ]
)
