"""Every command that opens the database, on a missing, read-only or corrupt SQLite file:
one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import SAMPLE

COMMANDS = [
    ["run"],
    ["enroll", "--program", "business_12w", "--name", "Ana Lima", "--tz", "UTC"],
    ["db", "upgrade"],
    ["staff", "add", "--name", "Tia Team", "--slack-id", "UTIA", "--role", "team",
     "--tz", "UTC"],
    ["session", "add", "Ana Lima", "--at", "2026-03-02 15:00"],
    ["report"],
    ["export", "Ana Lima"],
    ["erase", "Ana Lima", "--yes"],
    ["audit"],
]


def _missing(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'no-such-folder' / 'coachbot.db'}"


def _read_only(tmp_path: Path) -> str:
    # chmod does not stop root, so the file is opened read-only the way SQLite offers.
    path = tmp_path / "ro.db"
    path.write_bytes(b"")
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def _read_only_migrated(tmp_path: Path) -> str:
    path = tmp_path / "ro-migrated.db"
    shutil.copy(TEMPLATE[0], path)
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def _corrupt(tmp_path: Path) -> str:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database\x00" * 512)
    return f"sqlite:///{path}"


TEMPLATE: list[Path] = []


@pytest.fixture(autouse=True)
def _template(sqlite_template: Path) -> None:
    TEMPLATE[:] = [sqlite_template]


@pytest.mark.parametrize("database", [_missing, _read_only, _read_only_migrated, _corrupt],
                         ids=["missing", "read-only", "read-only-migrated", "corrupt"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_bad_database_file_gives_one_line_and_exit_2(command, database, tmp_path):
    env = {"COACHBOT_DATABASE_URL": database(tmp_path), "COACHBOT_PROGRAM": str(SAMPLE),
           "COACHBOT_TELEGRAM_TOKEN": "", "COACHBOT_SLACK_BOT_TOKEN": "", "COLUMNS": "400"}
    result = CliRunner().invoke(app, command, env=env, input="")
    if command == ["db", "upgrade"] and database is _read_only_migrated:
        assert result.exit_code == 0  # nothing to write, so nothing fails
        return
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
