"""Every command that opens the database, on a missing, read-only or corrupt SQLite file:
one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.cli import app
from storage.db import make_engine
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


# --- an operator's mistakes and a database this code cannot read ----------------------------


def _coachbot(url: str, *args: str):
    env = {"COACHBOT_DATABASE_URL": url, "COACHBOT_PROGRAM": str(SAMPLE),
           "COACHBOT_TELEGRAM_TOKEN": "", "COACHBOT_SLACK_BOT_TOKEN": "", "COLUMNS": "400"}
    return CliRunner().invoke(app, list(args), env=env, input="")


def _one_line(result, *, says: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert says in lines[0], lines[0]


@pytest.fixture
def ana(tmp_path: Path, sqlite_template: Path) -> str:
    """A database with Ana Lima enrolled."""
    path = tmp_path / "coachbot.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    result = _coachbot(url, "enroll", "--program", "business_12w", "--name", "Ana Lima",
                       "--tz", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    return url


@pytest.mark.parametrize("where", ["a missing folder", "a directory"])
def test_report_out_into_a_missing_folder_or_onto_a_directory(ana, tmp_path, where):
    target = tmp_path / "no-such-folder" / "r.csv" if where == "a missing folder" else tmp_path
    _one_line(_coachbot(ana, "report", "--format", "csv", "--out", str(target)),
              says=f"cannot write {target}")


@pytest.mark.parametrize("command", [["run"], ["db", "upgrade"], ["report"],
                                     ["export", "Ana Lima"], ["audit"]],
                         ids=lambda c: " ".join(c))
def test_a_database_from_a_newer_coachbot_is_refused_untouched(ana, command):
    engine = make_engine(ana)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    _one_line(_coachbot(ana, *command), says="migrated by a newer coachbot (revision 0099)")
    engine = make_engine(ana)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")
                                  ).scalar_one() == "0099"
    engine.dispose()


@pytest.mark.parametrize("command", [["report"], ["export", "Ana Lima"],
                                     ["erase", "Ana Lima", "--yes"]], ids=lambda c: c[0])
def test_a_corrupt_page_in_the_middle_of_a_command(ana, command):
    path = Path(ana.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        [(root,)] = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'enrolment'").fetchall()
    connection.close()
    with path.open("r+b") as file:  # the opening and migrations still read fine
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    _one_line(_coachbot(ana, *command), says="cannot use the database")


def test_a_client_name_with_rich_markup_is_printed_as_typed(ana):
    name = "Ana [/bold] [red]Lima"
    enrolled = _coachbot(ana, "enroll", "--program", "business_12w", "--name", name,
                         "--tz", "UTC")
    assert enrolled.exit_code == 0, enrolled.output
    assert f"Enrolled {name} in business_12w" in enrolled.stdout
    _one_line(_coachbot(ana, "erase", name), says=f"erasing {name} cannot be undone")
    _one_line(_coachbot(ana, "export", "[/bold]"), says="no client named '[/bold]'")
    exported = _coachbot(ana, "audit", "--client", name)
    assert exported.exit_code == 0, exported.output
    erased = _coachbot(ana, "erase", name, "--yes")
    assert erased.exit_code == 0 and f"Erased {name}:" in erased.stdout
