"""The whole pipeline on PostgreSQL beside SQLite: the 26 recorded status.claude.com snapshots and
the 1,000-update Slack burst, each on a SQLite file and on a fresh PostgreSQL database, with the
ratio. Needs a server at STATUSBOT_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import tempfile
from pathlib import Path

from _common import ms, percentile
from replay_snapshots import replay, snapshots
from slack import burst_figures

from tests import postgres


async def main() -> None:
    if (reason := postgres.unavailable()) is not None:
        print(f"no PostgreSQL: {reason}")
        return
    docs = snapshots()
    if docs:
        sqlite_total, sqlite_polls, _, _ = await replay(docs, drafts=False)
        with postgres.fresh_database() as url:
            pg_total, pg_polls, _, _ = await replay(docs, drafts=False, database_url=url)
        print(
            f"26-snapshot replay: SQLite {sqlite_total:.2f} s (per poll p50 {ms(percentile(sqlite_polls, 50))}), "
            f"PostgreSQL {pg_total:.2f} s (p50 {ms(percentile(pg_polls, 50))}):"
            f" PostgreSQL/SQLite {pg_total / sqlite_total:.2f}"
        )
    else:
        print("no snapshots in ../shared: the replay figure needs them")
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        for name in ("sqlite", "pg"):  # SQLite creates its file, never the folder
            (Path(tmp) / name).mkdir()
        sqlite_burst = await burst_figures(Path(tmp) / "sqlite")
        with postgres.fresh_database() as url:
            pg_burst = await burst_figures(Path(tmp) / "pg", database_url=url)
    print(
        f"1,000-update Slack burst: SQLite {sqlite_burst:.2f} s, PostgreSQL {pg_burst:.2f} s: "
        f"PostgreSQL/SQLite {pg_burst / sqlite_burst:.2f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
