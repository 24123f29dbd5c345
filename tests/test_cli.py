"""The CLI a new user meets: clear configuration errors, the demo, and the read/act commands with
their documented `--json` shapes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import seed

runner = CliRunner()


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("STATUSBOT_POLL_INTERVAL", "-5", "STATUSBOT_POLL_INTERVAL: Input should be greater than 0"),
        ("STATUSPAGE_URL", "status.claude", "STATUSPAGE_URL: Input should be a valid URL"),
        ("PORT", "eighty", "PORT: Input should be a valid integer"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: must be a sqlite:/// or postgresql:// URL"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line(name: str, value: str, words: str) -> None:
    result = run_cli("run", **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"statusbot: configuration error: {words}")
    assert "Traceback" not in result.stderr


def test_toml_file_is_read_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    toml = tmp_path / "statusbot.toml"
    toml.write_text('poll_interval = 12\nservice_name = "vendor"\n')
    monkeypatch.setenv("STATUSBOT_CONFIG", str(toml))
    monkeypatch.setenv("STATUSBOT_POLL_INTERVAL", "45")
    settings = load_settings()
    assert (settings.poll_interval, settings.service_name) == (45.0, "vendor")


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    monkeypatch.setenv("STATUSBOT_WEBHOOK_SECRET", "hunter2-very-secret")
    settings = load_settings()
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


def test_demo_tells_the_whole_story_and_leaves_a_database_to_try(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--delay", "0"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    parents = [line for line in lines if line.startswith("● #")]
    assert len(parents) == 2 and "Slow sign-in to Claude Code" in parents[1]  # still open: one to acknowledge
    assert "probe api sees errors" in lines[2] and "not yet acknowledged by the vendor" in lines[2]
    updates = [line for line in lines if line.startswith("    #2 ")]
    assert (
        sum(
            "investigating" in u or "identified" in u or "monitoring" in u or "resolved" in u
            for u in updates
            if "probe" not in u
        )
        == 7
    )
    assert any("acknowledged  Acknowledged by alice" in line for line in lines)
    assert any("Probe api has recovered. Waiting for the vendor" in line for line in lines)
    assert any(line.startswith("✔ #2 claude  resolved by vendor after 2h 53m, TTR 2h 53m") for line in lines)
    assert f"📝 #2 claude  postmortem draft: {tmp_path / 'postmortem-2.md'} (chart beside it)" in lines
    draft = (tmp_path / "postmortem-2.md").read_text()
    assert "| Detection lead time | 1m 54s |" in draft and "| Time to acknowledge | 9m 00s (alice) |" in draft
    assert (tmp_path / "postmortem-2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Its database is kept in {tmp_path / 'statusbot-demo.db'}. Try, on it:" in lines
    assert "  statusbot ack 3 --by you --db statusbot-demo.db" in lines
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = readme.split("```\n● #2", 1)[1].split("```", 1)[0]
    printed = {_undated(line.replace(str(tmp_path), "/home/you")) for line in lines}
    for line in ("● #2" + example).splitlines():  # the README's example is a real run, times aside
        assert line.strip() == "…" or _undated(line) in printed, line
    shown = run_cli("show", "2", "--db", str(tmp_path / "statusbot-demo.db"))
    assert shown.returncode == 0, shown.stderr
    assert "lasted 2h 53m · TTA 9m 00s (alice) · TTR 2h 53m · vendor TTR 2h 50m · lead 1m 54s" in shown.stdout


def _undated(line: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d|\d\d-\d\d \d\d:\d\d|\d\d:\d\d:\d\d", "<time>", line)


def test_the_readme_shows_the_current_schema_revision() -> None:
    from alembic.script import ScriptDirectory

    from bot.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"is reachable and migrated (revision {head})" in readme


def test_a_demo_step_that_fails_is_said_and_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "postmortem-2.md").mkdir()  # the draft cannot be written there
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--delay", "0"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "That was the whole pipeline" not in result.stdout
    assert "The demo did not finish: postmortem of incident #2: IsADirectoryError" in result.stdout
    assert "Traceback" not in result.stderr


def test_read_and_act_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    seed(url)

    listed = json.loads(runner.invoke(app, ["incidents", "--json"]).stdout)
    assert [(i["id"], i["status"], i["acknowledged_by"]) for i in listed] == [(1, "investigating", None)]
    assert runner.invoke(app, ["ack", "1", "--by", "carol"]).exit_code == 0
    again = runner.invoke(app, ["ack", "1", "--by", "dave"])
    assert again.exit_code == 1 and "already acknowledged by carol" in again.output
    assert runner.invoke(app, ["resolve", "1", "--by", "carol"]).exit_code == 0
    shown = json.loads(runner.invoke(app, ["show", "1", "--json"]).stdout)
    assert shown["resolved_by"] == "carol" and shown["time_to_acknowledge_s"] >= 0
    assert [e["kind"] for e in shown["timeline"]] == ["vendor_update", "ack", "resolve"]
    assert runner.invoke(app, ["incidents", "--json"]).stdout.strip() == "[]"
    assert len(json.loads(runner.invoke(app, ["incidents", "--all", "--json"]).stdout)) == 1
    missing = runner.invoke(app, ["show", "99"])
    assert missing.exit_code == 1 and "no incident #99" in missing.output
    assert "open incidents: 0" in runner.invoke(app, ["status"]).stdout


def test_readme_documents_every_setting_with_its_default() -> None:
    from bot.config import describe
    from bot.readme import README, with_table

    readme = README.read_text(encoding="utf-8")
    assert with_table(readme) == readme, "the README's settings table is stale: run `python -m bot.readme`"
    rows = {line.split("|")[1].strip(" `"): line for line in readme.splitlines() if line.startswith("| `")}
    for name, _, default, _ in describe():
        assert name in rows, f"{name} is missing from the README's settings table"
        assert default in rows[name], f"{name}: the README does not show the default {default}"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_CHANNEL: is required with SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CHANNEL": "C0123"}, "SLACK_SIGNING_SECRET: is required unless"),
        ({"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_CHANNEL": "C0123"}, "SLACK_BOT_TOKEN: must be a bot token"),
        ({"SLACK_CHANNEL": "C0123"}, "SLACK_BOT_TOKEN: is required when other SLACK_ settings are set"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CHANNEL": "#incidents", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_CHANNEL: String should match pattern",
        ),
    ],
)
def test_missing_or_contradictory_slack_settings_are_one_line(env: dict[str, str], words: str) -> None:
    result = run_cli("run", **env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and words in lines[0], result.stderr
    assert "xoxb-1" not in result.stderr and "xoxp-user" not in result.stderr


def test_a_bad_probe_declaration_names_the_file_and_entry(tmp_path: Path) -> None:
    toml = tmp_path / "statusbot.toml"
    toml.write_text('[[probes]]\nname = "api"\nkind = "anthropic_messages"\n\n[[probes]]\nname = "x"\nkind = "ftp"\n')
    result = run_cli("run", STATUSBOT_CONFIG=str(toml))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"{toml} [[probes]] #2 kind: Input should be 'anthropic_messages'" in lines[0]


def test_two_probes_of_one_name_are_one_config_error(tmp_path: Path) -> None:
    toml = tmp_path / "statusbot.toml"
    probe = '[[probes]]\nname = "api"\nkind = "http"\nurl = "http://127.0.0.1:9/"\n\n'
    toml.write_text(probe * 2)
    result = run_cli("run", STATUSBOT_CONFIG=str(toml))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "[[probes]] names must be unique; api is declared more than once" in lines[0]
