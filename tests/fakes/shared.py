"""Where ../shared is: beside the repository (as in CI), or wherever STATUSBOT_SHARED_DIR says (a
worktree keeps it elsewhere). The fakes read their specs from there; their users skip without them."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("STATUSBOT_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")


def spec(name: str) -> Path:
    return SHARED / "specs" / name
