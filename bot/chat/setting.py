"""One line per platform setting: `setting(default, "TEAMS_CHANNEL", "what it does", pattern=…)`.

The environment name is given; the TOML key is its lowercase (`teams_channel`), which is also the
field's name. Pydantic only, like the platforms' settings modules that use it.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field


def setting(default: Any, env: str, description: str, **rules: Any) -> Any:
    return Field(default, validation_alias=AliasChoices(env, env.lower()), description=description, **rules)
