"""`statusbot slack …`: Slack's own set-up commands (the CLI adds them from the registry)."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated

import typer

from bot.problems import USAGE, Problem

app = typer.Typer(help="Slack set-up.", no_args_is_help=True, rich_markup_mode=None)


@app.command("manifest")
def manifest(
    url: Annotated[
        str | None,
        typer.Option(help="Public base URL of the bot (https://…); without it, the manifest uses Socket Mode."),
    ] = None,
) -> None:
    """Print the Slack app manifest, with your URL.

    Paste it at api.slack.com/apps → Create New App → From a manifest.
    """
    from bot.chat.slack.manifest import for_install, public_url
    from bot.config import ConfigError, Settings, load_settings

    base = None
    if url is not None:
        try:
            base = public_url(url)
        except ValueError as exc:
            raise Problem(f"--url {exc}", USAGE) from None
    command = Settings.model_fields["command"].default
    with contextlib.suppress(ConfigError):  # a manifest needs no working configuration: the default name
        command = load_settings().command
    typer.echo(json.dumps(for_install(base, command), indent=2, ensure_ascii=False))
