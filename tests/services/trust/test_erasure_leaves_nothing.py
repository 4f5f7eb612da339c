"""After /delete, `coachbot erase` or retention, the client's name and words are nowhere: not in
any column of any table, not in the SQLite file or its WAL, not in what Slack shows the team
or the coach. Looked for everywhere, not only where the code is expected to have cleaned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as coachbot
from services import keys, session_notes
from services.data_rights import ERASED_NOTES_OFFER
from services.flows import open_flow_now
from services.retention import apply_retention
from storage.db import session
from storage.models import OutboxMessage
from tests.bot.slack.conftest import (  # noqa: F401  (fixtures)
    COACH,
    TEAM_CHANNEL,
    Slack,
    api,
    open_case,
    settings,
    slack,
)
from tests.conftest import SAMPLE
from tests.privacy_dump import (
    database_dump,
    mentions,
    rows_by_table,
    slack_dump,
    sqlite_bytes,
)

NAME = "Zoltan Quibble"
GOAL = "Quietly double revenue via Zanzibar partners"
BLOCKER = "my divorce is making this hard"
NOTE = "Fenwick ferry timetable keeps slipping"
SESSION_NOTES = "Talked through the Marrakesh franchise idea"
ACTION_ITEM = "Phone the Oberammergau supplier"
SECRETS = [NAME, *NAME.split(), GOAL, BLOCKER, NOTE, SESSION_NOTES, ACTION_ITEM]
# The tables of a coach's notes: filled by the history, empty after an erasure.
NOTES_TABLES = ("session_note", "action_item")


def zoltan_with_a_history(slack: Slack, enrol, clock):  # noqa: F811
    """Zoltan answers intake and a low check-in, an escalation quotes him to the team, the
    coach's digest names him, and every message has gone out."""
    zoltan = enrol(NAME, address="4242")
    for typed in ["yes", GOAL, "12000", "6", "10", "/skip"]:
        zoltan.says(typed)
    open_flow_now(slack.app.rt, zoltan.enrolled.enrolment_id, "weekly_checkin", key="w1")
    zoltan.flush()
    for typed in ["3", BLOCKER, "900", "no", "sales", NOTE]:
        zoltan.says(typed)
    open_case(slack.app, zoltan.enrolled.enrolment_id,
              evidence=(("goal", GOAL), ("blocker", BLOCKER)))
    # After a session, Casey is offered the notes form (a DM naming him), then sends his
    # notes and an action item (the next check-in asks about it).
    with slack.app.rt.transaction() as uow:
        assert session_notes.offer_to_coach(uow, zoltan.enrolled.enrolment_id,
                                            key=keys.notes_prompt(1))
    saved = session_notes.save(slack.app.rt, slack_id=COACH,
                               enrolment_id=zoltan.enrolled.enrolment_id, submission="V1",
                               draft=session_notes.Draft(notes=SESSION_NOTES,
                                                         items=((ACTION_ITEM, None),)))
    assert saved.errors == {}
    zoltan.flush()
    slack.deliver()
    # The next morning's digest, then the escalation past its SLA: a reminder in the thread.
    clock.advance(timedelta(hours=23))
    slack.tick()
    clock.advance(timedelta(hours=2))
    slack.tick()
    everything = everything_held(slack)
    assert NAME in everything[2], "the team post and the digest name him before the erasure"
    assert GOAL in everything[0] and GOAL in everything[2]
    assert SESSION_NOTES in everything[0] and ACTION_ITEM in everything[0]
    assert all(rows_by_table(slack.app.db)[table] for table in NOTES_TABLES)
    return zoltan


def everything_held(slack: Slack) -> tuple[str, bytes, str]:  # noqa: F811
    """Every table, the SQLite files' bytes, and what Slack shows outside the client's DM."""
    return (database_dump(slack.app.db), sqlite_bytes(slack.app.settings.database_url),
            slack_dump(slack.api))


