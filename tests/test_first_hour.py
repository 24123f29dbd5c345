"""A new user's first hour, tried for real: right numbers on day one (no negative or contradictory
duration anywhere), one line and a documented exit status for every mistake, read-only commands that
create nothing, input checks, and the small things a user noticed."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.clock import ManualClock, parse_time
from bot.engine.events import Actor
from bot.engine.views import card
from bot.store.db import Database, alembic_config, upgrade
from bot.store.models import Incident
from tests.conftest import Harness, load_json, seed, shared_path
from tests.fakes.statuspage import FakeStatuspage

runner = CliRunner()
# A duration printed with a minus sign: `-11h 03m`, `-2m 01s`, `-14d 4h` (dates and model names do not match).
NEGATIVE = re.compile(r"(?<![\w#:/.-])-\d+(?:d|h|m|s)\b")


def cli(*args: str, cwd: Path | None = None, preexec: Callable[[], None] | None = None, **env: str) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec,
    )


def one_line(result: Any, status: int, *words: str) -> str:
    """The documented shape of a mistake: one line on stderr, no traceback, the documented status."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == status and len(lines) == 1, (result.returncode, result.stderr)
    for word in words:
        assert word in lines[0], lines[0]
    return str(lines[0])


@pytest.fixture
def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    seed(url)
    return url


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder the child may see even when the tests run as root and drop privileges."""
    with tempfile.TemporaryDirectory(prefix="statusbot-first-hour-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


def read_only(folder: Path) -> Callable[[], None] | None:
    """Make `folder` read-only for the child. root writes anywhere, so a root child also gives up the
    capabilities that let it (its capability bounding set, before exec)."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
            if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


# -- 1. no negative or contradictory durations ---------------------------------------------------------
def figures_of(view: Any, now: datetime) -> list[timedelta]:
    f = view.durations(now)
    return [d for d in (f.lasted, f.tta, f.ttr, f.vendor_ttr, f.lead) if d is not None]


def json_seconds(data: Any) -> list[float]:
    if isinstance(data, dict):
        return [v for k, v in data.items() if k.endswith("_s") and isinstance(v, int | float)] + [
            s for v in data.values() for s in json_seconds(v)
        ]
    if isinstance(data, list):
        return [s for v in data for s in json_seconds(v)]
    return []


