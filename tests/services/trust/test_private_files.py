"""Files that hold clients' data are readable by the bot's user only (0600), whatever the
umask: the SQLite database and its -wal/-shm, exports, reports, reviews and /mydata files."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.cli import app
from storage.db import make_engine
from tests.bot.test_cli import run_console
from tests.conftest import SAMPLE
from tests.services.review.conftest import seed


@pytest.fixture(autouse=True)
def world_readable_umask() -> Iterator[None]:
    """The usual umask 022, under which a plain open() makes files 0644."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def coachbot(tmp_path: Path, *args: str):
    env = {"COACHBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'coachbot.db'}",
           "COACHBOT_PROGRAM": str(SAMPLE), "COACHBOT_TELEGRAM_TOKEN": "",
           "COACHBOT_SLACK_BOT_TOKEN": "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def test_the_database_and_its_wal_and_shm_are_created_0600(tmp_path: Path):
    coachbot(tmp_path, "enroll", "--program", "business_12w", "--name", "Ana Lima",
             "--tz", "Europe/Berlin")
    database = tmp_path / "coachbot.db"
    assert mode(database) == 0o600
    # While a connection is open the -wal and -shm files exist (the last close removes them).
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE person SET timezone = timezone"))
        for suffix in ("-wal", "-shm"):
            assert mode(Path(f"{database}{suffix}")) == 0o600, suffix
    engine.dispose()


def test_an_export_a_report_and_a_review_are_written_0600(tmp_path: Path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "coachbot.db")
    seed(f"sqlite:///{tmp_path / 'coachbot.db'}")  # two cohorts with a quarter to review
    coachbot(tmp_path, "enroll", "--program", "business_12w", "--name", "Ana Lima",
             "--tz", "Europe/Berlin")
    export, report, review = (tmp_path / n for n in ("ana.json", "report.csv", "review.html"))
    report.write_text("an older report, once world-readable")
    report.chmod(0o644)
    coachbot(tmp_path, "export", "Ana Lima", "--out", str(export))
    coachbot(tmp_path, "report", "--format", "csv", "--out", str(report))
    coachbot(tmp_path, "review", "--quarter", "2026Q3", "--format", "html", "--out", str(review))
    for written in (export, report, review):
        assert mode(written) == 0o600, written.name
    assert "Ana Lima" in export.read_text()


def test_mydata_on_the_console_saves_the_file_0600(tmp_path: Path):
    code, _ = run_console(tmp_path, ["yes", "/mydata"])
    assert code == 0
    assert mode(tmp_path / "coachbot-my-data.json") == 0o600