def test_after_delete_confirm_the_name_and_answers_are_nowhere(slack: Slack, enrol,  # noqa: F811
                                                                clock):
    zoltan = zoltan_with_a_history(slack, enrol, clock)
    assert "erased" in zoltan.says("/delete confirm")[-1]
    slack.deliver()
    assert mentions(SECRETS, *everything_held(slack)) == []
    assert [rows_by_table(slack.app.db)[table] for table in NOTES_TABLES] == [0, 0]
    [post] = slack.team_posts()
    shown = slack.api.message(TEAM_CHANNEL, post["ts"])
    assert shown is not None and "erased at the client's request" in shown["text"]
    assert shown.get("blocks") in (None, [])
    # Casey's DM that offered the session's notes form says what it was, not about whom.
    now_reads = [slack.api.message(f"D{COACH}", m["ts"]) or {}
                 for m in slack.api.posted_messages(COACH)]
    assert ERASED_NOTES_OFFER in [m.get("text") for m in now_reads]
    # The escalation's post and the reminders in its thread leave the outbox with him.
    with session(slack.app.db) as s:
        kept = [m.idempotency_key for m in s.exec(select(OutboxMessage))]
    assert [k for k in kept if k.startswith("escalation:")] == []


def test_after_coachbot_erase_the_name_and_answers_are_nowhere(slack: Slack, enrol,  # noqa: F811
                                                                clock):
    zoltan_with_a_history(slack, enrol, clock)
    env = {"COACHBOT_DATABASE_URL": slack.app.settings.database_url,
           "COACHBOT_PROGRAM": str(SAMPLE), "COACHBOT_TELEGRAM_TOKEN": "",
           "COACHBOT_SLACK_BOT_TOKEN": "", "COLUMNS": "200"}
    result = CliRunner().invoke(coachbot, ["erase", NAME, "--yes"], env=env)
    assert result.exit_code == 0, result.output
    # The CLI queued its edits at the real time; the running bot sends them once it is due.
    clock.set(datetime.now(UTC))
    slack.deliver()
    assert mentions(SECRETS, *everything_held(slack)) == []
    note = slack.api.posted_messages(COACH)[-1]["text"]
    assert "asked for their data to be erased" in note


def test_after_retention_no_answer_text_is_left_anywhere_in_the_database(
        slack: Slack, enrol, clock):  # noqa: F811
    zoltan_with_a_history(slack, enrol, clock)
    clock.advance(timedelta(weeks=12, days=366))
    assert apply_retention(slack.app.rt) == 1
    database, files, _ = everything_held(slack)
    assert mentions([GOAL, BLOCKER, NOTE, SESSION_NOTES, ACTION_ITEM], database, files) == []
    # What retention ends is the content, not the record that he took part.
    assert NAME in database


@pytest.mark.parametrize("days, kept", [(6, True), (8, False)])
def test_a_sent_message_keeps_its_text_for_a_week(
        slack: Slack, enrol, clock, days, kept):  # noqa: F811
    zoltan = enrol(NAME, address="4242")
    zoltan.says("yes")
    zoltan.says(GOAL)
    clock.advance(timedelta(days=days))
    apply_retention(slack.app.rt)
    database = database_dump(slack.app.db)
    assert ("In your own words" in database) is kept
    # Answers stay until the program's retention date, whatever happened to the messages.
    assert GOAL in database


def test_a_retention_pass_with_no_sent_text_left_to_blank_still_clears_the_answers_from_the_file(
        enrol, app, clock):
    """The week after his last message blanked every sent text already; on his date the pass
    erases only answers, and their old pages must still leave SQLite's files."""
    zoltan = enrol(NAME, address="4242")
    for typed in ["yes", GOAL, "12000", "6", "10", "/skip"]:
        zoltan.says(typed)
    clock.advance(timedelta(weeks=12, days=364))
    assert apply_retention(app.rt) == 0  # the sent texts go, the answers stay a day more
    assert mentions([GOAL], database_dump(app.db)) == [GOAL]
    clock.advance(timedelta(days=1))
    assert apply_retention(app.rt) == 1
    assert mentions([GOAL], database_dump(app.db),
                    sqlite_bytes(app.settings.database_url)) == []
