"""Editing an answer by editing its message, old keyboards, and messages that aren't text."""

from __future__ import annotations

from sqlmodel import func, select

from bot.telegram.updates import NON_TEXT_TEXT, STALE_TOAST
from services.edits import EDITED_TEXT, NOT_LATEST_TEXT
from storage.db import session
from storage.models import Answer, InboundEvent, OutboxMessage
from tests.bot.telegram.conftest import consented_on_telegram


def _joined(enrol, telegram_user):
    code = enrol("Ana Lima", join=False).enrolled.code
    ana = telegram_user(4242)
    ana.sends(f"/start {code}")
    ana.presses("Yes")
    return ana


def _answer(app, question: str) -> Answer:
    with session(app.db) as s:
        return s.exec(select(Answer).where(Answer.question_id == question)).one()


def test_editing_the_message_of_the_latest_answer_updates_that_answer(
        app, enrol, run_bot, telegram_user):
    run_bot()
    ana = _joined(enrol, telegram_user)
    ana.sends("Double my revenue")
    ana.sends("12000")
    revenue_message = ana.sent[-1]

    assert ana.edits(revenue_message, "15,000") == [EDITED_TEXT]

    answer = _answer(app, "revenue_baseline")
    assert answer.value == {"v": 15000} and answer.number == 15000
    assert answer.edited_at is not None
    # The conversation goes on from where it was, with the new value.
    assert any("How many hours" in r for r in ana.presses("6"))


def test_an_edit_that_is_not_a_valid_answer_keeps_the_old_one(
        app, enrol, run_bot, telegram_user):
    run_bot()
    ana = _joined(enrol, telegram_user)
    ana.sends("Double my revenue")
    ana.sends("12000")

    replies = ana.edits(ana.sent[-1], "lots")

    assert len(replies) == 1 and replies[0].startswith("I kept your earlier answer")
    assert _answer(app, "revenue_baseline").value == {"v": 12000}


def test_editing_an_older_answer_changes_nothing(app, enrol, run_bot, telegram_user):
    run_bot()
    ana = _joined(enrol, telegram_user)
    ana.sends("Double my revenue")
    goal_message = ana.sent[-1]
    ana.sends("12000")

    assert ana.edits(goal_message, "Triple it") == [NOT_LATEST_TEXT]
    assert _answer(app, "goal").value == {"v": "Double my revenue"}


def test_a_press_on_an_answered_question_gets_a_toast_and_changes_nothing(
        app, enrol, run_bot, telegram_user, telegram_api):
    ana = consented_on_telegram(run_bot, enrol, telegram_user)
    ana.sends("Double my revenue")
    ana.sends("12000")
    scale = ana.latest_keyboard()
    ana.presses("6")
    with session(app.db) as s:
        answers_before = s.exec(select(func.count()).select_from(Answer)).one()
        sent_before = s.exec(select(func.count()).select_from(OutboxMessage)).one()

    # Telegram clients keep old keyboards around; the press arrives with the old data.
    replies = ana.presses_data("confidence_baseline:9", scale["message_id"])

    assert replies == []
    assert ana.toast() == STALE_TOAST
    with session(app.db) as s:
        assert s.exec(select(func.count()).select_from(Answer)).one() == answers_before
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() == sent_before
    assert _answer(app, "confidence_baseline").value == {"v": 6}


def test_a_press_after_the_flow_ended_gets_the_same_toast(
        app, enrol, run_bot, telegram_user):
    run_bot()
    ana = _joined(enrol, telegram_user)
    for typed in ["Double my revenue", "12000"]:
        ana.sends(typed)
    scale = ana.latest_keyboard()
    ana.presses("6")
    ana.sends("10")
    ana.sends("/skip")  # intake done: nothing is being asked now

    assert ana.presses_data("confidence_baseline:2", scale["message_id"]) == []
    assert ana.toast() == STALE_TOAST


def test_photos_stickers_and_voice_notes_get_a_hint_and_nothing_is_stored(
        app, enrol, run_bot, telegram_user, telegram_api):
    run_bot()
    ana = _joined(enrol, telegram_user)
    ana.sends("Double my revenue")
    with session(app.db) as s:
        events_before = s.exec(select(func.count()).select_from(InboundEvent)).one()
        answers_before = s.exec(select(func.count()).select_from(Answer)).one()

    telegram_api.inject_sticker(4242)
    telegram_api.inject_photo(4242, caption="my revenue chart")
    telegram_api.inject_voice(4242)
    def hints(_calls) -> list[dict]:
        found = [m for m in telegram_api.sent_messages(4242) if m["text"] == NON_TEXT_TEXT]
        return found if len(found) >= 3 else []

    assert len(telegram_api.wait_for(hints)) == 3
    with session(app.db) as s:
        assert s.exec(select(func.count()).select_from(InboundEvent)).one() == events_before
        assert s.exec(select(func.count()).select_from(Answer)).one() == answers_before
    # The open question still waits for its typed answer.
    assert any("How confident are you" in r for r in ana.sends("12000"))