async def test_a_first_run_on_the_real_page_shows_no_negative_figure_anywhere(
    harness: Harness, page: FakeStatuspage, clock: ManualClock, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import stats
    from bot.chat.discord.render import card_embed
    from bot.chat.slack.render import parent_blocks
    from bot.postmortem.data import gather
    from bot.postmortem.draft import render

    docs = [load_json(p) for p in sorted(shared_path("anthropic", "incidents_json_snapshots").glob("*.json"))]
    harness.bot.poller.catchup = timedelta(days=365)  # later snapshots are posted live, as a running bot would
    harness.bot.worker.drafts = None  # the drafts' figures are checked below, without drawing their charts
    for index in (1, 2, 13, 14):  # the first start (49 past incidents and one open), then live polls
        page.serve(incidents=docs[index])
        clock.set(parse_time(docs[index]["page"]["updated_at"]))
        await harness.poll()
        if index == 1:
            open_one = next(i for i in _incidents(harness) if i.resolved_at is None)
            clock.advance(60)
            assert open_one.id is not None
            harness.bot.engine.resolve(open_one.id, Actor(name="bob", platform="cli"))
            await harness.bot.worker.drain()
    now = clock.now()
    incidents = _incidents(harness)
    shown = [line for line in harness.lines() if NEGATIVE.search(line)]
    assert shown == [], shown  # the console (was: "resolved by vendor after -1m 55s")
    history = [i for i in incidents if i.detected_at is None]
    assert len(history) >= 40  # recorded as history on the first start: no detection time
    assert all(card(i).time_to_resolve is None and card(i).lead_time is None for i in history)
    resolved_by_bob = next(line for line in harness.lines() if "resolved by bob" in line)
    monkeypatch.setenv("DATABASE_URL", db_url)
    bob = runner.invoke(app, ["show", str(open_one.id)])
    assert bob.exit_code == 0, bob.output
    ttr = re.search(r"TTR (\S+ ?\S*?) ·", bob.stdout)
    assert ttr is not None and f"TTR {ttr.group(1)}" in resolved_by_bob  # console and `show` agree
    assert "Resolved by bob (bob)" not in bob.stdout

    listed = json.loads(runner.invoke(app, ["incidents", "--all", "--limit", "1000", "--json"]).stdout)
    assert len(listed) == len(incidents) and all(s >= 0 for s in json_seconds(listed))
    for incident in incidents:
        view = card(incident)
        assert all(d >= timedelta(0) for d in figures_of(view, now)), incident.upstream_id
        out = runner.invoke(app, ["show", str(view.id)])
        assert out.exit_code == 0 and not NEGATIVE.search(out.stdout), out.stdout
        blocks = json.dumps([b.to_dict() for b in parent_blocks(view, now)], ensure_ascii=False)
        embed = json.dumps(card_embed(view, now).to_dict(), ensure_ascii=False)
        assert not NEGATIVE.search(blocks) and not NEGATIVE.search(embed), view.id
        draft = gather(harness.bot.db, view.id, now)
        assert not NEGATIVE.search(" ".join(draft.durations.values()) + draft.summary), view.id
        assert not NEGATIVE.search(render(draft)), view.id
    # bob's resolution, as each place says it: the console, `show`, the Slack card, the Discord embed, the draft
    said = re.search(r"resolved by bob after (.+), TTR (.+) — ", resolved_by_bob)
    assert said is not None, resolved_by_bob
    after, ttr_text = said.groups()
    assert f"lasted {after} · " in bob.stdout and f"TTR {ttr_text} · " in bob.stdout, bob.stdout
    bob_card = card(next(i for i in _incidents(harness) if i.id == open_one.id))
    for rendered in (
        json.dumps([b.to_dict() for b in parent_blocks(bob_card, now)], ensure_ascii=False),
        json.dumps(card_embed(bob_card, now).to_dict(), ensure_ascii=False),
    ):
        assert f"{after} (resolved)" in rendered, rendered
    bob_draft = render(gather(harness.bot.db, bob_card.id, now))
    assert f"UTC ({after}), " in bob_draft and f"| Time to resolve (from our detection) | {ttr_text} |" in bob_draft
    figures = stats.compute(harness.bot.db, now, 365, {})
    numbers = [figures.mtta_median_s, figures.mtta_p90_s, figures.mttr_median_s, figures.mttr_p90_s]
    assert all(n >= 0 for n in numbers if n is not None) and figures.mttr_median_s is not None
    assert not any(NEGATIVE.search(line) for line in stats.describe(figures))


async def test_a_first_run_of_the_real_bot_on_the_recorded_page_in_real_time(tmp_path: Path) -> None:
    """`statusbot run` as a process, on the recorded status.claude.com snapshots, in real time (months after
    them): the first start records the past as history and says so in one line; /metrics counts the open
    incident and reads 0 once none is open; and nothing the bot or the CLI prints (the console, `show`,
    `incidents --json`, `stats`, the postmortems) holds a negative figure."""
    import httpx

    from tests.processes import wait_for
    from tests.replicas_world import free_port
    from tests.test_operating import metrics

    docs = [load_json(p) for p in sorted(shared_path("anthropic", "incidents_json_snapshots").glob("*.json"))]
    port, out, err = free_port(), tmp_path / "run.out", tmp_path / "run.err"
    db = tmp_path / "bot.db"
    async with FakeStatuspage(incidents=docs[1]) as page, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db}",
            "STATUSPAGE_URL": page.base_url,
            "STATUSBOT_POLL_INTERVAL": "0.2",
            "STATUSBOT_OUTBOX_SWEEP": "0.2",
            "PORT": str(port),
            "STATUSBOT_HOST": "127.0.0.1",
            "STATUSBOT_CONSOLE": "true",
            "STATUSBOT_POSTMORTEM_DIR": str(tmp_path / "drafts"),
        }
        with out.open("w") as stdout, err.open("w") as stderr:
            bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=stdout, stderr=stderr)
            try:
                gauges: list[dict[Any, float]] = []
                for index in (1, 2, 3):  # the first start (49 past, 1 open), then two live polls that day
                    page.serve(incidents=docs[index])
                    await _polled_and_delivered(page, web, wait_for)
                    gauges.append(metrics(await web.get("/metrics")))
            finally:
                bot.terminate()
                assert bot.wait(timeout=30) == 0
    logged = err.read_text()
    assert "Traceback" not in logged, logged
    assert "claude: recorded 49 past incidents as history (nothing posted)" in logged
    open_now = [g[("statusbot_open_incidents", (("service", "claude"),))] for g in gauges]
    assert open_now == [1, 1, 0]  # reads 0 once none is open: it never vanishes
    assert all(g[("statusbot_outbox_pending", (("sink", "console"),))] == 0 for g in gauges)
    console = out.read_text()
    assert "resolved by vendor after" in console and not NEGATIVE.search(console), console

    def run(*args: str) -> str:
        done = cli(*args, DATABASE_URL=f"sqlite:///{db}")
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return str(done.stdout)

    listed = json.loads(run("incidents", "--all", "--limit", "1000", "--json"))
    assert len(listed) >= 50 and all(s >= 0 for s in json_seconds(listed))
    live = [i["id"] for i in listed if i["detected_at"] is not None]
    history = [i["id"] for i in listed if i["detected_at"] is None]
    assert len(live) == 1 and len(history) == 49  # the one open at the first start; the past
    for number in (*live, history[0], history[-1]):
        shown = run("show", str(number))
        assert not NEGATIVE.search(shown), shown
        assert run("postmortem", str(number), "--out", str(tmp_path)).startswith("wrote ")
        draft = (tmp_path / f"postmortem-{number}.md").read_text()
        assert not NEGATIVE.search(draft), draft
    for window in ("7d", "30d", "90d"):
        assert not NEGATIVE.search(run("stats", "--window", window))
        assert all(s >= 0 for s in json_seconds(json.loads(run("stats", "--window", window, "--json"))))


