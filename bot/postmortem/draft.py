"""Render the postmortem draft from a Jinja2 template in a sandbox. A broken template is reported as
`file line N: what is wrong`, never as a traceback. Jinja2 loads with the first draft: sinks import
`Draft` from here, and a bot that has drafted nothing does not hold it."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.postmortem.data import PostmortemData, gather
from bot.store.db import Database

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

TEMPLATE = "postmortem.md.j2"


class TemplateProblem(Exception):
    """A user's template is broken; the message names its file and line."""


@dataclass(frozen=True)
class Draft:
    incident_id: int
    markdown: str
    chart_png: bytes

    @property
    def basename(self) -> str:
        return draft_basename(self.incident_id)


def draft_basename(incident_id: int) -> str:
    """`postmortem-12`: the draft is `postmortem-12.md`, its chart `postmortem-12.png`."""
    return f"postmortem-{incident_id}"


def default_templates() -> Path:
    return Path(str(resources.files("bot.templates")))


def cell(value: Any) -> str:
    """Safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def environment(templates_dir: str | None) -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    folders = [Path(templates_dir)] if templates_dir else []
    env = SandboxedEnvironment(
        loader=FileSystemLoader([*folders, default_templates()]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["cell"] = cell
    return env


def render(data: PostmortemData, templates_dir: str | None = None, chart_file: str = "") -> str:
    from jinja2 import TemplateError, TemplateSyntaxError

    env = environment(templates_dir)
    try:
        template = env.get_template(TEMPLATE)
        context = {**{f: getattr(data, f) for f in data.__dataclass_fields__}, "chart_file": chart_file}
        return template.render(**context)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{exc.filename or TEMPLATE} line {exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"{_where(exc)}: {exc.message or type(exc).__name__}") from None


def _where(exc: BaseException) -> str:
    """Jinja2 rewrites tracebacks so template frames carry the template's file and line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return f"{frames[-1].filename} line {frames[-1].lineno}" if frames else TEMPLATE


def build(
    db: Database,
    incident_id: int,
    now: datetime,
    templates_dir: str | None = None,
    draw: Callable[[dict[str, Any]], bytes] | None = None,
) -> Draft:
    """The draft and its chart. The chart is drawn in a worker process (bot/postmortem/chart_worker.py):
    matplotlib never loads here. `draw` is the bot's long-lived worker; by default, a one-off one."""
    from bot.postmortem.chart_data import chart_data
    from bot.postmortem.chart_worker import draw_once

    data = gather(db, incident_id, now)
    markdown = render(data, templates_dir, chart_file=f"{draft_basename(incident_id)}.png")
    return Draft(incident_id, markdown, (draw or draw_once)(chart_data(data)))
