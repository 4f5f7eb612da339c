"""A program revised while clients are in it: conversations finish on the version they began."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from bot.composition import build_app
from bot.settings import Settings
from storage.models import Answer
from tests.conftest import INTAKE, Client
from tests.conversations.chat import revised_sample_text


def write_revision(tmp_path: Path) -> Path:
    path = tmp_path / "revised.yaml"
    path.write_text(revised_sample_text(), "utf-8")
    return path


def test_a_client_mid_checkin_finishes_after_a_restart_on_a_revised_program(
        app, enrol, clock, db_url, tmp_path):
    client = enrol("Ana Lima")
    for typed in INTAKE:
        client.says(typed)
    client.says("/checkin")
    assert any("What got in the way" in t for t in client.says("3"))
    restarted = build_app(Settings(database_url=db_url, program=write_revision(tmp_path),
                                   _env_file=None), clock=clock, migrate=False)
    try:
        again = Client(app=restarted, address=client.address, _ids=client._ids)
        assert any("What revenue" in t for t in again.says("clients went quiet"))
        assert any("Did you do the outreach" in t for t in again.says("2500"))
        again.says("yes")
        again.says("1")
        assert any("Thanks, Ana" in t for t in again.says("/skip"))
        with Session(restarted.db) as session:
            kept = {a.question_id for a in session.exec(
                select(Answer).where(Answer.flow_id == "weekly_checkin"))}
        assert kept == {"confidence", "blocker", "revenue", "did_outreach", "focus"}
    finally:
        restarted.db.dispose()
