"""After a session the coach writes notes and action items in a Slack modal; the client on
Telegram gets them; the next weekly check-in asks about each item first; the completion
reaches /progress and the coach's digest."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.settings import Settings
from scheduler.clock import ManualClock
from services.coaching_sessions import book_session
from services.touchpoints import TouchpointRunner
from storage.db import session
from storage.models import ActionItem, AuditEntry, SessionNote
from tests.bot.slack.conftest import COACH, SECRET, TEAM_CHANNEL, TOKEN, Slack
from tests.bot.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.bot.telegram.conftest import (  # noqa: F401 (fixtures)
    run_bot,
    telegram_api,
    telegram_user,
)
from tests.conftest import INTAKE, SAMPLE
from tests.fakes.slack_api import view_submission_payload
from tests.fakes.telegram_api import FakeTelegramAPI

COACH_DM = f"D{COACH}"
NOTES = "Great session. Focus on <b>pipeline</b> & pricing"
CALL = "Call 5 past clients <@UTIA> *now*"
DRAFT = "Draft the R&D offer"


@pytest.fixture
def settings(sqlite_url: str, telegram_api: FakeTelegramAPI) -> Settings:  # noqa: F811
    """Slack for the coach, Telegram for the client; SQLite (nothing here is about storage)."""
    return Settings(database_url=sqlite_url, program=SAMPLE, slack_team_channel=TEAM_CHANNEL,
                    slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                    telegram_token=TELEGRAM_TOKEN, telegram_api_url=telegram_api.url,
                    _env_file=None)


@pytest.fixture
def ana(slack: Slack, run_bot, telegram_user, enrol):  # noqa: F811
    """Ana on Telegram, coached by Casey, through intake."""
    run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code
    client = telegram_user(4242)
    client.sends(f"/start {code}")
    client.presses("Yes")
    for typed in INTAKE[1:]:
        client.sends(typed)
    return client


def submit(slack: Slack, view: dict, typed: dict[str, str]) -> dict:
    """Casey presses Send on the modal; Slack's answer to it (empty: the modal closes)."""
    status, body = slack.post(view_submission_payload(COACH, view, typed),
                              "application/x-www-form-urlencoded")
    assert status == 200
    return json.loads(body) if body else {}


def test_a_sessions_notes_and_two_action_items_reach_the_client_and_the_next_checkin_asks(
        slack: Slack, ana, clock: ManualClock):
    app = slack.app
    runner = TouchpointRunner(app.rt, worker="test")
    enrolment_id = book_session(app.rt, client="Ana Lima",
                                local_time="2026-03-02 10:00").enrolment_id
    # Two hours after the session: Ana's follow-up, and Casey's offer to write notes.
    clock.advance(timedelta(hours=3))
    runner.tick(clock.now())
    slack.deliver()
    assert any("Thanks for today's session" in text for text in ana.replies_to(None))
    [offer] = [m for m in slack.api.posted_messages(COACH) if "notes" in str(m["blocks"])]
    assert offer["text"].startswith("How did the session with Ana Lima go?")

    # "Notes" opens the form: notes, five items each with a due date, the next checkpoint.
    assert slack.clicks(COACH, "session_notes", str(enrolment_id), channel=COACH_DM,
                        ts=offer["ts"]) == 200
    [view] = slack.api.opened_views()
    assert [b["block_id"] for b in view["blocks"]] == [
        "notes", *[f"{kind}_{n}" for n in range(1, 6) for kind in ("item", "due")],
        "next_checkpoint"]

    # A date in the past is refused beside its field; nothing is sent or stored.
    typed = {"notes": NOTES, "item_1": CALL, "due_1": "2026-03-06", "item_2": DRAFT,
             "due_2": "2026-03-01", "next_checkpoint": "2026-03-16"}
    assert submit(slack, view, typed) == {"response_action": "errors",
                                          "errors": {"due_2": "This date has passed."}}
    assert submit(slack, view, {}) == {
        "response_action": "errors",
        "errors": {"notes": "Write notes for the client or at least one action item."}}
    assert submit(slack, view, {**typed, "due_2": "2026-03-08"}) == {}

    [notes] = ana.replies_to(None)
    # Plain text on Telegram: the coach's words arrive as typed, with nothing parsed.
    assert notes == (
        "Notes from your session with Casey Coach:\n\n"
        f"{NOTES}\n\n"
        "Your action items:\n"
        f"1. {CALL} (by Fri 06 Mar)\n"
        f"2. {DRAFT} (by Sun 08 Mar)\n\n"
        "Next checkpoint: Mon 16 Mar.\n\n"
        "I'll ask how they went at your next check-in.")
    assert "parse_mode" not in ana.received[-1] and "entities" not in ana.received[-1]

    # Next Monday's check-in asks about each item first: a button each, words accepted.
    clock.advance(timedelta(days=7) - timedelta(hours=3))
    runner.tick(clock.now())
    [first] = ana.replies_to(None)  # the intro above the first question, one message
    assert first == ("Week 2 check-in. Five quick questions.\n\n"
                     f'From your last session: "{CALL}" (due Fri 06 Mar). How did it go?')
    buttons = [b["text"] for row in ana.latest_keyboard()["reply_markup"]["inline_keyboard"]
               for b in row]
    assert buttons == ["Done", "Partly", "Not yet"]
    [second] = ana.presses("Done")
    assert second == f'From your last session: "{DRAFT}" (due Sun 08 Mar). How did it go?'
    assert "How confident" in ana.sends("partly")[0]
    for typed_answer in ["8", "2500", "yes", "1"]:
        ana.sends(typed_answer)
    assert "Thanks, Ana" in ana.sends("/skip")[-1]

    # Casey's card of the check-in names the items and the answers, escaped for Slack.
    slack.deliver()
    [card] = [m for m in slack.api.posted_messages(COACH) if "Check-in: Ana" in m["text"]]
    assert card["blocks"][0]["text"]["text"].startswith(
        "*Check-in: Ana Lima, week 2*\n"
        "Action item \"Call 5 past clients &lt;@UTIA&gt; *\u200bnow*\u200b\": Done\n"
        "Action item \"Draft the R&amp;D offer\": Partly\n"
        "Confidence: 8/10\n")

    # Done counts 1, partly a half: 75% of the action items, on /progress and in the digest.
    assert "Action items done: 75% at your last check-in." in ana.sends("/progress")[0]
    clock.advance(timedelta(hours=23))  # Tuesday 08:00 in Berlin: the digest
    slack.tick()
    [digest] = [m for m in slack.api.posted_messages(COACH) if "Your digest" in m["text"]]
    assert "Ana Lima: checked in: Action items done 75% · Confidence 8/10" in digest["text"]

    with session(app.db) as s:
        items = [(i.text, i.status, i.last_answer) for i in s.exec(
            select(ActionItem).order_by(ActionItem.id))]
        [note] = s.exec(select(SessionNote)).all()
        [audited] = s.exec(select(AuditEntry).where(
            AuditEntry.action == "session_notes_sent")).all()
    assert items == [(CALL, "done", "done"), (DRAFT, "open", "partly")]
    assert note.notes == NOTES and str(note.next_checkpoint) == "2026-03-16"
    assert audited.detail == {"note": note.id, "items": 2}  # ids and counts, no words