async def _polled_and_delivered(page: FakeStatuspage, web: Any, wait_for: Any) -> None:
    """Two more polls of the page (the first may have been under way with the old one), then nothing left
    in the outbox."""
    import httpx

    from tests.test_operating import metrics

    def polls() -> int:
        return sum(path == "/api/v2/incidents.json" for path, _ in page.requests)

    seen = polls()
    await wait_for(lambda: polls() >= seen + 2, "two polls of the page")
    for _ in range(200):
        try:
            pending = metrics(await web.get("/metrics")).get(("statusbot_outbox_pending", (("sink", "console"),)))
        except httpx.HTTPError:
            pending = None
        if pending == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox did not empty")


def _incidents(harness: Harness) -> list[Incident]:
    with harness.bot.db.session() as session:
        return list(session.exec(select(Incident).order_by(Incident.id)))  # type: ignore[arg-type]


async def test_the_first_start_says_how_many_past_incidents_it_recorded_as_history(
    harness: Harness, page: FakeStatuspage, caplog: pytest.LogCaptureFixture
) -> None:
    page.serve(incidents=load_json(sorted(shared_path("anthropic", "incidents_json_snapshots").glob("*"))[1]))
    with caplog.at_level("INFO", logger="bot.sources.statuspage.poller"):
        await harness.poll()
    said = [r.getMessage() for r in caplog.records]
    assert said[-2:] == [  # was: "50 opened/updated, 152 new updates" for what was history
        "claude: recorded 49 past incidents as history (nothing posted)",
        "claude: 1 opened, 0 updated, 2 new updates",
    ]


def test_history_detection_times_are_cleared_by_the_upgrade(any_db_url: str) -> None:
    """Migration 0008 on a database written by 0007: history stamped after its resolution loses its
    detection time; an incident seen live keeps it."""
    upgrade(any_db_url, "0007")
    database = Database(any_db_url)
    row = (
        "INSERT INTO incident (id, service, source, upstream_id, kind, title, status, impact, components, announced,"
        " preexisting, started_at, detected_at, resolved_at, updated_at) VALUES (:id, 'claude', 'statuspage', :up,"
        " 'incident', 'x', 'resolved', 'minor', '[]', :announced, :no, :start, :detected, :resolved, :detected)"
    )
    day = datetime(2026, 1, 1)
    with database.engine.begin() as conn:
        history = {"id": 1, "up": "old", "announced": False, "start": day, "resolved": day + timedelta(hours=1)}
        conn.execute(text(row), {**history, "no": False, "detected": day + timedelta(days=3)})
        live = {"id": 2, "up": "new", "announced": True, "start": day, "resolved": day + timedelta(hours=1)}
        conn.execute(text(row), {**live, "no": False, "detected": day + timedelta(minutes=2)})
    upgrade(any_db_url)
    with database.session() as session:
        rows = {i.id: i for i in session.exec(select(Incident))}
    assert rows[1].detected_at is None
    assert rows[2].detected_at == (day + timedelta(minutes=2)).replace(tzinfo=UTC)
    assert card(rows[1]).time_to_resolve is None and card(rows[2]).time_to_resolve == timedelta(minutes=58)
    command.downgrade(alembic_config(any_db_url), "0007")  # and back: required again, filled from updated_at
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE detected_at IS NULL")).scalar() == 0
    database.dispose()


