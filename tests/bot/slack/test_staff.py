"""`coachbot staff add`: who is a coach or team member, reachable at a Slack user id."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app as cli
from storage.db import make_engine, session
from storage.models import Person
from storage.staff import staff_at


def test_staff_add_lists_a_team_member_with_a_backup(db_url: str, monkeypatch):
    monkeypatch.setenv("COACHBOT_DATABASE_URL", db_url)
    runner = CliRunner()
    first = runner.invoke(cli, ["staff", "add", "--name", "Bo Backup", "--slack-id", "UBO",
                                "--role", "team", "--tz", "Europe/Berlin"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["staff", "add", "--name", "Tia Team", "--slack-id", "UTIA",
                                 "--role", "team", "--tz", "Europe/Lisbon",
                                 "--backup", "bo backup"])
    assert second.exit_code == 0 and "backup bo backup" in second.output
    refused = runner.invoke(cli, ["staff", "add", "--name", "X", "--slack-id", "UX",
                                  "--role", "boss", "--tz", "Europe/Berlin"])
    assert refused.exit_code == 2 and "role must be one of coach, team" in refused.output
    engine = make_engine(db_url)
    with session(engine) as s:
        tia = staff_at(s, "UTIA")
        assert tia is not None and tia.timezone == "Europe/Lisbon"
        assert s.get(Person, tia.backup_id).name == "Bo Backup"
        assert staff_at(s, "UX") is None
    engine.dispose()