# -- 2. one line, never a traceback -----------------------------------------------------------------------
def test_a_postgresql_url_without_its_driver_is_one_line(tmp_path: Path) -> None:
    shadow = tmp_path / "no-driver" / "psycopg"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'psycopg'\")\n")
    url, blocked = "postgresql://bot:hunter2@127.0.0.1/x", {"PYTHONPATH": str(shadow.parent)}
    for words in (["status"], ["run"], ["doctor"], ["db", "upgrade"], ["incidents", "--db", url]):
        result = cli(*words, **blocked, DATABASE_URL=url)
        one_line(result, 2, "DATABASE_URL", "pip install 'statusbot[postgres]'")
        assert "hunter2" not in result.stderr
    seed(f"sqlite:///{tmp_path / 'live.db'}")
    copy = cli("db", "copy", "--to", url, "--db", str(tmp_path / "live.db"), **blocked)
    one_line(copy, 2, "--to: PostgreSQL needs the psycopg driver", "pip install 'statusbot[postgres]'")
    assert "hunter2" not in copy.stderr


def test_a_database_folder_that_is_missing_is_one_line_and_is_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "volume-not-mounted"
    for words in (["db", "upgrade"], ["run"]):
        result = cli(*words, DATABASE_URL=f"sqlite:///{folder}/statusbot.db", PORT="0", STATUSBOT_HOST="127.0.0.1")
        one_line(result, 2, f"the database folder {folder} does not exist")
    seed(f"sqlite:///{tmp_path / 'live.db'}")
    backup = cli("db", "backup", str(folder / "copy.db"), DATABASE_URL=f"sqlite:///{tmp_path / 'live.db'}")
    one_line(backup, 2, f"cannot write {folder / 'copy.db'}: the folder {folder} does not exist")
    assert not folder.exists()


def test_a_read_only_database_folder_is_one_line_for_every_command(shared_tmp: Path) -> None:
    folder = shared_tmp / "data"
    folder.mkdir()
    seed(f"sqlite:///{folder / 'old.db'}")
    drop = read_only(folder)
    env = {"PORT": "0", "STATUSBOT_HOST": "127.0.0.1", "STATUSPAGE_URL": "http://127.0.0.1:9"}
    fresh, old = f"sqlite:///{folder / 'new.db'}", f"sqlite:///{folder / 'old.db'}"
    readers = (["status"], ["incidents"], ["show", "1"], ["stats"])
    for words, url in ((["db", "upgrade"], fresh), (["run"], fresh), *((r, old) for r in readers)):
        result = cli(*words, preexec=drop, DATABASE_URL=url, **env)
        one_line(result, 1, f"the database folder {folder} is read-only", "make the folder writable")
    seed(f"sqlite:///{shared_tmp / 'live.db'}")
    backup = cli("db", "backup", str(folder / "copy.db"), preexec=drop, DATABASE_URL=f"sqlite:///{shared_tmp}/live.db")
    one_line(backup, 1, f"cannot write {folder / 'copy.db'}: the folder {folder} is read-only")


def test_a_port_already_taken_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(
            "run",
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
            PORT=str(port),
            STATUSBOT_HOST="127.0.0.1",
            STATUSPAGE_URL="http://127.0.0.1:9",
        )
    one_line(result, 1, f"port {port} is already in use on 127.0.0.1", "set PORT")
    assert result.stdout == ""


def test_postmortem_out_paths_and_incident_numbers(seeded: str, shared_tmp: Path) -> None:
    missing = cli("postmortem", "1", "--out", str(shared_tmp / "no" / "pm.md"), DATABASE_URL=seeded)
    one_line(missing, 2, f"the folder {shared_tmp / 'no'} does not exist")
    locked = shared_tmp / "locked"
    locked.mkdir()
    drop = read_only(locked)
    denied = cli("postmortem", "1", "--out", str(locked / "pm.md"), preexec=drop, DATABASE_URL=seeded)
    one_line(denied, 1, f"cannot write {locked / 'pm.md'}: permission denied")
    into = shared_tmp / "drafts"
    into.mkdir()
    written = cli("postmortem", "#1", "--out", str(into), DATABASE_URL=seeded)  # a folder: the draft goes in it
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == f"wrote {into / 'postmortem-1.md'} and {into / 'postmortem-1.png'}"
    assert (into / "postmortem-1.png").read_bytes()[:4] == b"\x89PNG"
    one_line(cli("show", "99999999999999999999", DATABASE_URL=seeded), 2, "There is no incident #99999999999999999999")
    odd = runner.invoke(app, ["show", "²"], env={"DATABASE_URL": seeded})
    assert odd.exit_code == 2 and "is not an incident number" in odd.output
    acked = runner.invoke(app, ["ack", "#1", "--by", "carol"], env={"DATABASE_URL": seeded})  # outputs print `#1`
    assert acked.exit_code == 0 and acked.stdout.strip() == "#1 acknowledged by carol", acked.output


# -- 3. read-only commands never create a database ----------------------------------------------------------
@pytest.mark.parametrize("command", [["status"], ["incidents"], ["show", "1"], ["stats"], ["postmortem", "1"]])
def test_reading_commands_on_a_missing_database_say_so_and_create_nothing(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    file = tmp_path / "nowhere" / "statusbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{file}")
    result = runner.invoke(app, command)
    assert result.exit_code == 1 and f"there is no database at {file}" in result.output, result.output
    assert not file.parent.exists() and list(tmp_path.iterdir()) == []


# -- 5. input checks ----------------------------------------------------------------------------------------
def test_command_line_mistakes_are_refused_with_one_line(seeded: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": seeded}
    for verb, by in (("ack", ""), ("ack", "   "), ("resolve", ""), ("resolve", " \t")):
        result = runner.invoke(app, [verb, "1", "--by", by], env=env)
        assert result.exit_code == 2 and "--by needs the name of who is acting" in result.output
    for limit in ("-1", "0"):
        result = runner.invoke(app, ["incidents", "--limit", limit], env=env)
        assert result.exit_code == 2 and "Invalid value for '--limit'" in result.output
        assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, ["slack", "manifest", "--url", "notaurl"])
    assert result.exit_code == 2 and "--url must be the bot's public https:// base URL" in result.output
    manifest = json.loads(runner.invoke(app, ["slack", "manifest", "--url", "https://bot.example.com/"]).stdout)
    assert manifest["settings"]["interactivity"]["request_url"] == "https://bot.example.com/slack/events"
    assert runner.invoke(app, ["ack", "1", "--by", "dave"], env=env).exit_code == 0
    missing = runner.invoke(app, ["db", "backup", str(tmp_path / "copy.db")], env={"DATABASE_URL": "sqlite:///no.db"})
    assert missing.exit_code == 1 and "there is no database at" in missing.output


def test_an_unknown_key_in_statusbot_toml_names_the_closest_valid_one(tmp_path: Path) -> None:
    toml = tmp_path / "statusbot.toml"
    toml.write_text("pol_interval = 5\n")
    result = cli("status", STATUSBOT_CONFIG=str(toml))
    one_line(result, 2, f"{toml}: unknown key 'pol_interval' (did you mean 'poll_interval'?)")
    toml.write_text('[[probes]]\nname = "api"\nkinds = "http"\n')
    result = runner.invoke(app, ["status"], env={"STATUSBOT_CONFIG": str(toml)})
    assert result.exit_code == 2 and "[[probes]] #1 unknown key 'kinds' (did you mean 'kind'?)" in result.output
    toml.write_text('poll_interval = 5\nDATABASE_URL = "sqlite:///x.db"\n')  # field and env names both set things
    result = runner.invoke(app, ["slack", "manifest"], env={"STATUSBOT_CONFIG": str(toml)})
    assert result.exit_code == 0


COMMANDS = (
    "run", "doctor", "demo", "backfill", "status", "incidents", "show", "stats", "ack", "resolve", "postmortem",
    "db upgrade", "db backup", "db copy", "slack manifest",
)  # fmt: skip


def test_help_shows_flags_and_the_version_is_known() -> None:
    help_text = runner.invoke(app, ["status", "--help"]).stdout
    assert re.search(r"^\s+--json\s+Machine-readable", help_text, re.M) and "<bool>" not in help_text
    assert re.search(r"^\s+--help\s+Show this message", help_text, re.M)
    for words in COMMANDS:  # every command's help: a flag reads as a flag, never as a `<bool>` option
        shown = runner.invoke(app, [*words.split(), "--help"])
        assert shown.exit_code == 0 and re.search(r"^\s+--help\s+Show this message", shown.stdout, re.M), words
        assert "<bool>" not in shown.stdout and "--no-" not in shown.stdout, (words, shown.stdout)
    listed = runner.invoke(app, ["incidents", "--help"]).stdout
    assert re.search(r"^\s+--all\s+Include resolved", listed, re.M) and re.search(r"^\s+--json\s+Machine", listed, re.M)
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"statusbot \d+\.\d+\.\d+\S*\n", version.stdout)
    bare = runner.invoke(app, [])
    assert bare.exit_code == 0 and "Commands:" in bare.stdout


# -- 6 and 7. the chart: drawn apart, legible ---------------------------------------------------------------
def chart_request(minutes: int) -> dict[str, Any]:
    start = datetime(2026, 4, 15, 14, 40, tzinfo=UTC)
    at = [start + timedelta(minutes=m) for m in range(minutes)]
    return {
        "title": "#2 Elevated errors on Claude.ai, API, Claude Code",
        "window": [start.isoformat(), (start + timedelta(minutes=60)).isoformat()],
        "minutes": [t.isoformat() for t in at],
        "p50_ms": [400.0 + 10 * (m % 7) for m in range(minutes)],
        "p95_ms": [900.0 + 30 * (m % 5) for m in range(minutes)],
        "error_pct": [100.0 if 10 <= m < 30 else 0.0 for m in range(minutes)],
        "vendor": [
            [(start + timedelta(minutes=m)).isoformat(), s] for m, s in ((13, "investigating"), (50, "resolved"))
        ],
        "people": [[(start + timedelta(minutes=19)).isoformat(), "ack", "alice"]],
        "resolved": [(start + timedelta(minutes=50)).isoformat(), "vendor"],
    }


def test_the_chart_legend_hides_no_marker_p50_and_p95_differ_and_no_data_is_said() -> None:
    import matplotlib.pyplot as plt

    from bot.postmortem import chart

    fig = chart.figure(chart_request(60))
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    legend = fig.legends[0].get_window_extent(renderer)
    marks = [t.get_window_extent(renderer) for axis in fig.axes for t in axis.texts]
    assert len(marks) == 4 and not any(legend.overlaps(mark) for mark in marks)  # vendor ×2, ack, resolved
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    p50, p95 = lines["latency p50"], lines["latency p95"]
    assert p50.get_color() != p95.get_color() and p50.get_linestyle() != p95.get_linestyle()
    plt.close(fig)
    empty = chart.figure(chart_request(0))
    assert empty.axes[0].get_ylim() == (0, 1)  # no made-up negative latency axis
    assert "no probe results in this window" in [t.get_text() for t in empty.axes[0].texts]
    plt.close(empty)


def test_charts_are_drawn_in_a_worker_that_leaves_so_the_bot_never_loads_matplotlib(seeded: str) -> None:
    script = """
import sys
import time
from datetime import UTC, datetime
from bot.postmortem.chart_worker import ChartFailed, ChartWorker
from bot.postmortem.draft import build
from bot.store.db import Database
worker = ChartWorker()
worker.warm(), worker.warm()  # started ahead of the first chart: one child, however often
drafts = [build(Database(sys.argv[1]), 1, datetime.now(UTC), None, worker.draw) for _ in range(2)]
try:
    worker.draw({"title": "broken"})
except ChartFailed as exc:
    print("refused:", exc)
print(all(d.chart_png.startswith(b"\\x89PNG") for d in drafts), worker.spawned, worker.running)
worker.close()
unused = ChartWorker(idle=0.5)
unused.warm()
time.sleep(3)
print(worker.running, unused.running, "matplotlib" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script, seeded], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "refused: the chart worker could not draw it: KeyError: 'minutes'",
        "True 1 True",  # one child drew both, and survived the broken request
        "False False False",  # gone once closed, or idle though warmed and unused; matplotlib never loaded here
    ]


def test_a_bot_whose_schema_is_current_never_loads_alembic(seeded: str) -> None:
    """`statusbot run` checks the schema first: when it is current, Alembic (~11 MiB) stays out."""
    from alembic.script import ScriptDirectory

    from bot.store.db import head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config(seeded)).get_current_head()
    script = "import sys; "
    script += "from bot.store.db import Database; Database(sys.argv[1]).upgrade(); print('alembic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script, seeded], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


async def test_the_long_running_bot_never_loads_the_command_line_parser(seeded: str) -> None:
    """`statusbot run` starts without typer (bot/launch.py): its parser and the pydantic adapters it
    builds for every option would stay in the bot's memory (2.1 MiB) for nothing."""
    from tests.processes import wait_for

    probe = (
        "import runpy, sys\nsys.argv = ['statusbot', 'run']\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit as stop:\n    print('exit', stop.code)\n"
        "print(sorted(m for m in ('typer', 'click', 'bot.cli') if m in sys.modules))"
    )
    async with FakeStatuspage() as page:
        env = {**os.environ, "DATABASE_URL": seeded, "STATUSPAGE_URL": page.base_url, "PORT": "0"}
        env |= {"STATUSBOT_HOST": "127.0.0.1", "STATUSBOT_CONSOLE": "true", "STATUSBOT_POLL_INTERVAL": "0.2"}
        bot = subprocess.Popen([sys.executable, "-c", probe], env=env, stdout=subprocess.PIPE, text=True)
        await wait_for(lambda: page.requests, "the first poll")
        bot.terminate()
        out, _ = bot.communicate(timeout=30)
    assert out.splitlines()[-2:] == ["exit 0", "[]"], out


async def test_the_bot_loads_the_ca_bundle_once_for_all_its_http_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx builds a TLS context per client unless given one: ~1.5 MiB and ~30 ms each (bot/tls.py)."""
    import ssl

    from bot import tls
    from bot.app import StatusBot
    from bot.config import ProbeSpec
    from bot.doctor import run_checks
    from tests.conftest import make_settings

    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    tls.context.cache_clear()
    probes = [ProbeSpec(name="api", kind="anthropic_messages")]
    settings = make_settings(f"sqlite:///{tmp_path / 'bot.db'}", "http://127.0.0.1:9", probes=probes)
    settings.anthropic_api_key = SecretStr("sk-test")
    bot = StatusBot(settings)
    await run_checks(settings)
    await bot.stop()
    assert len(made) == 1, made  # the status page's client, the probes', the doctor's: one context


def test_the_incidents_table_has_a_header_and_an_open_draft_says_how_long_so_far(seeded: str, tmp_path: Path) -> None:
    table = runner.invoke(app, ["incidents"], env={"DATABASE_URL": seeded}).stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "IMPACT", "STARTED", "(UTC)", "DURATION", "ACKNOWLEDGED", "TITLE"]
    assert table[1].split()[:3] == ["#1", "investigating", "major"] and "13m" in table[1]
    status = runner.invoke(app, ["status"], env={"DATABASE_URL": seeded}).stdout.splitlines()
    assert status[-2] == table[0] and status[-3] == "open incidents: 1"
    written = cli("postmortem", "1", "--out", str(tmp_path / "open.md"), DATABASE_URL=seeded)
    assert written.returncode == 0, written.stderr
    summary = (tmp_path / "open.md").read_text().split("## Summary\n\n", 1)[1].splitlines()[0]
    assert re.match(r"claude incident from \S+ \S+ UTC, still open \(13m (00s )?so far\), major impact\.", summary), (
        summary
    )
    # was: "to now (still open) (5m 10s)", the time from its start to our detection
